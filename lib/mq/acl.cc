#include "mq/acl.h"

#include <fmt/core.h>
#include <fnmatch.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace govstream::mq {
namespace {

std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// The rule lines that say what `op` needs, for messages.
const char* Needed(Acl::Op op) {
  switch (op) {
    case Acl::Op::kPublish:
      return "'topic write' (or readwrite) rule matching it";
    case Acl::Op::kSubscribe:
      return "'topic read' (or readwrite) rule covering it";
    case Acl::Op::kConsume:
      return "'queue consume' (or all) rule matching it";
    case Acl::Op::kDeclare:
      return "'queue declare' (or all) rule matching it";
    case Acl::Op::kBind:
      return "'queue bind' (or all) rule matching it";
  }
  return "";
}

const char* TargetKind(Acl::Op op) {
  switch (op) {
    case Acl::Op::kPublish:
      return "topic";
    case Acl::Op::kSubscribe:
      return "pattern";
    default:
      return "queue";
  }
}

}  // namespace

const char* AclOpName(Acl::Op op) {
  switch (op) {
    case Acl::Op::kPublish:
      return "publish to";
    case Acl::Op::kSubscribe:
      return "subscribe to";
    case Acl::Op::kConsume:
      return "consume from";
    case Acl::Op::kDeclare:
      return "declare";
    case Acl::Op::kBind:
      return "bind patterns to";
  }
  return "";
}

Status Acl::Load(const std::string& path, Acl* out) {
  std::ifstream in(path);
  if (!in) return Status::IoError(fmt::format("cannot read --acl {}: {}", path, std::strerror(errno)));
  Acl acl;
  acl.path_ = path;
  std::string line, key;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::vector<std::string_view> w = Words(line);
    // As in mosquitto, a comment is a whole line starting with '#' (a
    // pattern may be '#': "topic read #").
    if (!w.empty() && w[0].front() == '#') continue;
    if (w.empty()) continue;
    auto bad = [&](const std::string& what) {
      return Status::InvalidArgument(fmt::format("{} line {}: {}", path, line_no, what));
    };
    if (w[0] == "key" || w[0] == "user") {
      if (w.size() != 2) return bad("expected 'key NAME'");
      key.assign(w[1]);
      continue;
    }
    if (key.empty()) return bad(fmt::format("'{}' before any 'key NAME' line (whose rule is it?)", w[0]));
    if (w[0] == "topic") {
      std::string_view access = w.size() == 3 ? w[1] : "readwrite";
      if (w.size() < 2 || w.size() > 3) return bad("expected 'topic [read|write|readwrite] PATTERN'");
      Pattern p;
      Status s = Pattern::Parse(w.back(), &p);
      if (!s.ok()) return bad(s.message());
      bool read = access == "read" || access == "readwrite";
      bool write = access == "write" || access == "readwrite";
      if (!read && !write) return bad(fmt::format("'{}' is not read, write or readwrite", access));
      if (read) acl.rules_.push_back({key, Op::kSubscribe, p, {}, line_no});
      if (write) acl.rules_.push_back({key, Op::kPublish, p, {}, line_no});
      continue;
    }
    if (w[0] == "queue") {
      if (w.size() != 3) return bad("expected 'queue consume|declare|bind|all NAME'");
      std::string_view what = w[1];
      std::vector<Op> ops;
      if (what == "consume" || what == "all") ops.push_back(Op::kConsume);
      if (what == "declare" || what == "all") ops.push_back(Op::kDeclare);
      if (what == "bind" || what == "all") ops.push_back(Op::kBind);
      if (ops.empty()) return bad(fmt::format("'{}' is not consume, declare, bind or all", what));
      for (Op op : ops) acl.rules_.push_back({key, op, Pattern(), std::string(w[2]), line_no});
      continue;
    }
    return bad(fmt::format("unknown rule '{}' (expected key, topic or queue)", w[0]));
  }
  if (in.bad()) return Status::IoError(fmt::format("cannot read --acl {}: {}", path, std::strerror(errno)));
  *out = std::move(acl);
  return Status::Ok();
}

bool Acl::Allows(std::string_view key, Op op, std::string_view target, std::string* why) const {
  Pattern wanted;
  if (op == Op::kSubscribe && !Pattern::Parse(target, &wanted).ok()) {
    *why = fmt::format("'{}' is not a pattern", target);
    return false;
  }
  const std::string target_s(target);
  std::vector<size_t> lines;  // of the rules that apply to this key
  for (const Rule& r : rules_) {
    if (r.key != "*" && r.key != key) continue;
    if (lines.empty() || lines.back() != r.line) lines.push_back(r.line);
    if (r.op != op) continue;
    bool ok = false;
    switch (op) {
      case Op::kPublish:
        ok = r.pattern.Matches(target);
        break;
      case Op::kSubscribe:
        ok = r.pattern.Covers(wanted);
        break;
      default:
        ok = ::fnmatch(r.queue.c_str(), target_s.c_str(), 0) == 0;
        break;
    }
    if (ok) return true;
  }
  std::string rules;
  if (lines.empty()) {
    rules = fmt::format("{} has no rules for it", path_);
  } else {
    // "lines 3-5, 11"
    rules = fmt::format("its rules are {} line{} ", path_, lines.size() == 1 ? "" : "s");
    for (size_t i = 0; i < lines.size();) {
      size_t j = i;
      while (j + 1 < lines.size() && lines[j + 1] == lines[j] + 1) ++j;
      if (i > 0) rules += ", ";
      rules += j == i ? std::to_string(lines[i]) : fmt::format("{}-{}", lines[i], lines[j]);
      i = j + 1;
    }
  }
  *why = fmt::format("key '{}' may not {} {} '{}': no {} ({})", key, AclOpName(op), TargetKind(op), target,
                     Needed(op), rules);
  return false;
}

}  // namespace govstream::mq
