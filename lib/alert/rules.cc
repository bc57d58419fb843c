#include "alert/rules.h"

#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "expr/json.h"
#include "time/duration.h"

namespace govstream::alert {
namespace {

// Durations up to 1000 years, so that time arithmetic cannot overflow.
constexpr int64_t kMaxDurationMs = int64_t{365'000} * 86'400'000;

Status ParseDurationField(std::string_view what, const std::string& text, int64_t* ms) {
  *ms = 0;
  if (text.empty()) return Status::Ok();
  std::optional<int64_t> d = time::ParseDurationMs(text);
  if (!d) return Status::InvalidArgument(fmt::format("{}: bad duration '{}' (e.g. 250ms, 10s, 5m, 1h30m)", what, text));
  if (*d > kMaxDurationMs) return Status::InvalidArgument(fmt::format("{}: must be at most 365000d", what));
  *ms = *d;
  return Status::Ok();
}

}  // namespace

Status CompileRule(const RuleText& t, Rule* out) {
  out->name = t.name;
  if (t.name.empty()) return Status::InvalidArgument("a rule needs a non-empty name");
  if (t.when.empty()) return Status::InvalidArgument(fmt::format("rule '{}': no condition (when)", t.name));
  Status s = expr::Expression::Compile(t.when, &out->when);
  if (!s.ok()) return Status::InvalidArgument(fmt::format("rule '{}': bad condition: {}", t.name, s.message()));
  out->keys.clear();
  std::set<std::string> names;
  for (size_t i = 0; i < t.by.size(); ++i) {
    agg::KeySpec k;
    s = agg::ParseKeySpec(t.by[i], i, &k);
    if (!s.ok()) return Status::InvalidArgument(fmt::format("rule '{}': bad key: {}", t.name, s.message()));
    if (!names.insert(k.output_name).second) {
      return Status::InvalidArgument(
          fmt::format("rule '{}': two keys are named '{}'; name one (NAME=EXPR)", t.name, k.output_name));
    }
    out->keys.push_back(std::move(k));
  }
  if (!(s = ParseDurationField("for", t.for_text, &out->timing.for_ms)).ok() ||
      !(s = ParseDurationField("keep_firing_for", t.keep_firing_for_text, &out->timing.keep_firing_for_ms)).ok() ||
      !(s = ParseDurationField("repeat", t.repeat_text, &out->timing.repeat_ms)).ok()) {
    return Status::InvalidArgument(fmt::format("rule '{}': {}", t.name, s.message()));
  }
  if (!t.repeat_text.empty() && out->timing.repeat_ms <= 0) {
    return Status::InvalidArgument(fmt::format("rule '{}': repeat must be greater than 0", t.name));
  }
  out->labels = t.labels;
  for (const auto& [k, v] : out->labels) {
    if (k == "alertname") {
      return Status::InvalidArgument(fmt::format("rule '{}': the label 'alertname' is the rule name", t.name));
    }
  }
  out->annotations.reset();
  if (!t.annotations.empty()) {
    s = expr::Expression::Compile(t.annotations, &out->annotations);
    if (!s.ok()) return Status::InvalidArgument(fmt::format("rule '{}': bad annotations: {}", t.name, s.message()));
  }
  return Status::Ok();
}

Status ParseLabel(std::string_view text, std::pair<std::string, std::string>* out) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Status::InvalidArgument(fmt::format("--label '{}': expected NAME=VALUE", text));
  }
  out->first = std::string(text.substr(0, eq));
  out->second = std::string(text.substr(eq + 1));
  return Status::Ok();
}

Status CheckRuleNames(const std::vector<Rule>& rules) {
  std::set<std::string> names;
  for (const Rule& r : rules) {
    if (!names.insert(r.name).second) return Status::InvalidArgument(fmt::format("two rules are named '{}'", r.name));
  }
  return Status::Ok();
}

namespace {

bool StringMember(const expr::Value& v, std::string* out) {
  if (!v.is_string()) return false;
  *out = std::string(v.string());
  return true;
}

Status ParseRuleLine(const expr::Value& v, RuleText* t) {
  if (!v.is_object()) return Status::InvalidArgument("a rule must be a JSON object");
  Status s;
  std::string str;
  expr::ForEachMember(v, [&](std::string_view key, const expr::Value& m) {
    auto need_string = [&](std::string* dst) {
      if (!StringMember(m, dst)) s = Status::InvalidArgument(fmt::format("\"{}\" must be a string", key));
    };
    if (key == "name") {
      need_string(&t->name);
    } else if (key == "when") {
      need_string(&t->when);
    } else if (key == "for") {
      need_string(&t->for_text);
    } else if (key == "keep_firing_for") {
      need_string(&t->keep_firing_for_text);
    } else if (key == "repeat") {
      need_string(&t->repeat_text);
    } else if (key == "annotations") {
      need_string(&t->annotations);
    } else if (key == "by") {
      if (StringMember(m, &str)) {
        t->by.push_back(str);
      } else if (m.is_array()) {
        expr::ForEachElement(m, [&](const expr::Value& e) {
          if (!StringMember(e, &str)) {
            s = Status::InvalidArgument("\"by\" must be a string or an array of strings");
            return false;
          }
          t->by.push_back(str);
          return true;
        });
      } else {
        s = Status::InvalidArgument("\"by\" must be a string or an array of strings");
      }
    } else if (key == "labels") {
      if (!m.is_object()) {
        s = Status::InvalidArgument("\"labels\" must be an object of strings");
      } else {
        expr::ForEachMember(m, [&](std::string_view lk, const expr::Value& lv) {
          if (!StringMember(lv, &str)) {
            s = Status::InvalidArgument(fmt::format("label \"{}\" must be a string", lk));
            return false;
          }
          t->labels.emplace_back(std::string(lk), str);
          return true;
        });
      }
    } else {
      s = Status::InvalidArgument(fmt::format(
          "unknown member \"{}\" (a rule has name, when, by, for, keep_firing_for, repeat, labels, annotations)", key));
    }
    return s.ok();
  });
  if (s.ok() && t->name.empty()) s = Status::InvalidArgument("a rule needs \"name\"");
  if (s.ok() && t->when.empty()) s = Status::InvalidArgument("a rule needs \"when\"");
  return s;
}

}  // namespace

Status ReadRulesFile(const std::string& path, std::vector<RuleText>* out) {
  std::ifstream in(path);
  if (!in) return Status::IoError(fmt::format("cannot open --rules {}: {}", path, std::strerror(errno)));
  std::string line;
  uint64_t number = 0;
  expr::Arena arena;
  while (std::getline(in, line)) {
    ++number;
    if (expr::IsBlank(line)) continue;
    size_t first = line.find_first_not_of(" \t");
    if (line[first] == '#') continue;
    expr::Value v;
    std::string error;
    arena.Reset();
    if (!expr::ParseJsonSlow(line, &arena, &v, &error)) {
      return Status::InvalidArgument(fmt::format("{}:{}: not valid JSON: {}", path, number, error));
    }
    RuleText t;
    Status s = ParseRuleLine(v, &t);
    if (!s.ok()) return Status::InvalidArgument(fmt::format("{}:{}: {}", path, number, s.message()));
    out->push_back(std::move(t));
  }
  if (in.bad()) return Status::IoError(fmt::format("cannot read --rules {}", path));
  if (out->empty()) return Status::InvalidArgument(fmt::format("{}: no rules", path));
  return Status::Ok();
}

}  // namespace govstream::alert
