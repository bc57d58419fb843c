#include "mq/keys.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace govstream::mq {
namespace {

constexpr size_t kMaxKeyFileBytes = 64 * 1024;

Status ReadSmallFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError(fmt::format("cannot read key file {}: {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  if (out->size() > kMaxKeyFileBytes) {
    return Status::InvalidArgument(fmt::format("{} is not a key file: {} bytes (a certificate is a few hundred)",
                                               path, out->size()));
  }
  return Status::Ok();
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The name = value pairs of a ZPL text, as "section/name" -> value.
// Only what certificates use: sections at level 0, names at level 1.
Status ParseZpl(const std::string& path, std::string_view text, std::map<std::string, std::string>* out) {
  std::string section;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    std::string_view t = Trim(line);
    if (t.empty() || t.front() == '#') continue;
    size_t indent = line.find_first_not_of(' ');
    if (line.find('\t') != std::string_view::npos && line.find('\t') < indent) {
      return Status::InvalidArgument(fmt::format("{} line {}: a tab in the indentation (ZPL indents by 4 spaces)",
                                                 path, line_no));
    }
    const auto bad = [&](std::string_view what) {
      return Status::InvalidArgument(fmt::format(
          "{} is not a CURVE certificate (zcert format): line {}: {}", path, line_no, what));
    };
    size_t eq = t.find('=');
    if (indent == 0) {
      if (eq != std::string_view::npos) return bad("a name = value line must be indented under a section");
      section.assign(t);
      continue;
    }
    if (indent != 4 || section.empty()) return bad("expected a section name, or 'name = value' indented by 4");
    if (eq == std::string_view::npos) return bad("expected 'name = value'");
    std::string_view name = Trim(t.substr(0, eq));
    std::string_view value = Trim(t.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    if (name.empty()) return bad("empty name");
    (*out)[section + "/" + std::string(name)] = std::string(value);
  }
  return Status::Ok();
}

bool IsSecretFileMode(mode_t mode) { return (mode & 077) == 0; }

// A certificate: its keys as found (checked as Z85 keys, not as a pair).
Status ParseCertificate(const std::string& path, std::string_view text, KeyPair* out) {
  std::map<std::string, std::string> kv;
  Status s = ParseZpl(path, text, &kv);
  if (!s.ok()) return s;
  auto get = [&](const char* k) {
    auto it = kv.find(k);
    return it == kv.end() ? std::string() : it->second;
  };
  out->name = get("metadata/name");
  out->public_z85 = get("curve/public-key");
  out->secret_z85 = get("curve/secret-key");
  if (out->public_z85.empty()) {
    return Status::InvalidArgument(
        fmt::format("{} is not a CURVE certificate: no 'curve' section with a public-key (made with "
                    "mq-broker --gen-key?)",
                    path));
  }
  if (!IsZ85Key(out->public_z85)) {
    return Status::InvalidArgument(
        fmt::format("{}: public-key is not a CURVE key (40 Z85 characters)", path));
  }
  if (!out->secret_z85.empty() && !IsZ85Key(out->secret_z85)) {
    return Status::InvalidArgument(fmt::format("{}: secret-key is not a CURVE key (40 Z85 characters)", path));
  }
  return Status::Ok();
}

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string NameFromFile(const std::string& file) {
  std::string n = Basename(file);
  for (std::string_view suffix : {".pub", "_secret", ".key"}) {
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
      n.resize(n.size() - suffix.size());
      break;
    }
  }
  return n;
}

std::string Certificate(const KeyPair& k, bool secret) {
  char when[64];
  std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::gmtime(&now));
  std::string out = fmt::format("#   ****  Generated on {} UTC by govstream (mq-broker --gen-key)  ****\n", when);
  if (secret) {
    out += "#   ZeroMQ CURVE **Secret** Certificate\n";
    out += "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n";
  } else {
    out += "#   ZeroMQ CURVE Public Certificate\n";
    out += "#   Exchange securely, or use a secure mechanism to verify the contents\n";
    out += "#   of this file after exchange.\n";
  }
  out += "\nmetadata\n";
  out += fmt::format("    name = \"{}\"\n", k.name);
  out += "curve\n";
  out += fmt::format("    public-key = \"{}\"\n", k.public_z85);
  if (secret) out += fmt::format("    secret-key = \"{}\"\n", k.secret_z85);
  return out;
}

Status WriteNew(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Status::IoError(fmt::format("{} exists already: a key file is never overwritten (remove it first)", path));
    }
    return Status::IoError(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  }
  (void)::fchmod(fd, mode);  // whatever the umask
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return Status::IoError(fmt::format("cannot write {}: {}", path, std::strerror(e)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(path.c_str());
    return Status::IoError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  }
  return Status::Ok();
}

Status ParseKeyLines(const std::string& path, std::string_view text, std::vector<AuthorizedKey>* out) {
  size_t line_no = 0, pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view t = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (t.empty() || t.front() == '#') continue;
    size_t sp = t.find_first_of(" \t");
    std::string_view name = t.substr(0, sp);
    std::string_view key = sp == std::string_view::npos ? std::string_view() : Trim(t.substr(sp));
    if (key.empty() || key.find_first_of(" \t") != std::string_view::npos || !IsZ85Key(key)) {
      return Status::InvalidArgument(
          fmt::format("{} line {}: expected 'NAME PUBLIC-KEY' (the key as 40 Z85 characters, as in the "
                      "public-key line of a .pub file)",
                      path, line_no));
    }
    out->push_back({std::string(name), std::string(key), fmt::format("{}:{}", path, line_no)});
  }
  return Status::Ok();
}

bool LooksLikeCertificate(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view t = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (t.empty() || t.front() == '#') continue;
    return t == "metadata" || t == "curve";
  }
  return false;
}

}  // namespace

bool CurveAvailable() { return zmq_has("curve") != 0; }

Status RequireCurve(std::string_view option) {
  if (CurveAvailable()) return Status::Ok();
  return Status::InvalidArgument(fmt::format(
      "{} needs CURVE, but this libzmq ({}.{}.{}) was built without it (libsodium); install Debian's libzmq5",
      option, ZMQ_VERSION_MAJOR, ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH));
}

bool IsZ85Key(std::string_view text) {
  if (text.size() != kZ85KeyChars) return false;
  std::string z(text);
  uint8_t bin[32];
  return zmq_z85_decode(bin, z.c_str()) != nullptr;
}

std::string Z85Encode(std::string_view key32) {
  char out[kZ85KeyChars + 1];
  if (key32.size() != 32 || !zmq_z85_encode(out, reinterpret_cast<const uint8_t*>(key32.data()), 32)) return {};
  return std::string(out, kZ85KeyChars);
}

Status GenerateKeyFiles(const std::string& path, const std::string& name) {
  Status c = RequireCurve("--gen-key");
  if (!c.ok()) return c;
  char pub[kZ85KeyChars + 1], sec[kZ85KeyChars + 1];
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Status::IoError(fmt::format("cannot make a CURVE key pair: {}", zmq_strerror(zmq_errno())));
  }
  KeyPair k{name, pub, sec};
  const std::string pub_path = path + ".pub";
  struct stat st;
  if (::stat(pub_path.c_str(), &st) == 0) {
    return Status::IoError(fmt::format("{} exists already: a key file is never overwritten (remove it first)", pub_path));
  }
  Status s = WriteNew(path, Certificate(k, true), 0600);
  if (!s.ok()) return s;
  s = WriteNew(pub_path, Certificate(k, false), 0644);
  if (!s.ok()) ::unlink(path.c_str());
  return s;
}

Status LoadSecretKey(const std::string& path, KeyPair* result) {
  KeyPair k;  // *result is set only on success
  KeyPair* out = &k;
  Status c = RequireCurve("--curve-key");
  if (!c.ok()) return c;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::IoError(fmt::format("cannot read key file {}: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return Status::IoError(fmt::format("key file {} is not a regular file", path));
  std::string text;
  Status s = ReadSmallFile(path, &text);
  if (!s.ok()) return s;
  s = ParseCertificate(path, text, out);
  if (!s.ok()) return s;
  if (out->secret_z85.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{} holds only a public key; --curve-key needs the secret key file (the one without .pub, made by "
        "mq-broker --gen-key)",
        path));
  }
  if (!IsSecretFileMode(st.st_mode)) {
    return Status::InvalidArgument(fmt::format(
        "secret key file {} is readable by others (mode {:04o}); it is refused, as ssh refuses such keys: "
        "chmod 600 {}",
        path, st.st_mode & 07777, path));
  }
  char derived[kZ85KeyChars + 1];
  if (zmq_curve_public(derived, out->secret_z85.c_str()) != 0 || out->public_z85 != derived) {
    return Status::InvalidArgument(
        fmt::format("{}: its public-key does not belong to its secret-key (an edited or mixed-up certificate)", path));
  }
  if (out->name.empty()) out->name = NameFromFile(path);
  *result = std::move(k);
  return Status::Ok();
}

Status LoadPublicKey(const std::string& file_or_z85, std::string* z85) {
  Status c = RequireCurve("--server-key");
  if (!c.ok()) return c;
  if (IsZ85Key(file_or_z85)) {
    *z85 = file_or_z85;
    return Status::Ok();
  }
  struct stat st;
  if (::stat(file_or_z85.c_str(), &st) != 0) {
    return Status::IoError(fmt::format("{} is neither a public key (40 Z85 characters) nor a readable key file: {}",
                                       file_or_z85, std::strerror(errno)));
  }
  std::string text;
  Status s = ReadSmallFile(file_or_z85, &text);
  if (!s.ok()) return s;
  KeyPair k;
  s = ParseCertificate(file_or_z85, text, &k);
  if (!s.ok()) return s;
  *z85 = k.public_z85;
  return Status::Ok();
}

Status LoadAuthorizedKeys(const std::string& path, std::vector<AuthorizedKey>* out,
                          std::vector<std::string>* warnings) {
  out->clear();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::IoError(fmt::format("cannot read --authorized-keys {}: {}", path, std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) {
    DIR* d = ::opendir(path.c_str());
    if (!d) return Status::IoError(fmt::format("cannot read --authorized-keys {}: {}", path, std::strerror(errno)));
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
      std::string file = path + "/" + n;
      struct stat fst;
      if (::stat(file.c_str(), &fst) != 0 || !S_ISREG(fst.st_mode)) continue;
      std::string text;
      Status s = ReadSmallFile(file, &text);
      if (!s.ok()) return s;
      KeyPair k;
      s = ParseCertificate(file, text, &k);
      if (!s.ok()) return s;
      if (!k.secret_z85.empty()) {
        warnings->push_back(fmt::format("{} holds a secret key: only its public key is used; keep secret keys "
                                        "out of --authorized-keys",
                                        file));
      }
      out->push_back({k.name.empty() ? NameFromFile(file) : k.name, k.public_z85, file});
    }
  } else {
    std::string text;
    Status s = ReadSmallFile(path, &text);
    if (!s.ok()) return s;
    if (LooksLikeCertificate(text)) {
      KeyPair k;
      s = ParseCertificate(path, text, &k);
      if (!s.ok()) return s;
      out->push_back({k.name.empty() ? NameFromFile(path) : k.name, k.public_z85, path});
    } else {
      s = ParseKeyLines(path, text, out);
      if (!s.ok()) return s;
    }
  }
  std::map<std::string, const AuthorizedKey*> by_name, by_key;
  for (const AuthorizedKey& k : *out) {
    if (k.name.empty() || k.name.find_first_of(" \t\"") != std::string::npos) {
      return Status::InvalidArgument(fmt::format("{}: the key name '{}' is empty or has spaces or quotes", k.source, k.name));
    }
    auto [n, fresh_name] = by_name.emplace(k.name, &k);
    if (!fresh_name) {
      return Status::InvalidArgument(
          fmt::format("{}: the name '{}' is given to two keys (also {})", k.source, k.name, n->second->source));
    }
    auto [p, fresh_key] = by_key.emplace(k.public_z85, &k);
    if (!fresh_key) {
      return Status::InvalidArgument(
          fmt::format("{}: the same public key is listed twice (also {})", k.source, p->second->source));
    }
  }
  return Status::Ok();
}

std::string PathSignature(const std::string& path) {
  auto one = [](const std::string& p, const struct stat& st) {
    return fmt::format("{}:{}:{}:{}.{}\n", p, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  };
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "missing";
  std::string sig = one(path, st);
  if (S_ISDIR(st.st_mode)) {
    DIR* d = ::opendir(path.c_str());
    if (!d) return sig;
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') names.emplace_back(e->d_name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
      struct stat fst;
      if (::stat((path + "/" + n).c_str(), &fst) == 0) sig += one(n, fst);
    }
  }
  return sig;
}

}  // namespace govstream::mq
