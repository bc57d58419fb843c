// Small files that must survive a crash whole: the --state files.
//
// WriteFileAtomically() writes a temporary file beside `path`, fsyncs it,
// renames it over `path` and fsyncs the directory: a process killed at any
// point leaves either the old file or the new one, never a mix.
// ReadWholeFile() reads a file; *existed is false (and OK) when it is
// missing. Errors are IoError values naming the file.
#ifndef GOVSTREAM_IO_DURABLE_FILE_H_
#define GOVSTREAM_IO_DURABLE_FILE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace govstream::io {

// `before_rename` (may be empty) runs once the temporary file is synced,
// before it replaces `path` (tests kill the program there).
Status WriteFileAtomically(const std::string& path, std::string_view text,
                           const std::function<void(const std::string& tmp_path)>& before_rename = {});

Status ReadWholeFile(const std::string& path, std::string* out, bool* existed);

// FNV-1a, 64 bits: the checksum of state files (detects truncation and
// corruption, not tampering).
uint64_t Fnv1a64(std::string_view bytes, uint64_t h = 14695981039346656037ull);

}  // namespace govstream::io

#endif  // GOVSTREAM_IO_DURABLE_FILE_H_
