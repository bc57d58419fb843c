// Alert rules: what stream-alert evaluates on each record.
//
// A rule has a name, a condition (a jq expression, true when it is truthy),
// the --by keys that split it into one alert per key, its timing (for,
// keep_firing_for, repeat), static labels, and an optional annotation
// template: a jq expression, usually an object construction, evaluated on
// the record that triggers an event.
//
// Rules come from the command line (one rule) or from a rules file: NDJSON,
// one rule object per line (blank lines and lines starting with '#' are
// ignored):
//   {"name":"errors","when":".errors > 10","by":[".host"],"for":"3m",
//    "keep_firing_for":"5m","repeat":"1h","labels":{"severity":"page"},
//    "annotations":"{summary: (\"errors on \" + .host)}"}
// Only "name" and "when" are required; "by" is a string or an array of
// strings. Unknown members are refused. Errors name the file and line.
#ifndef GOVSTREAM_ALERT_RULES_H_
#define GOVSTREAM_ALERT_RULES_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agg/spec.h"
#include "alert/machine.h"
#include "base/status.h"
#include "expr/expr.h"

namespace govstream::alert {

struct Rule {
  std::string name;
  std::unique_ptr<expr::Expression> when;
  std::vector<agg::KeySpec> keys;
  RuleTiming timing;
  std::vector<std::pair<std::string, std::string>> labels;  // in the order given
  std::unique_ptr<expr::Expression> annotations;            // may be null
};

// The text form of one rule, as options or a rules-file line give it.
struct RuleText {
  std::string name;
  std::string when;
  std::vector<std::string> by;
  std::string for_text, keep_firing_for_text, repeat_text;  // durations; empty: 0
  std::vector<std::pair<std::string, std::string>> labels;
  std::string annotations;
};

// Compiles a rule; InvalidArgument naming the part that is wrong.
Status CompileRule(const RuleText& text, Rule* out);

// Reads a rules file (format above) into rule texts; InvalidArgument or
// IoError as "FILE:LINE: reason".
Status ReadRulesFile(const std::string& path, std::vector<RuleText>* out);

// Parses "NAME=VALUE" (--label).
Status ParseLabel(std::string_view text, std::pair<std::string, std::string>* out);

// Fails when two rules share a name.
Status CheckRuleNames(const std::vector<Rule>& rules);

}  // namespace govstream::alert

#endif  // GOVSTREAM_ALERT_RULES_H_
