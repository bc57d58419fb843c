// Program and option specifications: every option of every govstream program
// is declared once, in a ProgramSpec table. From that one table come:
//   - the command-line parser (CLI11) and the --help text   (args.h)
//   - the man page                                           (render.h)
//   - the bash, zsh and fish completions                     (render.h)
// Tests regenerate man/ and completions/ from the tables and fail on drift.
//
// Specs are plain constant data with static storage duration; string_views
// point at string literals. Thread-safe to read.
#ifndef GOVSTREAM_CLI_SPEC_H_
#define GOVSTREAM_CLI_SPEC_H_

#include <string_view>
#include <vector>

namespace govstream::cli {

// What an option's value is; drives validation, help and completion.
enum class ValueKind {
  kFlag,      // no value
  kCount,     // integer >= 0 (e.g. --limit 10)
  kSize,      // byte size with optional K/M/G suffix (binary), e.g. 16M
  kDuration,  // 250ms, 10s, 1h30m
  kString,    // free text
  kExpr,      // a jq-subset expression
  kFile,      // a path; completes file names
  kChoice,    // one of `choices`
  kEndpoint,  // a ZeroMQ endpoint (tcp://host:port, ipc://path)
};

struct OptionSpec {
  std::string_view long_name = {};      // without the leading "--"
  char short_name = 0;             // 0: none
  ValueKind kind = ValueKind::kFlag;
  std::string_view value_name = {};     // e.g. "FILE"; empty for flags
  std::string_view help = {};           // one line, no trailing period
  std::string_view details = {};   // optional longer text for the man page
  std::string_view default_text = {};  // shown as "[default: ...]"
  std::vector<std::string_view> choices = {};  // for kChoice
  bool repeatable = false;
  bool hidden = false;             // not in help, man page or completions
};

struct PositionalSpec {
  std::string_view name = {};  // e.g. "EXPR", "FILE"
  ValueKind kind = ValueKind::kString;
  std::string_view help = {};
  bool required = false;
  bool repeatable = false;
};

struct ExitCodeSpec {
  int code = 0;
  std::string_view meaning = {};
};

struct ExampleSpec {
  std::string_view description = {};
  std::string_view command = {};
};

// A man-page section of free text: a heading and paragraphs separated by
// blank lines. Lines starting with two spaces are rendered as literal text.
struct SectionSpec {
  std::string_view heading = {};
  std::string_view text = {};
};

struct ProgramSpec {
  std::string_view name = {};         // "stream-filter"
  std::string_view summary = {};      // one line for NAME / --help header
  std::string_view usage = {};        // "stream-filter [OPTIONS] EXPR [FILE...]"
  std::string_view description = {};  // paragraphs, blank-line separated
  std::vector<PositionalSpec> positionals = {};
  std::vector<OptionSpec> options = {};  // includes the common options
  std::vector<SectionSpec> sections = {};  // extra man sections (after OPTIONS)
  std::vector<ExitCodeSpec> exit_codes = {};
  std::vector<ExampleSpec> examples = {};
  std::vector<std::string_view> see_also = {};  // "jq(1)", "govstream(7)"
};

// Exit codes shared by every program; each man page lists those it uses.
enum ExitCode : int {
  kExitOk = 0,
  kExitSkipped = 1,      // finished, but bad input lines were skipped
  kExitUsage = 2,        // bad option or expression
  kExitData = 3,         // --strict: first bad line or evaluation error
  kExitIo = 4,           // cannot open/read/write
  kExitConnection = 5,   // broker unreachable or connection lost
  kExitUnconfirmed = 6,  // some messages not confirmed
  kExitTimeout = 7,      // -W/--timeout elapsed with nothing received
  kExitFiring = 8,       // stream-alert: an alert is firing at the end of input
  kExitState = 9,        // the --state file is corrupt, of another version, or made with other options
  kExitAccess = 10,      // mq-pub/mq-sub: the broker refused the credentials or permissions
  kExitRejected = 11,    // mq-pub/mq-sub: the broker refused the set-up (exchange, queue arguments)
  kExitBusy = 12,        // the --state file is in use by another run (its lock was not free in time)
  kExitInterrupted = 130,
};

// The options every program that reads NDJSON accepts, in help order:
// --input, --strict, --max-line-bytes, --line-buffered, --stats, --progress.
// (--help, --version and the hidden --generate are added by the parser.)
std::vector<OptionSpec> CommonInputOptions();

// Exit codes 0-4 and 130 as they apply to every NDJSON-reading program.
std::vector<ExitCodeSpec> CommonExitCodes();

// The options of every broker client (mq-pub, mq-sub): --broker,
// --connect-timeout.
std::vector<OptionSpec> CommonClientOptions();
// --state, --state-reset, --state-wait, --rotated (stream-filter, stream-agg,
// stream-window), and the exit statuses that go with them.
std::vector<OptionSpec> CommonStateOptions();
std::vector<ExitCodeSpec> StateExitCodes();
// Adds both to a program's spec (the exit statuses before 130, in order).
void AddStateOptions(ProgramSpec* spec);
// --threads (with `details`: what the workers do for this program) and the
// hidden --chunk-bytes of the programs that read with worker threads.
void AddThreadOptions(ProgramSpec* spec, std::string_view details);

// All program specs known to this build, for invariant tests and generators.
const std::vector<const ProgramSpec*>& AllPrograms();

}  // namespace govstream::cli

#endif  // GOVSTREAM_CLI_SPEC_H_
