// CURVE keys (ZeroMQ RFC 26) and the files that hold them.
//
// Key files use CZMQ's zcert format, a ZPL text (ZeroMQ RFC 4), so that
// keys made by zcert, zmakecert or pyzmq's zmq.auth interoperate:
//
//   metadata
//       name = "alice"
//   curve
//       public-key = "<40 Z85 characters>"
//       secret-key = "<40 Z85 characters>"      (secret files only)
//
// GenerateKeyFiles writes FILE (the secret certificate, mode 0600) and
// FILE.pub (the public one). A secret key file that others may read (any
// group or world permission bit) is refused, as ssh refuses such keys.
//
// An --authorized-keys PATH is either a directory of certificates (every
// regular file not starting with '.'; the key's name is its metadata name,
// else the file name without ".pub" or "_secret"), or one file: a single
// certificate, or lines "NAME PUBLIC-KEY" (Z85), '#' starting a comment.
// Names and keys must be unique.
//
// Errors are values: IoError for unreadable files, InvalidArgument for bad
// contents, both naming the file (and line) and saying what to do.
#ifndef GOVSTREAM_MQ_KEYS_H_
#define GOVSTREAM_MQ_KEYS_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace govstream::mq {

constexpr size_t kZ85KeyChars = 40;

// True when this libzmq has CURVE (zmq_has("curve")).
bool CurveAvailable();
// A usage error saying libzmq lacks CURVE, for every option that needs it.
Status RequireCurve(std::string_view option);

struct KeyPair {
  std::string name;        // metadata name ("" if none)
  std::string public_z85;  // 40 Z85 characters
  std::string secret_z85;  // 40 Z85 characters; empty for a public key
};

// Writes a new key pair: `path` (secret, 0600, created exclusively: an
// existing file is never overwritten) and `path`.pub. `name` goes into both
// certificates' metadata.
Status GenerateKeyFiles(const std::string& path, const std::string& name);

// Reads a secret key file (checks its permissions, its format, and that the
// public key belongs to the secret key).
Status LoadSecretKey(const std::string& path, KeyPair* out);

// A public key given as 40 Z85 characters or as a certificate file (public
// or secret: only its public key is taken).
Status LoadPublicKey(const std::string& file_or_z85, std::string* z85);

// True for 40 characters of the Z85 alphabet that decode to 32 bytes.
bool IsZ85Key(std::string_view text);
// The 32-byte binary key as Z85 (40 characters).
std::string Z85Encode(std::string_view key32);

struct AuthorizedKey {
  std::string name;
  std::string public_z85;
  std::string source;  // file, or file:line
};

// Loads an --authorized-keys file or directory. `warnings` gets the things
// worth telling that are not errors (a secret key lying in the directory).
Status LoadAuthorizedKeys(const std::string& path, std::vector<AuthorizedKey>* out,
                          std::vector<std::string>* warnings);

// A fingerprint of `path` (a file, or a directory's entries) that changes
// when its contents may have changed: names, sizes, inodes, mtimes.
std::string PathSignature(const std::string& path);

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_KEYS_H_
