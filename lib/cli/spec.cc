#include "cli/spec.h"

#include "cli/programs.h"

namespace govstream::cli {

std::vector<OptionSpec> CommonInputOptions() {
  return {
      {.long_name = "input",
       .short_name = 'i',
       .kind = ValueKind::kFile,
       .value_name = "FILE",
       .help = "Read FILE instead of standard input ('-' is standard input)",
       .details = "Files are read in the order given, with large direct reads; "
                  "diagnostics name the file and line number.",
       .repeatable = true},
      {.long_name = "strict",
       .kind = ValueKind::kFlag,
       .help = "Stop at the first bad input line or evaluation error (exit status 3)",
       .details = "Without --strict, a line that is not valid JSON, is not "
                  "valid UTF-8 or is longer than --max-line-bytes is skipped "
                  "and reported on standard error, the first 10 in full and "
                  "then as a count, and the program exits with status 1."},
      {.long_name = "max-line-bytes",
       .kind = ValueKind::kSize,
       .value_name = "SIZE",
       .help = "Longest accepted input line; longer lines are skipped and reported",
       .details = "A longer line is never held in memory whole: it is "
                  "discarded as it streams past. SIZE takes K, M and G "
                  "suffixes (binary multiples).",
       .default_text = "16M"},
      {.long_name = "line-buffered",
       .kind = ValueKind::kFlag,
       .help = "Flush standard output after every record",
       .details = "Output is block-buffered otherwise, but pending output is "
                  "always flushed before the program waits for more input, so "
                  "a live pipeline such as tail -F never holds records back."},
      {.long_name = "stats",
       .kind = ValueKind::kFlag,
       .help = "Print a one-line JSON summary on standard error at exit",
       .details = "Fields: program, records_in, records_out, bad_lines, "
                  "eval_errors, bytes_in, bom_skipped (inputs that began with a UTF-8 "
                  "byte-order mark, which was skipped), seconds, records_per_sec, mb_per_sec; some "
                  "programs add fields of their own (see DESCRIPTION)."},
      {.long_name = "progress",
       .kind = ValueKind::kFlag,
       .help = "Show a live progress line on standard error when it is a terminal",
       .details = "Shows bytes read, percent of the known input size, "
                  "records per second and the estimated time left; ignored "
                  "when standard error is not a terminal."},
  };
}

std::vector<OptionSpec> CommonStateOptions() {
  return {
      {.long_name = "state",
       .kind = ValueKind::kFile,
       .value_name = "FILE",
       .help = "Resume where the last run with FILE stopped: only new input lines are read (for cron)",
       .details = "FILE records, per input file, its identity (a fingerprint of its first KiB, with device "
                  "and inode) and the offset just past the last complete line consumed, and the program's "
                  "own state (see DESCRIPTION). A last line without a newline is left for the next run. A "
                  "log rotated since (renamed, PATH.1, PATH.N.gz, PATH-DATE, or --rotated) is finished "
                  "first, newer rotated files are read whole, then the new file from its start; a file "
                  "truncated in place (copytruncate) is read from its start, with a note. FILE is written "
                  "after the output is flushed (temporary file, fsync, rename; at the end of the run and at "
                  "most every second while reading): a run killed at any moment loses no input and repeats "
                  "at most the records output since its last write (at least once). Standard input has no "
                  "offsets; the program's state still persists. The format is versioned and checksummed "
                  "(docs/run-state.md); a corrupt file, another version, or a file made with other options "
                  "is refused (exit status 9), never silently reset. Two runs on one FILE: the second waits "
                  "for the first (--state-wait), then exits 12."},
      {.long_name = "state-reset",
       .kind = ValueKind::kFlag,
       .help = "With --state: ignore what FILE holds and start afresh (from the start of every input)"},
      {.long_name = "state-wait",
       .kind = ValueKind::kDuration,
       .value_name = "DUR",
       .help = "With --state: how long to wait for another run that holds FILE, then exit 12",
       .default_text = "10s"},
      {.long_name = "rotated",
       .kind = ValueKind::kString,
       .value_name = "GLOB",
       .help = "With --state: where else rotated generations of the inputs may be (besides PATH.N and PATH-*)",
       .repeatable = true},
  };
}

std::vector<ExitCodeSpec> StateExitCodes() {
  return {
      {kExitState, "The --state file is corrupt, of another format version, or was made with other options "
                   "(the message says which; the file is left as it is; --state-reset starts afresh)."},
      {kExitBusy, "The --state file is in use by another run, which did not finish within --state-wait."},
  };
}

void AddThreadOptions(ProgramSpec* spec, std::string_view details) {
  spec->options.push_back(
      {.long_name = "threads", .short_name = 'j', .kind = ValueKind::kCount, .value_name = "N",
       .help = "Parse and evaluate lines on N worker threads (0: one per CPU this process may use)",
       .details = details, .default_text = "0"});
  spec->options.push_back({.long_name = "chunk-bytes", .kind = ValueKind::kCount, .value_name = "N",
                           .help = "Tests: hand lines to the --threads workers in chunks of about N bytes",
                           .hidden = true});
}

void AddStateOptions(ProgramSpec* spec) {
  for (auto& o : CommonStateOptions()) spec->options.push_back(o);
  for (auto& e : StateExitCodes()) spec->exit_codes.insert(spec->exit_codes.end() - 1, e);
}

std::vector<ExitCodeSpec> CommonExitCodes() {
  return {
      {kExitOk, "Success: every input line was read and processed."},
      {kExitSkipped, "Finished, but some input lines were skipped (invalid JSON, "
                     "invalid UTF-8, too long, or an evaluation error); each "
                     "was reported on standard error."},
      {kExitUsage, "Usage error: bad option or bad expression; the message "
                   "shows where in the expression."},
      {kExitData, "With --strict: stopped at the first bad line or evaluation error."},
      {kExitIo, "An input file could not be opened or read, or output could "
                "not be written (other files are still processed)."},
      {kExitInterrupted, "Interrupted by SIGINT or SIGTERM; pending output was "
                         "flushed (stream-agg first writes its current results, stream-window those of every open window)."},
  };
}

std::vector<OptionSpec> CommonClientOptions() {
  return {
      {.long_name = "broker",
       .short_name = 'b',
       .kind = ValueKind::kEndpoint,
       .value_name = "ENDPOINT",
       .help = "The broker: mq-broker (tcp://HOST:PORT, ipc://PATH) or RabbitMQ (amqp://, amqps://)",
       .details = "amqp://USER:PASS@HOST:PORT/VHOST speaks AMQP 0-9-1 to RabbitMQ (port 5672 and vhost / by "
                  "default; amqps:// is TLS, port 5671). Topics are routing keys on a topic exchange "
                  "(--exchange), queues are durable RabbitMQ queues, confirms are publisher confirms: the "
                  "same pipelines, envelope and exit statuses as with mq-broker. Keep the password out of "
                  "the URL (and of ps) with --credentials or GOVSTREAM_AMQP_CREDENTIALS.",
       .default_text = "tcp://127.0.0.1:7750"},
      {.long_name = "connect-timeout",
       .kind = ValueKind::kDuration,
       .value_name = "DUR",
       .help = "How long to keep trying to reach the broker before giving up (exit status 5)",
       .details = "ZeroMQ retries the connection in the background; the first command waits "
                  "for it, so a broker that starts within DUR is found.",
       .default_text = "5s"},
      {.long_name = "exchange",
       .kind = ValueKind::kString,
       .value_name = "NAME",
       .help = "amqp://: the topic exchange topics are routing keys on (it must exist)",
       .default_text = "amq.topic"},
      {.long_name = "credentials",
       .kind = ValueKind::kFile,
       .value_name = "FILE",
       .help = "amqp://: read USER:PASSWORD from the first line of FILE",
       .details = "Without it the URL's user and password are used, else the environment variable "
                  "GOVSTREAM_AMQP_CREDENTIALS (USER:PASSWORD), else guest:guest. A refused login exits "
                  "with status 10."},
      {.long_name = "tls-ca",
       .kind = ValueKind::kFile,
       .value_name = "FILE",
       .help = "amqps://: verify the broker's certificate against the CA certificates in FILE (PEM)",
       .details = "Without it the system's CA store is used. The broker's name is always checked."},
      {.long_name = "tls-cert",
       .kind = ValueKind::kFile,
       .value_name = "FILE",
       .help = "amqps://: client certificate (PEM), with --tls-key"},
      {.long_name = "tls-key",
       .kind = ValueKind::kFile,
       .value_name = "FILE",
       .help = "amqps://: the client certificate's private key (PEM)"},
      {.long_name = "curve-key",
       .kind = ValueKind::kFile,
       .value_name = "FILE",
       .help = "mq-broker: encrypt with CURVE and authenticate with this client's secret key file (with --server-key)",
       .details = "FILE is a secret key made by mq-broker --gen-key (CZMQ's zcert format); it must not be "
                  "readable by group or others. A key the broker does not authorize exits with status 10, "
                  "\"the broker refused this client's key\"; so does a CURVE client reaching a plain-text "
                  "broker, or the reverse."},
      {.long_name = "server-key",
       .kind = ValueKind::kString,
       .value_name = "KEY",
       .help = "mq-broker: the broker's public key: its .pub file, or the key's 40 Z85 characters"},
  };
}

const std::vector<const ProgramSpec*>& AllPrograms() {
  static const std::vector<const ProgramSpec*> kAll = {&StreamFilterSpec(), &StreamAggSpec(), &StreamWindowSpec(), &StreamAlertSpec(),
                                                       &MqBrokerSpec(), &MqPubSpec(), &MqSubSpec()};
  return kAll;
}

}  // namespace govstream::cli
