// libFuzzer target: the NDJSON reader. Input = raw bytes of an input file;
// the RecordReader must split, validate and report every line without
// crashing, and serialising each accepted record must not crash either.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "expr/value.h"
#include "io/report.h"
#include "stream/records.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("fuzz", 0);
  if (fd < 0) return 0;
  if (size > 0 && write(fd, data, size) != static_cast<ssize_t>(size)) {
    close(fd);
    return 0;
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  govstream::io::Reporter reporter("fuzz", 0);
  govstream::stream::RecordReader::Options options;
  options.max_line_bytes = 4096;  // exercise the too-long path too
  govstream::stream::RecordReader reader({path}, options, &reporter);
  while (reader.Next()) {
    (void)govstream::expr::ToJson(reader.value());
  }
  close(fd);
  return 0;
}
