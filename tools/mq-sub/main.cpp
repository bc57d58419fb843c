// mq-sub: subscribe to topics or consume a queue through mq-broker. Options
// come from cli::MqSubSpec(); the work is mq::RunSubscribe().
#include <fmt/core.h>
#include <unistd.h>

#include <string>

#include "cli/args.h"
#include "cli/programs.h"
#include "io/output.h"
#include "io/report.h"
#include "io/signals.h"
#include "mq/publish.h"
#include "mq/subscribe.h"
#include "mq/topic.h"
#include "mq/transport.h"

namespace gs = govstream;

namespace {

int Usage(const std::string& message) { return gs::cli::UsageError(gs::cli::MqSubSpec(), message); }

}  // namespace

int main(int argc, char** argv) {
  gs::cli::ParseResult parsed = gs::cli::Parse(gs::cli::MqSubSpec(), argc, argv);
  if (parsed.exit_now) return parsed.exit_code;
  const gs::cli::Args& args = parsed.args;

  gs::mq::SubscribeOptions o;
  o.patterns = args.strs("topic");
  if (o.patterns.empty()) return Usage("give at least one --topic PATTERN (e.g. 'alerts.#')");
  if (o.patterns.size() > 255) return Usage("at most 255 --topic patterns");
  for (const std::string& p : o.patterns) {
    gs::mq::Pattern parsed_pattern;
    gs::Status s = gs::mq::Pattern::Parse(p, &parsed_pattern);
    if (!s.ok()) return Usage("--topic: " + s.message());
  }
  o.queue = args.str("queue").value_or("");
  if (!o.queue.empty()) {
    gs::Status s = gs::mq::ValidateTopic(o.queue);
    if (!s.ok()) return Usage("--queue: " + s.message());
  }
  if (gs::Status s = gs::mq::ClientOptionsFromArgs(args, &o.client); !s.ok()) return Usage(s.message());
  o.direct = args.str("direct").value_or("");
  if (!o.direct.empty()) {
    gs::Status s = gs::mq::ValidateEndpoint(o.direct);
    if (!s.ok()) return Usage(s.message());
  }
  if (!o.direct.empty() && !o.queue.empty()) return Usage("--direct has no queues (there is no broker)");
  o.name = args.str("name").value_or(gs::mq::DefaultPublisherId());
  o.count = args.count("count", 0);
  if (args.has("count") && o.count == 0) {
    return Usage(
        "--count must be at least 1 (without -c, mq-sub takes messages until "
        "stopped)");
  }
  o.idle_timeout_ms = args.duration_ms("timeout", 0);
  if (args.has("timeout") && o.idle_timeout_ms == 0) return Usage("--timeout must be greater than 0");
  o.envelope = args.flag("envelope");
  o.declare_only = args.flag("declare");
  if (o.declare_only && o.queue.empty()) return Usage("--declare needs --queue NAME");
  uint64_t prefetch = args.count("prefetch", o.prefetch);
  if (prefetch == 0 || prefetch > 1000000) return Usage("--prefetch must be between 1 and 1000000");
  o.prefetch = static_cast<uint32_t>(prefetch);
  o.line_buffered = args.flag("line-buffered");
  o.stats = args.flag("stats");

  gs::io::InstallSignalHandlers();
  gs::mq::TuneAllocatorForBatches();
  gs::io::EnlargePipe(STDOUT_FILENO);
  gs::io::OutputWriter out(STDOUT_FILENO);
  o.output_fd = STDOUT_FILENO;
  gs::io::Reporter reporter("mq-sub");
  gs::mq::SubscribeResult r = gs::mq::RunSubscribe(o, &out, &reporter);
  switch (r.status.code()) {
    case gs::Status::Code::kOk:
      return r.bad > 0 ? gs::cli::kExitSkipped : gs::cli::kExitOk;
    case gs::Status::Code::kBrokenPipe:
      return gs::cli::kExitOk;
    case gs::Status::Code::kInterrupted:
      return gs::cli::kExitInterrupted;
    case gs::Status::Code::kTimeout:
      reporter.Error(r.status.message());
      return gs::cli::kExitTimeout;
    case gs::Status::Code::kIoError:
      reporter.Error(r.status.message());
      return gs::cli::kExitIo;
    case gs::Status::Code::kAccessRefused:
      reporter.Error(r.status.message());
      return gs::cli::kExitAccess;
    case gs::Status::Code::kRejected:
      reporter.Error(r.status.message());
      return gs::cli::kExitRejected;
    case gs::Status::Code::kInvalidArgument:  // a key file's contents, found at connect
      reporter.Error(r.status.message());
      return gs::cli::kExitUsage;
    default:
      reporter.Error(r.status.message());
      return gs::cli::kExitConnection;
  }
}
