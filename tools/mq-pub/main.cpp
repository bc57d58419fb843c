// mq-pub: publish NDJSON lines through mq-broker, confirmed. Options come
// from cli::MqPubSpec(); the work is mq::RunPublish().
#include <fmt/core.h>

#include <memory>
#include <string>

#include "cli/args.h"
#include "cli/programs.h"
#include "expr/expr.h"
#include "io/report.h"
#include "io/signals.h"
#include "mq/publish.h"
#include "mq/topic.h"
#include "mq/transport.h"
#include "stream/exit.h"

namespace gs = govstream;

namespace {

int Usage(const std::string& message) { return gs::cli::UsageError(gs::cli::MqPubSpec(), message); }

}  // namespace

int main(int argc, char** argv) {
  gs::cli::ParseResult parsed = gs::cli::Parse(gs::cli::MqPubSpec(), argc, argv);
  if (parsed.exit_now) return parsed.exit_code;
  const gs::cli::Args& args = parsed.args;

  gs::mq::PublishOptions o;
  o.input = gs::stream::InputConfigFromArgs(args);
  std::unique_ptr<gs::expr::Expression> topic_from;
  if (args.has("topic") == args.has("topic-from")) return Usage("give exactly one of --topic and --topic-from");
  if (auto t = args.str("topic")) {
    gs::Status s = gs::mq::ValidateTopic(*t);
    if (!s.ok()) return Usage("--topic: " + s.message());
    o.topic = *t;
  } else {
    gs::Status s = gs::expr::Expression::Compile(*args.str("topic-from"), &topic_from);
    if (!s.ok()) return Usage("--topic-from: " + s.message());
    o.topic_from = topic_from.get();
  }
  if (gs::Status s = gs::mq::ClientOptionsFromArgs(args, &o.client); !s.ok()) return Usage(s.message());
  o.listen = args.str("listen").value_or("");
  if (!o.listen.empty()) {
    gs::Status s = gs::mq::ValidateEndpoint(o.listen);
    if (!s.ok()) return Usage(s.message());
  }
  o.publisher_id = args.str("id").value_or(gs::mq::DefaultPublisherId());
  if (o.publisher_id.empty() || o.publisher_id.size() > 255) return Usage("--id must be 1 to 255 bytes");
  o.batch = args.count("batch", o.batch);
  o.mandatory = args.flag("mandatory");
  if (o.batch == 0 || o.batch > 100000) return Usage("--batch must be between 1 and 100000");
  o.timeout_ms = args.duration_ms("timeout", o.timeout_ms);

  gs::io::InstallSignalHandlers();
  gs::mq::TuneAllocatorForBatches();
  gs::io::Reporter reporter("mq-pub");
  gs::io::Stats stats;
  gs::mq::PublishResult r = gs::mq::RunPublish(o, &reporter);
  reporter.Finish();

  // Every run that did not end well says what became of the input.
  int exit_code;
  switch (r.status.code()) {
    case gs::Status::Code::kConnection:
    case gs::Status::Code::kTimeout:
    case gs::Status::Code::kAccessRefused:
    case gs::Status::Code::kRejected:
      reporter.Error(r.status.message());
      reporter.Error(gs::mq::PublishSummary(r));
      exit_code = r.status.code() == gs::Status::Code::kTimeout         ? gs::cli::kExitTimeout
                  : r.status.code() == gs::Status::Code::kAccessRefused ? gs::cli::kExitAccess
                  : r.status.code() == gs::Status::Code::kRejected      ? gs::cli::kExitRejected
                                                                        : gs::cli::kExitConnection;
      break;
    case gs::Status::Code::kUnconfirmed:
      reporter.Error(gs::mq::PublishSummary(r));
      exit_code = gs::cli::kExitUnconfirmed;
      break;
    case gs::Status::Code::kInterrupted:
      reporter.Error("interrupted: " + gs::mq::PublishSummary(r));
      exit_code = gs::cli::kExitInterrupted;
      break;
    default:
      exit_code = gs::stream::ExitCodeFor(r.status, r.source_errors, &reporter);
      if (!r.status.ok())
        reporter.Error(gs::mq::PublishSummary(r));  // --strict
      break;
  }
  if (o.input.stats) {
    stats.records_in = r.read - reporter.bad_lines();
    stats.records_out = r.listen ? r.sent : r.confirmed;
    stats.bytes_in = r.bytes_in;
    stats.boms_skipped = r.boms_skipped;
    fmt::print(
        stderr, "{}\n",
        stats.ToJson(
            reporter,
            fmt::format(
                ",\"read\":{},\"skipped\":{},\"sent\":{},\"confirmed\":{},"
                "\"refused\":{},\"unconfirmed\":{}",
                r.read, r.skipped, r.sent, r.confirmed, r.refused,
                r.unconfirmed())));
  }
  return exit_code;
}
