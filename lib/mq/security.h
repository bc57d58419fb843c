// mq-broker's security: CURVE on every endpoint, the ZAP handler that
// admits only --authorized-keys, the --acl, and their reloading.
//
// The ZAP handler (ZeroMQ RFC 27) is a REP socket on
// inproc://zeromq.zap.01 in the broker's context, served from the broker's
// own poll loop (HandleZap), so no thread shares the key set. libzmq asks
// it about every CURVE handshake on a socket with the "govstream" domain;
// it answers 200 with the key's name as User-Id (which every message from
// that connection then carries: Frames::Property("User-Id")), or 400.
// Written over cppzmq rather than with CZMQ's zauth, which would bring
// its own actor thread and a second event loop into a one-thread broker;
// the certificates stay CZMQ's zcert format (mq/keys.h).
//
// Reload() rereads the keys and the ACL (on SIGHUP, or when their files
// change). A file that fails to load keeps the previous set in force, and
// says why. The names whose key was removed or changed are returned, so
// that the broker can close their live connections.
#ifndef GOVSTREAM_MQ_SECURITY_H_
#define GOVSTREAM_MQ_SECURITY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/report.h"
#include "mq/acl.h"
#include "mq/keys.h"
#include "mq/transport.h"

namespace govstream::mq {

struct SecurityOptions {
  std::string curve_key;        // the broker's secret key file; "" for plain text
  std::string authorized_keys;  // file or directory; "" admits any CURVE client
  std::string acl;              // "" allows every admitted key everything
};

class Security {
 public:
  // Loads the keys and the ACL, and (with CURVE) binds the ZAP handler:
  // call before binding any endpoint. InvalidArgument/IoError name the
  // file at fault.
  static Status Open(const SecurityOptions& o, Context* ctx, io::Reporter* reporter,
                     std::unique_ptr<Security>* out);

  bool curve() const { return !secret_.secret_z85.empty(); }
  // Turns CURVE on for a server socket (no-op without --curve-key).
  void Secure(Socket* s) const;
  const std::string& public_key() const { return secret_.public_z85; }

  // The ZAP socket to poll (null without CURVE), and one request (received
  // from it) answered.
  Socket* zap_socket() { return zap_.get(); }
  void HandleZap(const Frames& request);

  // True if connections with this key name may still be served (it is in
  // the current key set; always true without --authorized-keys).
  bool Admitted(const std::string& name) const;
  // True if allowed (always without --acl); otherwise *why (with
  // `context` appended), logged and counted.
  bool Allows(const std::string& name, Acl::Op op, std::string_view target, std::string* why,
              std::string_view context = {});
  bool has_acl() const { return acl_.has_value(); }

  // Reloads when asked (`forced`: SIGHUP) or when a file changed. Returns
  // true if anything was reloaded; *removed gets the names no longer
  // admitted (or whose key changed).
  bool MaybeReload(bool forced, std::vector<std::string>* removed);

  // Counters for $SYS.broker.stats.
  uint64_t auth_refused() const { return auth_refused_; }
  uint64_t acl_refused() const { return acl_refused_; }
  uint64_t reloads() const { return reloads_; }
  size_t keys() const { return keys_.size(); }
  bool restricted() const { return !options_.authorized_keys.empty(); }

 private:
  Status LoadKeys(std::vector<AuthorizedKey>* keys, std::vector<std::string>* warnings) const;
  void Log(const std::string& message);

  SecurityOptions options_;
  io::Reporter* reporter_ = nullptr;
  KeyPair secret_;
  std::unique_ptr<Socket> zap_;
  std::vector<AuthorizedKey> keys_;
  std::optional<Acl> acl_;
  std::string keys_signature_, acl_signature_;
  uint64_t auth_refused_ = 0, acl_refused_ = 0, reloads_ = 0, logged_ = 0;
};

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_SECURITY_H_
