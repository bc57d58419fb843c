#include "alert/state_file.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "agg/canonical.h"
#include "expr/json.h"
#include "io/durable_file.h"
#include "io/report.h"

namespace govstream::alert {
namespace {

// Appends every part to *out (no temporaries).
template <typename... T>
void Append(std::string* out, const T&... parts) {
  (out->append(std::string_view(parts)), ...);
}

constexpr std::string_view kFormatName = "govstream-alert-state";

uint64_t Fnv1a(std::string_view bytes) { return io::Fnv1a64(bytes); }

void AppendTime(int64_t t, std::string* out) {
  if (t == kNever) {
    *out += "null";
  } else {
    *out += std::to_string(t);
  }
}

struct TimeField {
  std::string_view name;
  int64_t KeyState::*member;
};
constexpr TimeField kTimeFields[] = {
    {"active_since", &KeyState::active_since}, {"firing_since", &KeyState::firing_since},
    {"false_since", &KeyState::false_since},   {"last_sent", &KeyState::last_sent},
    {"resolved_at", &KeyState::resolved_at},   {"last_time", &KeyState::last_time},
};

}  // namespace

std::string SerializeState(const std::vector<Rule>& rules, const Engine& engine) {
  std::string out = fmt::format("{{\"format\":\"{}\",\"version\":{}}}\n", kFormatName, kStateFormatVersion);
  uint64_t entries = 0;
  for (size_t r = 0; r < rules.size(); ++r) {
    std::vector<const Engine::Table::value_type*> rows;
    for (const auto& kv : engine.table(r)) rows.push_back(&kv);
    std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->first < b->first; });
    for (const auto* kv : rows) {
      const AlertKey& k = kv->second;
      Append(&out, "{\"rule\":\"", io::JsonEscape(rules[r].name), "\",\"key\":[");
      for (size_t i = 0; i < k.key_json.size(); ++i) Append(&out, i ? "," : "", k.key_json[i]);
      out += "],\"state\":\"";
      out += StateName(k.state.state);
      out += '"';
      for (const TimeField& f : kTimeFields) {
        out += ",\"";
        out += f.name;
        out += "\":";
        AppendTime(k.state.*f.member, &out);
      }
      out += "}\n";
      ++entries;
    }
  }
  out += fmt::format("{{\"end\":true,\"entries\":{},\"checksum\":\"{:016x}\"}}\n", entries, Fnv1a(out));
  return out;
}

Status ParseStateText(const std::string& name, std::string_view text, const std::vector<Rule>& rules, Engine* engine) {
  auto corrupt = [&](uint64_t line, std::string_view why) {
    return Status::DataError(fmt::format(
        "state file {} is corrupt (line {}: {}); it was left as it is: repair or remove it to start afresh", name,
        line, why));
  };
  expr::Arena arena;
  std::string error;
  size_t pos = 0;
  uint64_t line_no = 0, entries = 0;
  bool header = false, trailer = false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return corrupt(line_no + 1, "truncated (no newline at the end)");
    std::string_view line = text.substr(pos, nl - pos);
    size_t line_start = pos;
    pos = nl + 1;
    ++line_no;
    if (trailer) return corrupt(line_no, "data after the end line");
    arena.Reset();
    expr::Value v, m;
    if (!expr::ParseJsonSlow(line, &arena, &v, &error)) return corrupt(line_no, "not valid JSON: " + error);
    if (!v.is_object()) return corrupt(line_no, "not a JSON object");
    if (!header) {
      if (!v.find("format", &m) || !m.is_string() || m.string() != kFormatName) {
        return corrupt(line_no, fmt::format("not a stream-alert state file (no \"format\":\"{}\")", kFormatName));
      }
      if (!v.find("version", &m) || !m.is_number()) return corrupt(line_no, "no format version");
      if (m.number() != kStateFormatVersion) {
        return Status::DataError(fmt::format(
            "state file {} has format version {}, this stream-alert reads version {}; it was left as it is", name,
            expr::ToJson(m), kStateFormatVersion));
      }
      header = true;
      continue;
    }
    if (v.find("end", &m)) {
      expr::Value count, sum;
      if (!v.find("entries", &count) || !count.is_number() || !v.find("checksum", &sum) || !sum.is_string()) {
        return corrupt(line_no, "bad end line");
      }
      if (count.number() != static_cast<double>(entries)) {
        return corrupt(line_no, fmt::format("the end line counts {} entries, the file has {}", expr::ToJson(count),
                                            entries));
      }
      if (sum.string() != fmt::format("{:016x}", Fnv1a(text.substr(0, line_start)))) {
        return corrupt(line_no, "checksum mismatch");
      }
      trailer = true;
      continue;
    }
    // An entry.
    if (!v.find("rule", &m) || !m.is_string()) return corrupt(line_no, "entry without \"rule\"");
    size_t rule = rules.size();
    for (size_t r = 0; r < rules.size(); ++r) {
      if (rules[r].name == m.string()) rule = r;
    }
    if (rule == rules.size()) {
      return Status::DataError(fmt::format(
          "state file {} has alert state for rule '{}', which is not given (line {}); it was left as it is: give "
          "the rule, or remove the file to start afresh",
          name, m.string(), line_no));
    }
    expr::Value key, st;
    if (!v.find("key", &key) || !key.is_array()) return corrupt(line_no, "entry without \"key\" array");
    if (key.size() != rules[rule].keys.size()) {
      return Status::DataError(fmt::format(
          "state file {} line {}: rule '{}' has {} key(s) there but {} now (--by changed); it was left as it is: "
          "remove it to start afresh",
          name, line_no, rules[rule].name, key.size(), rules[rule].keys.size()));
    }
    AlertKey k;
    std::string canonical = "[";
    for (size_t i = 0; i < key.size(); ++i) {
      std::string piece;
      agg::AppendCanonical(key.at(i), &piece);
      Append(&canonical, i ? "," : "", piece);
      k.key_json.push_back(std::move(piece));
    }
    canonical += "]";
    if (!v.find("state", &st) || !st.is_string()) return corrupt(line_no, "entry without \"state\"");
    std::optional<State> s = alert::ParseState(st.string());
    if (!s || *s == State::kInactive) return corrupt(line_no, "bad state \"" + std::string(st.string()) + "\"");
    k.state.state = *s;
    for (const TimeField& f : kTimeFields) {
      expr::Value t;
      if (!v.find(f.name, &t)) return corrupt(line_no, fmt::format("entry without \"{}\"", f.name));
      if (t.is_null()) continue;
      if (!t.is_number() || std::floor(t.number()) != t.number() || std::fabs(t.number()) > 9e15) {
        return corrupt(line_no, fmt::format("\"{}\" is not a time in milliseconds", f.name));
      }
      k.state.*f.member = static_cast<int64_t>(t.number());
    }
    if (k.state.last_time == kNever || k.state.active_since == kNever) {
      return corrupt(line_no, "entry without last_time or active_since");
    }
    if (engine->table(rule).count(canonical)) return corrupt(line_no, "duplicate entry");
    engine->Restore(rule, canonical, std::move(k));
    ++entries;
  }
  if (!header) return corrupt(line_no, "empty file");
  if (!trailer) return corrupt(line_no, "truncated (no end line)");
  return Status::Ok();
}

Status SaveState(const std::string& path, const std::vector<Rule>& rules, const Engine& engine,
                 const std::function<void(const std::string&)>& before_rename) {
  return io::WriteFileAtomically(path, SerializeState(rules, engine), before_rename);
}

Status LoadState(const std::string& path, const std::vector<Rule>& rules, Engine* engine, bool* existed) {
  std::string text;
  Status s = io::ReadWholeFile(path, &text, existed);
  if (!s.ok() || !*existed) return s;
  return ParseStateText(path, text, rules, engine);
}

}  // namespace govstream::alert
