// libFuzzer target: recovery of mq-broker's durable store (lib/mq/store.h).
// The input becomes the one segment file of a fresh data directory (with the
// segment magic put in front when the first byte is odd, so that the fuzzer
// reaches the records quickly), which Store::Open then recovers. Arbitrary
// bytes must never crash, hang or return a record that failed its checksum.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "io/report.h"
#include "mq/store.h"

namespace gm = govstream::mq;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/fuzz-segment-XXXXXX";
    return std::string(mkdtemp(tmpl));
  }();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directory(dir);
  std::string bytes;
  if (size > 0 && (data[0] & 1)) bytes.assign("gsmqlog\x01", 8);
  if (size > 0) bytes.append(reinterpret_cast<const char*>(data) + 1, size - 1);
  int fd = ::open((dir + "/00000000000000000001.seg").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) std::abort();
  if (::write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) std::abort();
  ::close(fd);
  govstream::io::Reporter reporter("fuzz_segment", 0);
  std::unique_ptr<gm::Store> store;
  gm::Recovery rec;
  gm::StoreOptions o{.dir = dir, .fsync = gm::FsyncMode::kNever, .segment_bytes = 1 << 20};
  if (gm::Store::Open(o, &reporter, &store, &rec).ok()) {
    for (const gm::Recovery::Message& m : rec.messages) {
      if (!m.message || m.queue_id == 0) std::abort();
    }
  }
  return 0;
}
