// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI,
// ext4 and leveldb. Crc32c("123456789") == 0xE3069283.
//
// Uses the SSE4.2 crc32 instruction when the build targets it
// (-march=native on x86-64), else a table. Thread-safe, no allocation.
#ifndef GOVSTREAM_BASE_CRC32C_H_
#define GOVSTREAM_BASE_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace govstream {

// Extends `crc` (0 for a fresh checksum) over n bytes.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }

}  // namespace govstream

#endif  // GOVSTREAM_BASE_CRC32C_H_
