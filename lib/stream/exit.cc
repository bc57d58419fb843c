#include "stream/exit.h"

#include "cli/spec.h"

namespace govstream::stream {

int ExitCodeFor(const Status& status, uint64_t source_errors, io::Reporter* reporter) {
  switch (status.code()) {
    case Status::Code::kBrokenPipe:
      return cli::kExitOk;
    case Status::Code::kInterrupted:
      return cli::kExitInterrupted;
    case Status::Code::kDataError:
      return cli::kExitData;
    case Status::Code::kIoError:
      reporter->Error(status.message());
      return cli::kExitIo;
    case Status::Code::kInvalidArgument:  // found late: a key file's contents, say
      reporter->Error(status.message());
      return cli::kExitUsage;
    case Status::Code::kBadState:
      reporter->Error(status.message());
      return cli::kExitState;
    case Status::Code::kBusy:
      reporter->Error(status.message());
      return cli::kExitBusy;
    default:
      break;
  }
  if (source_errors > 0) return cli::kExitIo;
  if (reporter->total() > 0) return cli::kExitSkipped;
  return cli::kExitOk;
}

}  // namespace govstream::stream
