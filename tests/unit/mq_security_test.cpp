// mq-broker's security pieces (lib/mq): pattern coverage as a table, ACL
// files (rules, refusals and their reasons, bad files), CURVE key files
// (generation, permissions, garbage, a public key where a secret is
// needed) and --authorized-keys in its directory and line forms.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mq/acl.h"
#include "mq/keys.h"
#include "mq/topic.h"

namespace gm = govstream::mq;
namespace fs = std::filesystem;

namespace {

struct CoverCase {
  const char* grant;
  const char* wanted;
  bool covers;
};

const CoverCase kCoverCases[] = {
    {"#", "a.b", true},
    {"#", "a.*", true},
    {"#", "#", true},
    {"a.#", "a.b.#", true},
    {"a.#", "a", true},
    {"a.#", "b.#", false},
    {"a.*", "a.b", true},
    {"a.*", "a.*", true},
    {"a.*", "a.#", false},  // a.# also matches a.b.c
    {"a.*", "a.b.c", false},
    {"*.b", "x.b", true},
    {"*.b", "*.b", true},
    {"*.b", "#.b", false},
    {"a.b", "a.*", false},
    {"a.b", "a.b", true},
    {"#.z", "a.#.z", true},
    {"#", "$SYS.broker.stats", false},  // '#' does not reach $SYS
    {"#", "$SYS.#", false},
    {"$SYS.#", "$SYS.broker.stats", true},
    {"$SYS.#", "$SYS.#", true},
    {"$SYS.*.stats", "$SYS.broker.stats", true},
    {"$SYS.#", "a.b", false},
    {"*.#", "#", false},  // conservative: only '#' covers '#'
};

std::string Write(const fs::path& p, const std::string& text, mode_t mode = 0644) {
  {
    std::ofstream out(p);
    out << text;
  }
  ::chmod(p.c_str(), mode);
  return p.string();
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/govstream-sec-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

}  // namespace

TEST_CASE("pattern coverage: what a read grant allows to subscribe to", "[mq][security]") {
  for (const CoverCase& c : kCoverCases) {
    gm::Pattern grant, wanted;
    REQUIRE(gm::Pattern::Parse(c.grant, &grant).ok());
    REQUIRE(gm::Pattern::Parse(c.wanted, &wanted).ok());
    INFO(c.grant << " covers " << c.wanted);
    CHECK(grant.Covers(wanted) == c.covers);
  }
}

TEST_CASE("acl: rules per key, everything else refused with the key, the target and the rule", "[mq][security]") {
  TempDir dir;
  std::string path = Write(dir.path / "acl",
                           "# governance feeds\n"
                           "key alice\n"
                           "topic write http.#\n"
                           "topic read http.5xx.*\n"
                           "queue all alerts-*\n"
                           "\n"
                           "user bob\n"
                           "topic read #\n"
                           "queue consume audit\n"
                           "key *\n"
                           "topic read $SYS.broker.stats\n");
  gm::Acl acl;
  REQUIRE(gm::Acl::Load(path, &acl).ok());
  std::string why;
  using Op = gm::Acl::Op;
  CHECK(acl.Allows("alice", Op::kPublish, "http.5xx.api", &why));
  CHECK(acl.Allows("alice", Op::kSubscribe, "http.5xx.api", &why));
  CHECK(acl.Allows("alice", Op::kSubscribe, "http.5xx.*", &why));
  CHECK(acl.Allows("alice", Op::kConsume, "alerts-prod", &why));
  CHECK(acl.Allows("alice", Op::kDeclare, "alerts-prod", &why));
  CHECK(acl.Allows("alice", Op::kBind, "alerts-x", &why));
  CHECK(acl.Allows("bob", Op::kSubscribe, "a.#", &why));
  CHECK(acl.Allows("bob", Op::kConsume, "audit", &why));
  CHECK(acl.Allows("bob", Op::kSubscribe, "$SYS.broker.stats", &why));  // key *
  CHECK(acl.Allows("carol", Op::kSubscribe, "$SYS.broker.stats", &why));

  CHECK_FALSE(acl.Allows("alice", Op::kPublish, "pay.card", &why));
  CHECK(why.find("key 'alice' may not publish to topic 'pay.card'") != std::string::npos);
  CHECK(why.find("'topic write'") != std::string::npos);
  CHECK(why.find("lines 3-5, 11") != std::string::npos);
  CHECK_FALSE(acl.Allows("alice", Op::kSubscribe, "http.#", &why));  // wider than the grant
  CHECK_FALSE(acl.Allows("bob", Op::kSubscribe, "$SYS.#", &why));    // '#' does not reach $SYS
  CHECK_FALSE(acl.Allows("bob", Op::kPublish, "a.b", &why));
  CHECK_FALSE(acl.Allows("bob", Op::kDeclare, "audit", &why));
  CHECK(why.find("may not declare queue 'audit'") != std::string::npos);
  CHECK_FALSE(acl.Allows("alice", Op::kConsume, "audit", &why));
  CHECK_FALSE(acl.Allows("mallory", Op::kPublish, "http.x", &why));
  CHECK(why.find("key 'mallory'") != std::string::npos);
}

TEST_CASE("acl: a bad file is refused with its line", "[mq][security]") {
  TempDir dir;
  struct Bad {
    const char* text;
    const char* says;
  };
  const Bad kBad[] = {
      {"topic read a\n", "line 1: 'topic' before any 'key NAME' line"},
      {"key a\ntopic read a..b\n", "line 2: pattern 'a..b'"},
      {"key a\ntopic sometimes a\n", "line 2: 'sometimes' is not read, write or readwrite"},
      {"key a\nqueue eat q\n", "line 2: 'eat' is not consume, declare, bind or all"},
      {"key a\nallow everything\n", "line 2: unknown rule 'allow'"},
      {"key\n", "line 1: expected 'key NAME'"},
  };
  for (const Bad& b : kBad) {
    gm::Acl acl;
    govstream::Status s = gm::Acl::Load(Write(dir.path / "acl", b.text), &acl);
    INFO(b.text);
    CHECK(s.code() == govstream::Status::Code::kInvalidArgument);
    CHECK(s.message().find(b.says) != std::string::npos);
  }
  gm::Acl acl;
  CHECK(gm::Acl::Load((dir.path / "missing").string(), &acl).code() == govstream::Status::Code::kIoError);
}

TEST_CASE("keys: generated pairs load, and bad key files are refused with the reason", "[mq][security]") {
  REQUIRE(gm::CurveAvailable());
  TempDir dir;
  std::string key = (dir.path / "alice.key").string();
  REQUIRE(gm::GenerateKeyFiles(key, "alice").ok());
  struct stat st;
  REQUIRE(::stat(key.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(gm::GenerateKeyFiles(key, "alice").code() == govstream::Status::Code::kIoError);  // never overwritten

  gm::KeyPair k;
  REQUIRE(gm::LoadSecretKey(key, &k).ok());
  const gm::KeyPair alice = k;
  CHECK(k.name == "alice");
  CHECK(gm::IsZ85Key(k.public_z85));
  std::string pub;
  REQUIRE(gm::LoadPublicKey(key + ".pub", &pub).ok());
  CHECK(pub == k.public_z85);
  REQUIRE(gm::LoadPublicKey(k.public_z85, &pub).ok());  // Z85 given directly

  ::chmod(key.c_str(), 0644);
  govstream::Status s = gm::LoadSecretKey(key, &k);
  CHECK(s.code() == govstream::Status::Code::kInvalidArgument);
  CHECK(s.message().find("readable by others") != std::string::npos);
  ::chmod(key.c_str(), 0600);

  s = gm::LoadSecretKey(key + ".pub", &k);
  CHECK(s.message().find("holds only a public key") != std::string::npos);
  s = gm::LoadSecretKey(Write(dir.path / "junk", "hello world\n", 0600), &k);
  CHECK(s.code() == govstream::Status::Code::kInvalidArgument);
  CHECK(s.message().find("not a CURVE certificate") != std::string::npos);
  s = gm::LoadSecretKey((dir.path / "missing").string(), &k);
  CHECK(s.code() == govstream::Status::Code::kIoError);
  CHECK(k.secret_z85 == alice.secret_z85);  // a failed load leaves the result alone

  // A certificate whose public key is not the secret key's.
  gm::KeyPair other;
  REQUIRE(gm::GenerateKeyFiles((dir.path / "bob.key").string(), "bob").ok());
  REQUIRE(gm::LoadSecretKey((dir.path / "bob.key").string(), &other).ok());
  std::string mixed = "curve\n    public-key = \"" + other.public_z85 + "\"\n    secret-key = \"" + alice.secret_z85 + "\"\n";
  s = gm::LoadSecretKey(Write(dir.path / "mixed", mixed, 0600), &k);
  INFO(s.message());
  CHECK(s.message().find("does not belong") != std::string::npos);
}

TEST_CASE("authorized keys: a directory of certificates, or NAME KEY lines, and duplicates refused", "[mq][security]") {
  TempDir dir;
  fs::create_directory(dir.path / "clients");
  REQUIRE(gm::GenerateKeyFiles((dir.path / "alice.key").string(), "alice").ok());
  REQUIRE(gm::GenerateKeyFiles((dir.path / "bob.key").string(), "bob").ok());
  fs::copy(dir.path / "alice.key.pub", dir.path / "clients" / "alice.pub");
  fs::copy(dir.path / "bob.key.pub", dir.path / "clients" / "bob.pub");
  std::vector<gm::AuthorizedKey> keys;
  std::vector<std::string> warnings;
  REQUIRE(gm::LoadAuthorizedKeys((dir.path / "clients").string(), &keys, &warnings).ok());
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].name == "alice");
  CHECK(keys[1].name == "bob");
  CHECK(warnings.empty());

  // A secret key lying in the directory is used for its public key, with a warning.
  REQUIRE(gm::GenerateKeyFiles((dir.path / "carol.key").string(), "carol").ok());
  fs::copy(dir.path / "carol.key", dir.path / "clients" / "carol");
  REQUIRE(gm::LoadAuthorizedKeys((dir.path / "clients").string(), &keys, &warnings).ok());
  CHECK(keys.size() == 3);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("holds a secret key") != std::string::npos);
  // Another certificate with alice's name.
  fs::copy(dir.path / "alice.key.pub", dir.path / "clients" / "alice-again.pub");
  govstream::Status s = gm::LoadAuthorizedKeys((dir.path / "clients").string(), &keys, &warnings);
  CHECK(s.message().find("the name 'alice' is given to two keys") != std::string::npos);
  fs::remove(dir.path / "clients" / "alice-again.pub");

  std::string pub;
  REQUIRE(gm::LoadPublicKey((dir.path / "alice.key.pub").string(), &pub).ok());
  std::string lines = Write(dir.path / "keys", "# name key\nalice " + pub + "\n\n");
  REQUIRE(gm::LoadAuthorizedKeys(lines, &keys, &warnings).ok());
  REQUIRE(keys.size() == 1);
  CHECK(keys[0].name == "alice");
  CHECK(keys[0].public_z85 == pub);

  s = gm::LoadAuthorizedKeys(Write(dir.path / "keys", "alice notakey\n"), &keys, &warnings);
  CHECK(s.message().find("line 1: expected 'NAME PUBLIC-KEY'") != std::string::npos);
  s = gm::LoadAuthorizedKeys(Write(dir.path / "keys", "alice " + pub + "\nalice2 " + pub + "\n"), &keys, &warnings);
  CHECK(s.message().find("listed twice") != std::string::npos);
}
