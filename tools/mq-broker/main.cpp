// mq-broker: the message broker. Options come from cli::MqBrokerSpec(); the
// work is mq::Broker.
#include <fmt/core.h>

#include <memory>
#include <string>

#include "cli/args.h"
#include "cli/programs.h"
#include "io/report.h"
#include "io/signals.h"
#include "mq/broker.h"
#include "mq/keys.h"
#include "mq/transport.h"

namespace gs = govstream;

namespace {

int Usage(const std::string& message) { return gs::cli::UsageError(gs::cli::MqBrokerSpec(), message); }

}  // namespace

int main(int argc, char** argv) {
  gs::cli::ParseResult parsed = gs::cli::Parse(gs::cli::MqBrokerSpec(), argc, argv);
  if (parsed.exit_now) return parsed.exit_code;
  const gs::cli::Args& args = parsed.args;
  gs::io::Reporter reporter("mq-broker");

  if (auto file = args.str("gen-key")) {
    std::string name = *file;
    if (size_t slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
    if (size_t dot = name.find('.'); dot != std::string::npos && dot > 0) name.resize(dot);
    gs::Status s = gs::mq::GenerateKeyFiles(*file, name);
    if (!s.ok()) {
      reporter.Error(s.message());
      return s.code() == gs::Status::Code::kInvalidArgument ? gs::cli::kExitUsage : gs::cli::kExitIo;
    }
    reporter.Error(fmt::format("wrote {} (secret key, mode 0600) and {}.pub (public key) for '{}'", *file, *file, name));
    return gs::cli::kExitOk;
  }

  gs::mq::BrokerOptions o;
  struct {
    const char* option;
    std::string* value;
  } endpoints[] = {{"listen", &o.listen}, {"sub-listen", &o.sub_listen}, {"pub-listen", &o.pub_listen},
                   {"push-listen", &o.push_listen}};
  for (auto& e : endpoints) {
    if (auto v = args.str(e.option)) *e.value = *v;
    if (*e.value == "none" && e.value != &o.listen) {
      e.value->clear();
      continue;
    }
    gs::Status s = gs::mq::ValidateEndpoint(*e.value);
    if (!s.ok()) return Usage(fmt::format("--{}: {}", e.option, s.message()));
  }
  o.stats_interval_ms = args.duration_ms("stats-interval", o.stats_interval_ms);
  o.heartbeat_ms = args.duration_ms("heartbeat", o.heartbeat_ms);
  o.max_queue_bytes = args.count("max-queue-bytes", o.max_queue_bytes);
  o.max_queue_messages = args.count("max-queue-messages", o.max_queue_messages);
  o.max_message_bytes = args.count("max-message-bytes", o.max_message_bytes);
  o.subscriber_buffer_bytes = args.count("subscriber-buffer", o.subscriber_buffer_bytes);
  o.stall_timeout_ms = args.duration_ms("stall-timeout", o.stall_timeout_ms);
  if (o.stall_timeout_ms <= 0) return Usage("--stall-timeout must be greater than 0");
  o.verbose = args.flag("verbose");
  if (auto v = args.str("data-dir")) {
    o.data_dir = *v;
    if (o.data_dir.empty()) return Usage("--data-dir: empty path");
  }
  if (auto v = args.str("fsync")) {
    if (!gs::mq::ParseFsyncMode(*v, &o.fsync)) return Usage("--fsync must be batch, always or never");
    if (o.data_dir.empty()) return Usage("--fsync needs --data-dir");
  }
  o.segment_bytes = args.count("segment-size", o.segment_bytes);
  o.queue_memory = args.count("queue-memory", o.queue_memory);
  if (o.queue_memory < 65536) return Usage("--queue-memory must be at least 64K");
  if (o.segment_bytes < 4096) return Usage("--segment-size must be at least 4K");
  if (o.heartbeat_ms <= 0) return Usage("--heartbeat must be greater than 0");
  if (o.stats_interval_ms <= 0) return Usage("--stats-interval must be greater than 0");
  if (o.max_message_bytes == 0 || o.max_message_bytes > (1ull << 30)) {
    return Usage("--max-message-bytes must be between 1 and 1G");
  }

  o.security.curve_key = args.str("curve-key").value_or("");
  o.security.authorized_keys = args.str("authorized-keys").value_or("");
  o.security.acl = args.str("acl").value_or("");

  gs::io::InstallSignalHandlers();
  gs::io::InstallReloadHandler();
  gs::mq::TuneAllocatorForBatches();
  std::unique_ptr<gs::mq::Broker> broker;
  gs::Status s = gs::mq::Broker::Create(o, &reporter, &broker);
  if (!s.ok()) {
    reporter.Error(s.message());
    switch (s.code()) {
      case gs::Status::Code::kIoError: return gs::cli::kExitIo;
      case gs::Status::Code::kInvalidArgument: return gs::cli::kExitUsage;
      default: return gs::cli::kExitConnection;
    }
  }
  std::string listening;
  for (const std::string& e : broker->Endpoints()) listening += (listening.empty() ? "" : ", ") + e;
  reporter.Error("listening: " + listening);
  s = broker->Run();
  if (!s.ok()) {
    reporter.Error(s.message());
    return gs::cli::kExitConnection;
  }
  return gs::cli::kExitOk;
}
