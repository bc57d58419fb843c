// Command-line parsing from a ProgramSpec (over CLI11).
//
// Parse() builds the parser from the spec's option table, so the accepted
// options, --help and the man page can never disagree. It handles --help,
// --version and `--generate man|bash|zsh|fish` itself: for those
// (and for usage errors) it prints to stdout/stderr and returns a ParseResult
// with `exit_now` set and the exit code to use.
//
// Values are validated by ValueKind at parse time (counts, sizes, durations,
// choices), so accessors on Args never fail for declared options.
#ifndef GOVSTREAM_CLI_ARGS_H_
#define GOVSTREAM_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/spec.h"

namespace govstream::cli {

struct ParseResult;
class Args;
ParseResult Parse(const ProgramSpec& spec, int argc, const char* const* argv);

class Args {
 public:
  // True when the flag (or any value of the option) was given.
  bool has(std::string_view long_name) const;
  bool flag(std::string_view long_name) const { return has(long_name); }
  // Last value given, or nullopt.
  std::optional<std::string> str(std::string_view long_name) const;
  // All values of a repeatable option, in order.
  std::vector<std::string> strs(std::string_view long_name) const;
  // kCount / kSize: parsed value (sizes in bytes); `def` when absent.
  uint64_t count(std::string_view long_name, uint64_t def) const;
  // kDuration: milliseconds; `def` when absent.
  int64_t duration_ms(std::string_view long_name, int64_t def) const;
  // Positional values in order (all positional specs, flattened).
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  friend struct ParseResult;
  friend ParseResult Parse(const ProgramSpec&, int, const char* const*);
  const ProgramSpec* spec_ = nullptr;
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::vector<std::string> positionals_;
};

struct ParseResult {
  Args args;
  bool exit_now = false;  // --help/--version/--generate handled, or error
  int exit_code = 0;
};

ParseResult Parse(const ProgramSpec& spec, int argc, const char* const* argv);

// The --help text, rendered from the spec: usage, summary, arguments,
// options (with defaults and choices) and exit status.
std::string RenderHelp(const ProgramSpec& spec);

// Prints "PROGRAM: MESSAGE" and the --help hint on stderr; returns
// kExitUsage, for `return UsageError(spec, "...")` in a program's main.
int UsageError(const ProgramSpec& spec, std::string_view message);

// Parses "16M", "512K", "1G", "4096" (binary multiples). nullopt if invalid.
std::optional<uint64_t> ParseSize(std::string_view text);

}  // namespace govstream::cli

#endif  // GOVSTREAM_CLI_ARGS_H_
