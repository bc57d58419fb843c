// The exit status every NDJSON-reading program derives from how its run
// ended (see cli::ExitCode and each man page's EXIT STATUS).
#ifndef GOVSTREAM_STREAM_EXIT_H_
#define GOVSTREAM_STREAM_EXIT_H_

#include <cstdint>

#include "base/status.h"
#include "io/report.h"

namespace govstream::stream {

// BrokenPipe -> 0 (quiet), Interrupted -> 130, DataError -> 3, IoError -> 4,
// InvalidArgument -> 2, BadState -> 9, Busy -> 12 (reported); else 4 if a source could not be read, 1 if input was skipped,
// 0 otherwise.
int ExitCodeFor(const Status& status, uint64_t source_errors, io::Reporter* reporter);

}  // namespace govstream::stream

#endif  // GOVSTREAM_STREAM_EXIT_H_
