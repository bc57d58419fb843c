// Client::Connect picks the backend by the endpoint's scheme; the option
// checks that go with it.
#include "mq/client.h"

#include "cli/args.h"
#include "mq/transport.h"

namespace govstream::mq {

bool IsAmqpEndpoint(std::string_view endpoint) {
  return endpoint.substr(0, 7) == "amqp://" || endpoint.substr(0, 8) == "amqps://";
}

Status ValidateClientOptions(const ClientOptions& o) {
  if (!IsAmqpEndpoint(o.endpoint)) {
    Status s = ValidateEndpoint(o.endpoint);
    if (!s.ok()) {
      return Status::InvalidArgument(s.message() + " (or amqp://USER:PASS@HOST:PORT/VHOST for RabbitMQ)");
    }
    struct AmqpOnly {
      const char* flag;
      const std::string* value;
    };
    for (const AmqpOnly& a : {AmqpOnly{"--exchange", &o.exchange}, AmqpOnly{"--queue-type", &o.queue_type},
                              AmqpOnly{"--credentials", &o.credentials_file}, AmqpOnly{"--tls-ca", &o.tls_ca},
                              AmqpOnly{"--tls-cert", &o.tls_cert}, AmqpOnly{"--tls-key", &o.tls_key}}) {
      if (!a.value->empty()) {
        return Status::InvalidArgument(std::string(a.flag) + " needs an amqp:// or amqps:// --broker (mq-broker has "
                                       "one topic space and no queue types or passwords)");
      }
    }
    if (o.curve_key.empty() != o.server_key.empty()) {
      return Status::InvalidArgument("--curve-key and --server-key go together (this client's secret key file, and "
                                     "the broker's public key)");
    }
    return Status::Ok();
  }
  if (!o.curve_key.empty() || !o.server_key.empty()) {
    return Status::InvalidArgument("--curve-key and --server-key are for mq-broker (tcp://, ipc://); RabbitMQ "
                                   "connections are encrypted with amqps:// and --tls-ca");
  }
  const bool tls = o.endpoint.substr(0, 8) == "amqps://";
  if (!tls && (!o.tls_ca.empty() || !o.tls_cert.empty() || !o.tls_key.empty())) {
    return Status::InvalidArgument("--tls-ca, --tls-cert and --tls-key need an amqps:// --broker");
  }
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return Status::InvalidArgument("--tls-cert and --tls-key go together");
  }
  if (!o.queue_type.empty() && o.queue_type != "classic" && o.queue_type != "quorum" && o.queue_type != "stream") {
    return Status::InvalidArgument("--queue-type must be classic, quorum or stream, not '" + o.queue_type + "'");
  }
  return ValidateAmqpUrl(o.endpoint);
}

Status ClientOptionsFromArgs(const cli::Args& args, ClientOptions* o) {
  o->endpoint = args.str("broker").value_or(o->endpoint);
  o->connect_timeout_ms = args.duration_ms("connect-timeout", o->connect_timeout_ms);
  o->exchange = args.str("exchange").value_or("");
  if (args.has("exchange") && o->exchange.empty()) return Status::InvalidArgument("--exchange must not be empty");
  o->queue_type = args.has("queue-type") ? args.str("queue-type").value_or("") : "";
  o->credentials_file = args.str("credentials").value_or("");
  o->tls_ca = args.str("tls-ca").value_or("");
  o->tls_cert = args.str("tls-cert").value_or("");
  o->tls_key = args.str("tls-key").value_or("");
  o->curve_key = args.str("curve-key").value_or("");
  o->server_key = args.str("server-key").value_or("");
  return ValidateClientOptions(*o);
}

Status Client::Connect(const ClientOptions& options, std::unique_ptr<Client>* out) {
  return IsAmqpEndpoint(options.endpoint) ? ConnectAmqp(options, out) : ConnectZmq(options, out);
}

}  // namespace govstream::mq
