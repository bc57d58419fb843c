// Unit tests for lib/io's LineReader and OutputWriter over real files and
// pipes.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "io/input.h"
#include "io/output.h"

using govstream::io::LineReader;

namespace {

std::string TempFile(const std::string& content) {
  char name[] = "/tmp/govstream-io-test-XXXXXX";
  int fd = mkstemp(name);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  close(fd);
  return name;
}

struct Seen {
  std::vector<std::string> lines;
  std::vector<uint64_t> too_long;  // line numbers
  std::vector<std::string> errors;
};

Seen ReadAll(std::vector<std::string> sources, size_t max_line, size_t initial_buffer = 4096) {
  LineReader::Options o;
  o.max_line_bytes = max_line;
  o.initial_buffer_bytes = initial_buffer;
  LineReader r(std::move(sources), o);
  Seen seen;
  for (;;) {
    switch (r.Next()) {
      case LineReader::Event::kLine: seen.lines.emplace_back(r.line()); break;
      case LineReader::Event::kTooLong: seen.too_long.push_back(r.line_number()); break;
      case LineReader::Event::kSourceError: seen.errors.push_back(r.message()); break;
      case LineReader::Event::kInterrupted:
      case LineReader::Event::kEnd: return seen;
    }
  }
}

}  // namespace

TEST_CASE("lines split on newlines, CRLF and a missing final newline", "[io]") {
  std::string f = TempFile("a\r\nbb\n\nccc");
  Seen s = ReadAll({f}, 100);
  CHECK(s.lines == std::vector<std::string>{"a", "bb", "", "ccc"});
  std::remove(f.c_str());
}

TEST_CASE("lines longer than the limit are skipped, with their line numbers", "[io]") {
  std::string big(50'000, 'x');
  std::string f = TempFile("short\n" + big + "\nafter\n" + big);
  Seen s = ReadAll({f}, 1000, 4096);
  CHECK(s.lines == std::vector<std::string>{"short", "after"});
  CHECK(s.too_long == std::vector<uint64_t>{2, 4});
  std::remove(f.c_str());
}

TEST_CASE("the buffer grows for lines up to the limit", "[io]") {
  std::string big(100'000, 'y');
  std::string f = TempFile(big + "\nz\n");
  Seen s = ReadAll({f}, 200'000, 4096);
  REQUIRE(s.lines.size() == 2);
  CHECK(s.lines[0] == big);
  CHECK(s.lines[1] == "z");
  std::remove(f.c_str());
}

TEST_CASE("several sources in order, a missing one is reported and skipped", "[io]") {
  std::string a = TempFile("1\n2\n"), b = TempFile("3\n");
  Seen s = ReadAll({a, "/nonexistent/govstream", b}, 100);
  CHECK(s.lines == std::vector<std::string>{"1", "2", "3"});
  REQUIRE(s.errors.size() == 1);
  CHECK(s.errors[0].find("/nonexistent/govstream") != std::string::npos);
  std::remove(a.c_str());
  std::remove(b.c_str());
}

TEST_CASE("reading from a pipe flushes before blocking", "[io]") {
  int p[2];
  REQUIRE(pipe(p) == 0);
  int saved = dup(0);
  dup2(p[0], 0);
  close(p[0]);
  REQUIRE(write(p[1], "x\n", 2) == 2);
  int flushes = 0;
  LineReader::Options o;
  o.before_block = [&] {
    ++flushes;
    // Supply the rest only once the reader is about to block.
    if (flushes == 1) {
      REQUIRE(write(p[1], "y\n", 2) == 2);
      close(p[1]);
    }
  };
  LineReader r({"-"}, o);
  std::vector<std::string> lines;
  while (r.Next() == LineReader::Event::kLine) lines.emplace_back(r.line());
  dup2(saved, 0);
  close(saved);
  CHECK(lines == std::vector<std::string>{"x", "y"});
  CHECK(flushes >= 1);
}

TEST_CASE("OutputWriter reports a closed pipe as BrokenPipe", "[io]") {
  int p[2];
  REQUIRE(pipe(p) == 0);
  close(p[0]);
  signal(SIGPIPE, SIG_IGN);
  govstream::io::OutputWriter w(p[1], 64);
  w.Write("hello\n");
  w.Flush();
  CHECK(w.status().code() == govstream::Status::Code::kBrokenPipe);
  w.Write(std::string(1000, 'x'));  // no-op afterwards, no crash
  close(p[1]);
}
