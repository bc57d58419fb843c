// Status: the result of an operation that can fail, passed as a value across
// module boundaries (no exceptions leave a module).
//
// A Status is either OK or carries a Code and a human-readable message. The
// message is written for the end user: it names what failed and why, without
// a "program:" prefix (the program's diagnostics add that). Copyable, cheap
// when OK (no allocation). Not thread-safe to mutate concurrently.
#ifndef GOVSTREAM_BASE_STATUS_H_
#define GOVSTREAM_BASE_STATUS_H_

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace govstream {

class Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kInvalidArgument,  // bad option, bad expression (usage error)
    kDataError,        // bad input data (invalid JSON, evaluation error)
    kIoError,          // read/write/open failure
    kBrokenPipe,       // downstream closed: end quietly
    kInterrupted,      // SIGINT/SIGTERM
    kConnection,       // broker unreachable / connection lost
    kUnconfirmed,      // delivery not confirmed
    kTimeout,
    kAccessRefused,    // the broker refused our credentials or permissions
    kRejected,         // the broker refused the set-up (exchange, queue arguments)
    kBadState,         // a --state file is corrupt, of another version, or made with other options
    kBusy,             // a --state file is locked by another run
  };

  Status() = default;
  Status(Code code, std::string message)
      : rep_(code == Code::kOk ? nullptr
                               : std::make_shared<Rep>(Rep{code, std::move(message)})) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status DataError(std::string m) { return {Code::kDataError, std::move(m)}; }
  static Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
  static Status BrokenPipe() { return {Code::kBrokenPipe, "broken pipe"}; }
  static Status Interrupted(std::string m = "interrupted") { return {Code::kInterrupted, std::move(m)}; }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  const std::string& message() const {
    static const std::string kEmpty;
    return rep_ ? rep_->message : kEmpty;
  }

 private:
  struct Rep {
    Code code;
    std::string message;
  };
  std::shared_ptr<const Rep> rep_;
};

}  // namespace govstream

#endif  // GOVSTREAM_BASE_STATUS_H_
