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
#include "io/report.h"

namespace govstream::alert {
namespace {

// Appends every part to *out (no temporaries).
template <typename... T>
void Append(std::string* out, const T&... parts) {
  (out->append(std::string_view(parts)), ...);
}

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

std::vector<std::string> StateLines(const std::vector<Rule>& rules, const Engine& engine) {
  std::vector<std::string> lines;
  for (size_t r = 0; r < rules.size(); ++r) {
    std::vector<const Engine::Table::value_type*> rows;
    for (const auto& kv : engine.table(r)) rows.push_back(&kv);
    std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->first < b->first; });
    for (const auto* kv : rows) {
      const AlertKey& k = kv->second;
      std::string out;
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
      out += '}';
      lines.push_back(std::move(out));
    }
  }
  return lines;
}

Status RestoreStateLines(const std::string& name, const std::vector<std::string>& lines,
                         const std::vector<Rule>& rules, Engine* engine) {
  auto refuse = [&](uint64_t line, std::string_view why) {
    return Status(Status::Code::kBadState,
                  fmt::format("state file {}: alert entry {}: {}; it was left as it is (--state-reset starts afresh)",
                              name, line, why));
  };
  expr::Arena arena;
  std::string error;
  for (size_t n = 0; n < lines.size(); ++n) {
    const uint64_t line_no = n + 1;
    arena.Reset();
    expr::Value v, m;
    if (!expr::ParseJsonSlow(lines[n], &arena, &v, &error)) return refuse(line_no, "not valid JSON: " + error);
    if (!v.is_object()) return refuse(line_no, "not a JSON object");
    // An entry.
    if (!v.find("rule", &m) || !m.is_string()) return refuse(line_no, "entry without \"rule\"");
    size_t rule = rules.size();
    for (size_t r = 0; r < rules.size(); ++r) {
      if (rules[r].name == m.string()) rule = r;
    }
    if (rule == rules.size()) {
      return refuse(line_no, fmt::format("alert state for rule '{}', which is not given (give the rule)", m.string()));
    }
    expr::Value key, st;
    if (!v.find("key", &key) || !key.is_array()) return refuse(line_no, "entry without \"key\" array");
    if (key.size() != rules[rule].keys.size()) {
      return refuse(line_no, fmt::format("rule '{}' has {} key(s) there but {} now (--by changed)", rules[rule].name,
                                         key.size(), rules[rule].keys.size()));
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
    if (!v.find("state", &st) || !st.is_string()) return refuse(line_no, "entry without \"state\"");
    std::optional<State> s = alert::ParseState(st.string());
    if (!s || *s == State::kInactive) return refuse(line_no, "bad state \"" + std::string(st.string()) + "\"");
    k.state.state = *s;
    for (const TimeField& f : kTimeFields) {
      expr::Value t;
      if (!v.find(f.name, &t)) return refuse(line_no, fmt::format("entry without \"{}\"", f.name));
      if (t.is_null()) continue;
      if (!t.is_number() || std::floor(t.number()) != t.number() || std::fabs(t.number()) > 9e15) {
        return refuse(line_no, fmt::format("\"{}\" is not a time in milliseconds", f.name));
      }
      k.state.*f.member = static_cast<int64_t>(t.number());
    }
    if (k.state.last_time == kNever || k.state.active_since == kNever) {
      return refuse(line_no, "entry without last_time or active_since");
    }
    if (engine->table(rule).count(canonical)) return refuse(line_no, "duplicate entry");
    engine->Restore(rule, canonical, std::move(k));
  }
  return Status::Ok();
}

}  // namespace govstream::alert
