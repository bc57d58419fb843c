// Internal: the pieces of a saved aggregate state (--state, docs/run-state.md).
// Each State's Save() appends one JSON value built from these, and Load()
// reads it back with the matching Read* functions, which return false on a
// value of the wrong shape (never throw). Doubles are written so that they
// read back bit for bit: the shortest decimal that round-trips, or the
// strings "inf", "-inf" and "nan". Integers are exact up to 2^53.
#ifndef GOVSTREAM_AGG_CODEC_H_
#define GOVSTREAM_AGG_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "expr/value.h"

namespace govstream::agg::codec {

void AppendDouble(double d, std::string* out);
bool ReadDouble(const expr::Value& v, double* d);

void AppendU64(uint64_t n, std::string* out);
// An integral number in [0, 2^53].
bool ReadU64(const expr::Value& v, uint64_t* n);

// A signed integer in [-2^62, 2^62] (window times and their sentinels,
// exact while within 2^53 or a power of two).
void AppendI64(int64_t n, std::string* out);
bool ReadI64(const expr::Value& v, int64_t* n);
bool ReadBool(const expr::Value& v, bool* b);

// A JSON string holding `s` (any bytes that are valid UTF-8 JSON text).
void AppendString(std::string_view s, std::string* out);
bool ReadString(const expr::Value& v, std::string* s);

// Bytes as a string of lowercase hex digits.
void AppendHex(const void* data, size_t n, std::string* out);
// Exactly `n` bytes from a hex string.
bool ReadHex(const expr::Value& v, void* data, size_t n);

// Member `key` of object `v`.
bool Member(const expr::Value& v, std::string_view key, expr::Value* out);

}  // namespace govstream::agg::codec

#endif  // GOVSTREAM_AGG_CODEC_H_
