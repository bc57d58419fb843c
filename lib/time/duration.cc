#include "time/duration.h"

#include <limits>

namespace govstream::time {
namespace {

struct Unit {
  std::string_view name;
  int64_t ms;
};
// Longest names first so "ms" wins over "m".
constexpr Unit kUnits[] = {{"ms", 1},       {"s", 1000},     {"m", 60'000},
                           {"h", 3'600'000}, {"d", 86'400'000}};

}  // namespace

std::optional<int64_t> ParseDurationMs(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return std::nullopt;
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.substr(i, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return std::nullopt;
    i += unit->name.size();
    if (n > std::numeric_limits<int64_t>::max() / unit->ms) return std::nullopt;
    int64_t part = n * unit->ms;
    if (total > std::numeric_limits<int64_t>::max() - part) return std::nullopt;
    total += part;
  }
  return total;
}

std::string FormatDurationMs(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out.push_back('-');
    ms = -ms;
  }
  for (int u = 4; u >= 0; --u) {
    int64_t n = ms / kUnits[u].ms;
    if (n > 0) {
      out += std::to_string(n);
      out += kUnits[u].name;
      ms -= n * kUnits[u].ms;
    }
  }
  return out;
}

}  // namespace govstream::time
