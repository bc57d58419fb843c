#include "io/report.h"

#include <fmt/core.h>
#include <unistd.h>

#include <cstdio>

namespace govstream::io {

void Reporter::Report(Problem kind, std::string_view source, uint64_t line, std::string_view reason) {
  ++counts_[static_cast<int>(kind)];
  if (shown_ < max_shown_) {
    ++shown_;
    if (before_print_) before_print_();
    fmt::print(stderr, "{}: {}:{}: {}\n", program_, source, line, reason);
  }
}

void Reporter::Error(std::string_view message) {
  ++errors_;
  if (before_print_) before_print_();
  fmt::print(stderr, "{}: {}\n", program_, message);
}

void Reporter::Finish() {
  if (total() == 0) return;
  if (before_print_) before_print_();
  std::string parts;
  auto add = [&](Problem p, std::string_view what) {
    if (count(p) == 0) return;
    if (!parts.empty()) parts += ", ";
    parts += fmt::format("{} {}", count(p), what);
  };
  add(Problem::kInvalidJson, "invalid JSON");
  add(Problem::kTooLong, "too long");
  add(Problem::kEvalError, count(Problem::kEvalError) == 1 ? "evaluation error" : "evaluation errors");
  uint64_t hidden = total() - shown_;
  fmt::print(stderr, "{}: skipped {} input line{} ({}){}\n", program_, total(),
             total() == 1 ? "" : "s", parts,
             hidden > 0 ? fmt::format("; {} not shown above", hidden) : "");
}

std::string Stats::ToJson(const Reporter& reporter, std::string_view extra) const {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double rps = secs > 0 ? static_cast<double>(records_in) / secs : 0;
  double mbps = secs > 0 ? static_cast<double>(bytes_in) / secs / 1e6 : 0;
  return fmt::format(
      "{{\"program\":\"{}\",\"records_in\":{},\"records_out\":{},\"bad_lines\":{},"
      "\"eval_errors\":{},\"bytes_in\":{},\"bom_skipped\":{},\"seconds\":{:.6f},\"records_per_sec\":{:.1f},"
      "\"mb_per_sec\":{:.3f}{}}}",
      JsonEscape(reporter.program()), records_in, records_out, reporter.bad_lines(),
      reporter.eval_errors(), bytes_in, boms_skipped, secs, rps, mbps, extra);
}

Progress::Progress(bool enabled) : active_(enabled && isatty(STDERR_FILENO)) {}

void Progress::Done(uint64_t bytes, uint64_t total, bool total_known, uint64_t records) {
  if (active_) Draw(bytes, total, total_known, records, true);
}

void Progress::Draw(uint64_t bytes, uint64_t total, bool total_known, uint64_t records, bool final) {
  auto now = std::chrono::steady_clock::now();
  if (!final && now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rps = secs > 0 ? static_cast<double>(records) / secs : 0;
  double bps = secs > 0 ? static_cast<double>(bytes) / secs : 0;
  std::string line = fmt::format("{:.1f} MB  {:.0f} rec/s  {:.1f} MB/s", bytes / 1e6, rps, bps / 1e6);
  if (total_known && total > 0) {
    double pct = 100.0 * static_cast<double>(bytes) / static_cast<double>(total);
    double eta = bps > 0 ? static_cast<double>(total - std::min(bytes, total)) / bps : 0;
    line += fmt::format("  {:.1f}%  ETA {:.0f}s", pct, eta);
  }
  fmt::print(stderr, "\r\x1b[K{}{}", line, final ? "\n" : "");
  std::fflush(stderr);
}

std::string JsonArray(const std::vector<std::string>& strings) {
  std::string out = "[";
  for (size_t i = 0; i < strings.size(); ++i) {
    if (i != 0) out += ',';
    out += '"';
    out += JsonEscape(strings[i]);
    out += '"';
  }
  out += ']';
  return out;
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace govstream::io
