#include "mq/security.h"

#include <fmt/core.h>

#include <set>

namespace govstream::mq {
namespace {

constexpr uint64_t kMaxLogged = 1000;  // refusals logged one by one; the rest only counted

}  // namespace

Status Security::Open(const SecurityOptions& o, Context* ctx, io::Reporter* reporter,
                      std::unique_ptr<Security>* out) {
  auto s = std::make_unique<Security>();
  s->options_ = o;
  s->reporter_ = reporter;
  if (o.curve_key.empty() && !o.authorized_keys.empty()) {
    return Status::InvalidArgument("--authorized-keys needs --curve-key (the broker's secret key): without CURVE a "
                                   "client has no key to check");
  }
  if (!o.acl.empty() && o.authorized_keys.empty()) {
    return Status::InvalidArgument("--acl needs --authorized-keys: its rules are given to key names");
  }
  if (o.curve_key.empty()) {
    out->reset(s.release());
    return Status::Ok();
  }
  Status st = LoadSecretKey(o.curve_key, &s->secret_);
  if (!st.ok()) return st;
  if (!o.authorized_keys.empty()) {
    std::vector<std::string> warnings;
    st = s->LoadKeys(&s->keys_, &warnings);
    if (!st.ok()) return st;
    for (const std::string& w : warnings) reporter->Error(w);
    s->keys_signature_ = PathSignature(o.authorized_keys);
  }
  if (!o.acl.empty()) {
    Acl acl;
    st = Acl::Load(o.acl, &acl);
    if (!st.ok()) return st;
    s->acl_ = std::move(acl);
    s->acl_signature_ = PathSignature(o.acl);
  }
  s->zap_ = std::make_unique<Socket>(ctx, Socket::Type::kRep);
  st = s->zap_->Bind("inproc://zeromq.zap.01");
  if (!st.ok()) return st;
  out->reset(s.release());
  return Status::Ok();
}

Status Security::LoadKeys(std::vector<AuthorizedKey>* keys, std::vector<std::string>* warnings) const {
  Status s = LoadAuthorizedKeys(options_.authorized_keys, keys, warnings);
  if (s.ok() && keys->empty()) {
    warnings->push_back(fmt::format("--authorized-keys {} holds no keys: no client can connect",
                                    options_.authorized_keys));
  }
  return s;
}

void Security::Secure(Socket* s) const {
  if (curve()) s->SetCurveServer(secret_.secret_z85);
}

void Security::Log(const std::string& message) {
  if (logged_ < kMaxLogged) {
    reporter_->Error(message);
  } else if (logged_ == kMaxLogged) {
    reporter_->Error("further refusals are only counted (auth_refused, acl_refused in $SYS.broker.stats)");
  }
  ++logged_;
}

void Security::HandleZap(const Frames& f) {
  // version, request id, domain, address, identity, mechanism, credentials...
  if (f.size() < 6) return;  // libzmq always sends a whole request
  std::string request_id(f[1]);
  std::string address(f[3]);
  std::string mechanism(f[5]);
  std::string status = "400", text, user;
  if (mechanism != "CURVE" || f.size() < 7 || f[6].size() != 32) {
    text = "CURVE required";
  } else {
    std::string key = Z85Encode(f[6]);
    if (!restricted()) {
      status = "200";
      user = "";  // any CURVE client: no name
    } else {
      for (const AuthorizedKey& k : keys_) {
        if (k.public_z85 == key) {
          status = "200";
          user = k.name;
          break;
        }
      }
      if (status != "200") {
        text = "key not authorized";
        ++auth_refused_;
        Log(fmt::format("refused a client from {}: its public key {} is not in --authorized-keys {}", address, key,
                        options_.authorized_keys));
      }
    }
  }
  (void)zap_->Send({"1.0", request_id, status, text, user, ""}, /*dont_wait=*/true);
}

bool Security::Admitted(const std::string& name) const {
  if (!restricted()) return true;
  for (const AuthorizedKey& k : keys_) {
    if (k.name == name) return true;
  }
  return false;
}

bool Security::Allows(const std::string& name, Acl::Op op, std::string_view target, std::string* why,
                      std::string_view context) {
  if (!acl_) return true;
  if (acl_->Allows(name, op, target, why)) return true;
  why->append(context);
  ++acl_refused_;
  Log("refused: " + *why);
  return false;
}

bool Security::MaybeReload(bool forced, std::vector<std::string>* removed) {
  removed->clear();
  if (!restricted()) {
    if (forced) reporter_->Error("SIGHUP: nothing to reload (no --authorized-keys)");
    return false;
  }
  bool changed = false;
  std::string ksig = PathSignature(options_.authorized_keys);
  if (forced || ksig != keys_signature_) {
    keys_signature_ = ksig;
    std::vector<AuthorizedKey> keys;
    std::vector<std::string> warnings;
    Status s = LoadKeys(&keys, &warnings);
    for (const std::string& w : warnings) reporter_->Error(w);
    if (!s.ok()) {
      reporter_->Error("reloading --authorized-keys failed, the previous keys stay in force: " + s.message());
    } else {
      std::set<std::string> now;
      for (const AuthorizedKey& k : keys) now.insert(k.name + " " + k.public_z85);
      size_t added = 0;
      std::set<std::string> before;
      for (const AuthorizedKey& k : keys_) {
        before.insert(k.name + " " + k.public_z85);
        if (!now.count(k.name + " " + k.public_z85)) removed->push_back(k.name);
      }
      for (const std::string& k : now) added += before.count(k) == 0;
      reporter_->Error(fmt::format("reloaded --authorized-keys {}: {} key{} ({} added, {} removed)",
                                   options_.authorized_keys, keys.size(), keys.size() == 1 ? "" : "s", added,
                                   removed->size()));
      keys_ = std::move(keys);
      changed = true;
    }
  }
  if (!options_.acl.empty()) {
    std::string asig = PathSignature(options_.acl);
    if (forced || asig != acl_signature_) {
      acl_signature_ = asig;
      Acl acl;
      Status s = Acl::Load(options_.acl, &acl);
      if (!s.ok()) {
        reporter_->Error("reloading --acl failed, the previous rules stay in force: " + s.message());
      } else {
        reporter_->Error(fmt::format("reloaded --acl {}: {} rule{}", options_.acl, acl.rules(),
                                     acl.rules() == 1 ? "" : "s"));
        acl_ = std::move(acl);
        changed = true;
      }
    }
  }
  if (changed) ++reloads_;
  return changed;
}

}  // namespace govstream::mq
