// parse_ceiling: the simdjson parse ceiling for NDJSON on this machine.
//
// usage: parse-ceiling ondemand|dom FIELD [FILE]     (no FILE or '-': stdin)
//
// The least work a line-by-line JSON filter can do: read the input in large
// read() blocks into one reusable buffer (uninitialised, with
// SIMDJSON_PADDING slack after it), find each line with memchr, parse the line
// in place, read one field, and move on. No per-line allocation, no output
// apart from a one-line summary on stdout.
//
//   ondemand  simdjson On-Demand: stage 1 (structural index) over the line,
//             then walks only as far as FIELD. Everything after FIELD is
//             never checked, so a malformed tail goes unnoticed. This is the
//             "parse ceiling" of the benchmark issue.
//   dom       simdjson DOM: stage 1 + stage 2 over the whole line -- the full
//             validation (structure, strings, numbers, UTF-8) that a filter
//             needs to report every malformed line -- then reads FIELD from
//             the tape. The "validating ceiling".
//
// FIELD may be dotted (client.country) to reach into nested objects. A
// number field adds to a checksum, a string adds its length; the checksum
// keeps the compiler from dropping the work. Malformed lines and lines
// without FIELD are counted, not fatal.
#include <fcntl.h>
#include <unistd.h>

#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#define PC_STR2(x) #x
#define PC_STR(x) PC_STR2(x)

namespace {

constexpr size_t kReadBytes = 1u << 20;  // one read() call

struct Totals {
  uint64_t lines = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;   // parse errors or missing/odd-typed field
  double checksum = 0;
};

std::vector<std::string> SplitPath(std::string_view field) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = field.find('.', start);
    parts.emplace_back(field.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

class OnDemand {
 public:
  explicit OnDemand(std::vector<std::string> path) : path_(std::move(path)) {}
  // `line` is followed by at least SIMDJSON_PADDING readable bytes.
  void Line(const char* line, size_t len, Totals* t) {
    simdjson::ondemand::document doc;
    if (parser_.iterate(line, len, len + simdjson::SIMDJSON_PADDING).get(doc)) { ++t->errors; return; }
    simdjson::ondemand::value v;
    if (doc.find_field_unordered(path_[0]).get(v)) { ++t->errors; return; }
    for (size_t i = 1; i < path_.size(); ++i) {
      if (v.find_field_unordered(path_[i]).get(v)) { ++t->errors; return; }
    }
    simdjson::ondemand::json_type type;
    if (v.type().get(type)) { ++t->errors; return; }
    if (type == simdjson::ondemand::json_type::number) {
      double d;
      if (v.get_double().get(d)) { ++t->errors; return; }
      t->checksum += d;
    } else if (type == simdjson::ondemand::json_type::string) {
      std::string_view s;
      if (v.get_string().get(s)) { ++t->errors; return; }
      t->checksum += double(s.size());
    } else {
      ++t->errors;
    }
  }

 private:
  simdjson::ondemand::parser parser_;
  std::vector<std::string> path_;
};

class Dom {
 public:
  explicit Dom(std::vector<std::string> path) : path_(std::move(path)) {}
  void Line(const char* line, size_t len, Totals* t) {
    simdjson::dom::element e;
    if (parser_.parse(line, len, /*realloc_if_needed=*/false).get(e)) { ++t->errors; return; }
    for (const std::string& key : path_) {
      if (e[key].get(e)) { ++t->errors; return; }
    }
    if (e.is_number()) {
      t->checksum += double(e.get_double().value_unsafe());
    } else if (e.is_string()) {
      t->checksum += double(e.get_string_length().value_unsafe());
    } else {
      ++t->errors;
    }
  }

 private:
  simdjson::dom::parser parser_;
  std::vector<std::string> path_;
};

// Reads fd to the end in large blocks and calls sink.Line() for every line
// (without its '\n'; a trailing '\r' is dropped, blank lines skipped).
template <class Sink>
bool ReadLines(int fd, Sink& sink, Totals* t) {
  size_t cap = 4 * kReadBytes;
  // Uninitialised on purpose: zero-filling a big buffer costs start-up time.
  std::unique_ptr<char[]> buf(new char[cap + simdjson::SIMDJSON_PADDING]);
  size_t begin = 0, end = 0;  // unconsumed bytes: [begin, end)
  bool eof = false;
  while (!eof) {
    if (cap - end < kReadBytes) {  // make room: move the partial line to the front
      size_t keep = end - begin;
      if (cap - keep < kReadBytes) {
        size_t ncap = 2 * cap;
        while (ncap - keep < kReadBytes) ncap *= 2;
        std::unique_ptr<char[]> nbuf(new char[ncap + simdjson::SIMDJSON_PADDING]);
        std::memcpy(nbuf.get(), buf.get() + begin, keep);
        buf = std::move(nbuf);
        cap = ncap;
      } else {
        std::memmove(buf.get(), buf.get() + begin, keep);
      }
      begin = 0;
      end = keep;
    }
    ssize_t n = read(fd, buf.get() + end, kReadBytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("parse-ceiling: read");
      return false;
    }
    if (n == 0) {
      eof = true;
      if (begin == end) break;
      buf[end++] = '\n';  // final line without a newline (room: padding slack)
    } else {
      t->bytes += size_t(n);
      end += size_t(n);
    }
    char* base = buf.get();
    while (begin < end) {
      char* nl = static_cast<char*>(std::memchr(base + begin, '\n', end - begin));
      if (nl == nullptr) break;
      size_t len = size_t(nl - (base + begin));
      if (len > 0 && base[begin + len - 1] == '\r') --len;
      if (len > 0) {
        ++t->lines;
        sink.Line(base + begin, len, t);
      }
      begin = size_t(nl - base) + 1;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: parse-ceiling ondemand|dom FIELD [FILE]\n");
    return 2;
  }
  std::string mode = argv[1];
  std::vector<std::string> path = SplitPath(argv[2]);
  int fd = 0;
  if (argc == 4 && std::strcmp(argv[3], "-") != 0) {
    fd = open(argv[3], O_RDONLY);
    if (fd < 0) {
      std::perror(argv[3]);
      return 4;
    }
  }
  Totals t;
  auto t0 = std::chrono::steady_clock::now();
  bool ok;
  if (mode == "ondemand") {
    OnDemand sink(path);
    ok = ReadLines(fd, sink, &t);
  } else if (mode == "dom") {
    Dom sink(path);
    ok = ReadLines(fd, sink, &t);
  } else {
    std::fprintf(stderr, "parse-ceiling: mode must be ondemand or dom\n");
    return 2;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "{\"mode\":\"%s\",\"implementation\":\"%s\",\"lines\":%llu,\"bytes\":%llu,\"errors\":%llu,"
      "\"checksum\":%.3f,\"seconds\":%.6f,\"MBps\":%.1f}\n",
      mode.c_str(),
      // On-Demand is inlined from the header, its kernel fixed at compile time
      // (-march); DOM runs in libsimdjson, which picks a kernel at run time.
      mode == "ondemand" ? PC_STR(SIMDJSON_BUILTIN_IMPLEMENTATION)
                         : simdjson::get_active_implementation()->name().c_str(),
      (unsigned long long)t.lines, (unsigned long long)t.bytes, (unsigned long long)t.errors,
      t.checksum, secs, secs > 0 ? double(t.bytes) / 1e6 / secs : 0.0);
  return ok ? 0 : 4;
}
