#include "stream/resume.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <glob.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

#include "base/clock.h"
#include "expr/json.h"
#include "expr/value.h"
#include "io/durable_file.h"

namespace govstream::stream {
namespace {

constexpr std::string_view kFormatName = "govstream-run-state";
constexpr uint64_t kFingerprintBytes = 1024;  // as Filebeat's fingerprint identity

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// FNV-1a of the first `n` bytes of a file (decompressed if gzip); false if
// it has fewer or cannot be read.
bool Fingerprint(const std::string& path, bool gzip, uint64_t n, uint64_t* hash) {
  std::string buf(n, '\0');
  uint64_t got = 0;
  if (gzip) {
    gzFile z = gzopen(path.c_str(), "rb");
    if (!z) return false;
    while (got < n) {
      int r = gzread(z, buf.data() + got, static_cast<unsigned>(n - got));
      if (r <= 0) break;
      got += static_cast<uint64_t>(r);
    }
    gzclose(z);
  } else {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    while (got < n) {
      ssize_t r = ::pread(fd, buf.data() + got, n - got, static_cast<off_t>(got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      got += static_cast<uint64_t>(r);
    }
    ::close(fd);
  }
  if (got < n) return false;
  *hash = io::Fnv1a64(buf);
  return true;
}

struct FileInfo {
  std::string path;
  bool exists = false;
  bool gzip = false;
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0;
};

FileInfo Stat(const std::string& path) {
  FileInfo f;
  f.path = path;
  f.gzip = EndsWith(path, ".gz");
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return f;
  f.exists = true;
  f.dev = st.st_dev;
  f.ino = st.st_ino;
  f.size = static_cast<uint64_t>(st.st_size);
  f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return f;
}

// True if `f` is the file `e` describes (by fingerprint; by device and
// inode only when the file was empty then).
bool IsFile(const RunState::Entry& e, const FileInfo& f) {
  if (!f.exists) return false;
  if (e.fingerprint_bytes == 0) return !f.gzip && f.dev == e.dev && f.ino == e.ino;
  if (!f.gzip && f.size < e.fingerprint_bytes) return false;
  uint64_t h = 0;
  return Fingerprint(f.path, f.gzip, e.fingerprint_bytes, &h) && h == e.fingerprint;
}

// The identity of a plain file now: its first min(size, 1 KiB) bytes.
void Identify(const FileInfo& f, RunState::Entry* e) {
  e->dev = f.dev;
  e->ino = f.ino;
  e->gzip = f.gzip;
  e->fingerprint_bytes = f.gzip ? 0 : std::min(f.size, kFingerprintBytes);
  e->fingerprint = 0;
  if (e->fingerprint_bytes > 0 && !Fingerprint(f.path, false, e->fingerprint_bytes, &e->fingerprint)) {
    e->fingerprint_bytes = 0;
  }
}

// FILE.tmp.PID files left by a run killed while it committed (io/durable_file):
// with the lock held, no other run is writing one.
void RemoveStaleTemporaries(const std::string& path) {
  std::filesystem::path p(path);
  std::filesystem::path dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  const std::string prefix = p.filename().string() + ".tmp.";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
        name.find_first_not_of("0123456789", prefix.size()) == std::string::npos) {
      ::unlink(it->path().c_str());
    }
  }
}

std::vector<std::string> Glob(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t g{};
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  ::globfree(&g);
  return out;
}

// Where rotated generations of `path` may be: PATH.1, PATH.N[.gz] (logrotate),
// PATH-* (dateext), and the --rotated globs.
std::vector<FileInfo> Candidates(const std::string& path, const std::vector<std::string>& rotated) {
  std::set<std::string> names;
  for (const std::string& pattern : {path + ".[0-9]*", path + "-*"}) {
    for (std::string& n : Glob(pattern)) names.insert(std::move(n));
  }
  for (const std::string& pattern : rotated) {
    for (std::string& n : Glob(pattern)) names.insert(std::move(n));
  }
  names.erase(path);
  std::vector<FileInfo> out;
  for (const std::string& n : names) {
    FileInfo f = Stat(n);
    if (f.exists) out.push_back(std::move(f));
  }
  return out;
}

std::string Quote(std::string_view s) {
  std::string q(1, '"');
  q += io::JsonEscape(s);
  q.push_back('"');
  return q;
}

}  // namespace

Status RunState::Open(const ResumeOptions& options, std::string_view program, std::string config,
                      io::Reporter* reporter, std::unique_ptr<RunState>* out) {
  std::unique_ptr<RunState> rs(new RunState());
  rs->options_ = options;
  rs->program_ = std::string(program);
  rs->config_ = std::move(config);
  rs->reporter_ = reporter;
  // The lock is a file beside the state (the state itself is replaced by
  // rename at every commit, so it cannot carry the lock).
  const std::string lock_path = options.path + ".lock";
  rs->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (rs->lock_fd_ < 0) {
    return Status::IoError(fmt::format("cannot open the lock file {} of --state: {}", lock_path, std::strerror(errno)));
  }
  const int64_t deadline = NowMs() + std::max<int64_t>(0, options.wait_ms);
  while (::flock(rs->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return Status::IoError(fmt::format("cannot lock {}: {}", lock_path, std::strerror(errno)));
    }
    if (NowMs() >= deadline) {
      char pid[32] = {};
      (void)::pread(rs->lock_fd_, pid, sizeof pid - 1, 0);
      std::string holder(pid);
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      return Status(Status::Code::kBusy,
                    fmt::format("--state {} is in use by another run{} (waited {} ms for its lock {}; --state-wait)",
                                options.path, holder.empty() ? "" : " (pid " + holder + ")", options.wait_ms,
                                lock_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(rs->lock_fd_, 0) == 0) (void)::pwrite(rs->lock_fd_, pid.data(), pid.size(), 0);
  RemoveStaleTemporaries(options.path);

  std::string text;
  bool existed = false;
  Status s = io::ReadWholeFile(options.path, &text, &existed);
  if (!s.ok()) return s;
  if (existed && !options.reset) {
    s = rs->Load(text);
    if (!s.ok()) return s;
    rs->resumed_ = true;
  }
  *out = std::move(rs);
  return Status::Ok();
}

RunState::~RunState() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Status RunState::Load(const std::string& text) {
  const std::string& name = options_.path;
  auto corrupt = [&](size_t line, const std::string& why) {
    return Status(Status::Code::kBadState, fmt::format(
        "state file {} is corrupt (line {}: {}); it was left as it is: fix or remove it, or give --state-reset to "
        "start afresh",
        name, line, why));
  };
  expr::Arena arena;
  std::string error;
  size_t pos = 0, line_no = 0;
  bool header = false, trailer = false;
  uint64_t entries = 0;
  while (pos < text.size()) {
    size_t line_start = pos;
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) return corrupt(line_no + 1, "truncated (no end line)");
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (trailer) return corrupt(line_no, "data after the end line");
    arena.Reset();
    expr::Value v, m;
    if (!expr::ParseJsonSlow(line, &arena, &v, &error)) return corrupt(line_no, "not valid JSON: " + error);
    if (!v.is_object()) return corrupt(line_no, "not a JSON object");
    if (!header) {
      if (!v.find("format", &m) || !m.is_string() || m.string() != kFormatName) {
        return corrupt(line_no, fmt::format("not a govstream --state file (no \"format\":\"{}\")", kFormatName));
      }
      if (!v.find("version", &m) || !m.is_number()) return corrupt(line_no, "no format version");
      if (m.number() != kRunStateVersion) {
        return Status(Status::Code::kBadState, fmt::format(
            "state file {} has format version {}, this {} reads version {}; it was left as it is", name,
            expr::ToJson(m), program_, kRunStateVersion));
      }
      expr::Value prog, conf, when;
      if (!v.find("program", &prog) || !prog.is_string() || !v.find("config", &conf) || !conf.is_string() ||
          !v.find("committed_at_ms", &when) || !when.is_number()) {
        return corrupt(line_no, "header without program, config or committed_at_ms");
      }
      if (prog.string() != program_) {
        return Status(Status::Code::kBadState, fmt::format(
            "state file {} was made by {}, not {}; it was left as it is (give each program its own --state file)",
            name, prog.string(), program_));
      }
      if (conf.string() != config_) {
        return Status(Status::Code::kBadState, fmt::format(
            "state file {} was made with other options ({}), not these ({}); it was left as it is: give "
            "--state-reset to start afresh with these options",
            name, conf.string(), config_));
      }
      last_commit_ms_ = static_cast<int64_t>(when.number());
      header = true;
      continue;
    }
    if (v.find("end", &m)) {
      expr::Value count, sum;
      if (!v.find("entries", &count) || !count.is_number() || !v.find("checksum", &sum) || !sum.is_string()) {
        return corrupt(line_no, "bad end line");
      }
      if (count.number() != static_cast<double>(entries)) {
        return corrupt(line_no, fmt::format("the end line counts {} entries, the file has {}", expr::ToJson(count),
                                            entries));
      }
      if (sum.string() != fmt::format("{:016x}", io::Fnv1a64(std::string_view(text).substr(0, line_start)))) {
        return corrupt(line_no, "checksum mismatch");
      }
      trailer = true;
      continue;
    }
    ++entries;
    if (v.find("op", &m)) {
      operator_lines_.push_back(expr::ToJson(m));
      continue;
    }
    Entry e;
    expr::Value f;
    if (!v.find("input", &f) || !f.is_string()) return corrupt(line_no, "entry without \"input\" or \"op\"");
    e.input = std::string(f.string());
    if (!v.find("file", &f) || !f.is_string()) return corrupt(line_no, "input without \"file\"");
    e.file = std::string(f.string());
    if (!v.find("fingerprint", &f) || !f.is_string() || f.string().size() != 16) {
      return corrupt(line_no, "input without a 16-digit \"fingerprint\"");
    }
    e.fingerprint = std::strtoull(std::string(f.string()).c_str(), nullptr, 16);
    struct Num {
      const char* name;
      uint64_t* to;
    };
    for (const Num& n : {Num{"dev", &e.dev}, Num{"ino", &e.ino}, Num{"fingerprint_bytes", &e.fingerprint_bytes},
                         Num{"offset", &e.offset}, Num{"lines", &e.lines}}) {
      if (!v.find(n.name, &f) || !f.is_number() || f.number() < 0 || f.number() > 9e15) {
        return corrupt(line_no, fmt::format("input without a number \"{}\"", n.name));
      }
      *n.to = static_cast<uint64_t>(f.number());
    }
    e.gzip = v.find("gzip", &f) && f.kind() == expr::Kind::kTrue;
    entries_.push_back(std::move(e));
  }
  if (!header) return corrupt(line_no, "empty file");
  if (!trailer) return corrupt(line_no, "truncated (no end line)");
  return Status::Ok();
}

std::vector<io::LineReader::Source> RunState::Plan(const std::vector<std::string>& inputs) {
  std::vector<io::LineReader::Source> out;
  planned_.clear();
  plan_inputs_ = inputs.empty() ? std::vector<std::string>{"-"} : inputs;
  auto add = [&](size_t input, const FileInfo& f, uint64_t offset, uint64_t lines, bool current) {
    io::LineReader::Source src;
    src.path = f.path;
    src.offset = offset;
    src.line = lines;
    src.gzip = f.gzip;
    // An incomplete last line of the current file waits for the next run. A
    // rotated file is done with: its last line is read as it is (a cut
    // line is then reported as a bad line), so that the run can move on to
    // the newer files and record its place in the current one.
    src.hold_partial = current;
    out.push_back(src);
    Entry e;
    e.input = plan_inputs_[input];
    e.file = f.path;
    Identify(f, &e);
    e.offset = offset;
    e.lines = lines;
    planned_.push_back({input, e, current});
  };
  for (size_t i = 0; i < plan_inputs_.size(); ++i) {
    const std::string& path = plan_inputs_[i];
    if (path == "-") {  // no offsets; the operator state still persists
      io::LineReader::Source src;
      src.path = "-";
      out.push_back(src);
      Entry e;
      e.input = "-";
      planned_.push_back({i, e, true});
      continue;
    }
    FileInfo now = Stat(path);
    const Entry* prev = nullptr;
    for (const Entry& e : entries_) {
      if (e.input == path) prev = &e;
    }
    if (!prev) {  // first run for this input
      if (!now.exists) {
        io::LineReader::Source src;  // the reader reports it
        src.path = path;
        out.push_back(src);
        Entry e;
        e.input = e.file = path;
        planned_.push_back({i, e, true});
      } else {
        add(i, now, 0, 0, true);
      }
      continue;
    }
    if (prev->file == path && IsFile(*prev, now) && now.size >= prev->offset) {
      add(i, now, prev->offset, prev->lines, true);  // the same file, grown or not
      continue;
    }
    // Rotated, or truncated: find the old file among the rotated ones.
    std::vector<FileInfo> cands = Candidates(path, options_.rotated);
    const FileInfo* old = nullptr;
    for (const FileInfo& c : cands) {
      if (now.exists && c.dev == now.dev && c.ino == now.ino) continue;
      if ((c.gzip || c.size >= prev->offset) && IsFile(*prev, c)) {
        old = &c;
        break;
      }
    }
    const bool truncated = now.exists && now.dev == prev->dev && now.ino == prev->ino && !prev->gzip;
    if (old) {
      if (old->gzip || old->size > prev->offset) add(i, *old, prev->offset, prev->lines, false);
    }
    // Generations newer than the old file (several rotations since the
    // last run), oldest first, read whole.
    std::vector<const FileInfo*> newer;
    const int64_t since = old ? old->mtime_ns : last_commit_ms_ * 1000000;
    for (const FileInfo& c : cands) {
      if (&c == old || (now.exists && c.dev == now.dev && c.ino == now.ino)) continue;
      if (c.mtime_ns > since) newer.push_back(&c);
    }
    std::sort(newer.begin(), newer.end(), [](const FileInfo* a, const FileInfo* b) {
      return a->mtime_ns != b->mtime_ns ? a->mtime_ns < b->mtime_ns : a->path > b->path;  // access.log.2 before .1
    });
    for (const FileInfo* c : newer) add(i, *c, 0, 0, false);
    std::string what;
    if (old) {
      what = fmt::format("{} was {}: finishing {} from byte {}", path,
                         truncated ? "truncated (copytruncate)" : "rotated", old->path, prev->offset);
    } else if (truncated) {
      // The same inode with other content: truncated in place, or deleted and
      // its inode reused by a new file; either way it is read from 0.
      what = fmt::format(
          "{} was truncated, or replaced by a new file with the same inode (now {} bytes, {} had been read; "
          "its first bytes differ): reading it from its start",
          path, now.size, prev->offset);
    } else {
      what = fmt::format(
          "{} is a new file, and the one read before ({} bytes in) was not found among {}.N, {}-* or --rotated: "
          "what it had after byte {} is not read",
          path, prev->offset, path, path, prev->offset);
    }
    for (const FileInfo* c : newer) what += fmt::format(", then {}{}", c->path, c->gzip ? " (compressed)" : "");
    if (old || !newer.empty() || now.exists) what += now.exists ? ", then the new " + path + " from its start" : "";
    // Older generations are not read: they were finished by earlier runs.
    // Said once, with the rotation, for the compressed ones (a plain old
    // generation is the same file an earlier run read).
    std::vector<std::string> skipped;
    for (const FileInfo& c : cands) {
      if (c.gzip && &c != old && std::find(newer.begin(), newer.end(), &c) == newer.end()) skipped.push_back(c.path);
    }
    if (!skipped.empty()) {
      std::sort(skipped.begin(), skipped.end());
      what += fmt::format("; skipped, as finished before: {}{}", skipped.front(),
                          skipped.size() > 1 ? fmt::format(" and {} more compressed", skipped.size() - 1) : "");
    }
    reporter_->Error(what);
    if (now.exists) add(i, now, 0, 0, true);
  }
  return out;
}

namespace {

std::string EntryLine(const RunState::Entry& e) {
  return fmt::format(
      "{{\"input\":{},\"file\":{},\"dev\":{},\"ino\":{},\"fingerprint\":\"{:016x}\",\"fingerprint_bytes\":{},"
      "\"offset\":{},\"lines\":{}{}}}\n",
      Quote(e.input), Quote(e.file), e.dev, e.ino, e.fingerprint, e.fingerprint_bytes, e.offset, e.lines,
      e.gzip ? ",\"gzip\":true" : "");
}

}  // namespace

Status RunState::Commit(const std::vector<io::LineReader::Position>& pos,
                        const std::vector<std::string>& operator_lines) {
  std::string text = fmt::format("{{\"format\":\"{}\",\"version\":{},\"program\":{},\"config\":{},"
                                 "\"committed_at_ms\":{}}}\n",
                                 kFormatName, kRunStateVersion, Quote(program_), Quote(config_), WallMs());
  uint64_t entries = 0;
  for (size_t i = 0; i < plan_inputs_.size(); ++i) {
    if (plan_inputs_[i] == "-") continue;
    // The first of this input's files not read to its end, else the last.
    const Planned* at = nullptr;
    size_t k_at = 0;
    for (size_t k = 0; k < planned_.size() && k < pos.size(); ++k) {
      if (planned_[k].input != i) continue;
      at = &planned_[k];
      k_at = k;
      if (!pos[k].finished) break;
    }
    if (!at) continue;
    Entry e = at->entry;
    if (e.file.empty()) continue;
    if (pos[k_at].opened) {
      e.offset = pos[k_at].offset;
      e.lines = pos[k_at].line;
    }
    // The fingerprint of a file that was short grows with it (the first
    // bytes of a log never change): take more of them while it is the same.
    FileInfo f = Stat(e.file);
    if (f.exists && !f.gzip && f.dev == e.dev && f.ino == e.ino && e.fingerprint_bytes < kFingerprintBytes &&
        f.size > e.fingerprint_bytes) {
      Entry grown = e;
      Identify(f, &grown);
      // Only if the bytes already fingerprinted are the same.
      uint64_t h = 0;
      if (e.fingerprint_bytes == 0 || (Fingerprint(e.file, false, e.fingerprint_bytes, &h) && h == e.fingerprint)) {
        e.fingerprint = grown.fingerprint;
        e.fingerprint_bytes = grown.fingerprint_bytes;
      }
    }
    text += EntryLine(e);
    ++entries;
  }
  // Inputs of earlier runs not given to this one keep their place.
  for (const Entry& e : entries_) {
    if (std::find(plan_inputs_.begin(), plan_inputs_.end(), e.input) != plan_inputs_.end()) continue;
    text += EntryLine(e);
    ++entries;
  }
  for (const std::string& line : operator_lines) {
    text += "{\"op\":";
    text += line;
    text += "}\n";
    ++entries;
  }
  text += fmt::format("{{\"end\":true,\"entries\":{},\"checksum\":\"{:016x}\"}}\n", entries, io::Fnv1a64(text));
  Status s = io::WriteFileAtomically(options_.path, text, options_.before_rename);
  if (!s.ok()) return s;
  state_bytes_ = text.size();
  ++commits_;
  return Status::Ok();
}

Checkpointer::Checkpointer(RunState* state, io::OutputWriter* out, const io::LineReader* reader,
                           std::function<std::vector<std::string>()> operator_lines, int64_t interval_ms)
    : state_(state),
      out_(out),
      positions_(reader == nullptr ? Positions()
                                   : [reader]() -> const std::vector<io::LineReader::Position>& {
                                       return reader->positions();
                                     }),
      operator_lines_(std::move(operator_lines)),
      interval_ms_(interval_ms),
      last_ms_(NowMs()) {}

Status Checkpointer::CommitNow() {
  out_->Flush();
  if (out_->failed()) return Status::Ok();  // nothing further is committed (Finish says why)
  last_ms_ = NowMs();
  return state_->Commit(positions_(), operator_lines_ ? operator_lines_() : std::vector<std::string>{});
}

void Checkpointer::MaybeCommit() {
  if (!error_.ok() || NowMs() - last_ms_ < interval_ms_) return;
  error_ = CommitNow();
}

Status Checkpointer::Finish(const Status& run_status) {
  if (!state_) return Status::Ok();
  if (!error_.ok()) return error_;
  // A run that stopped at a bad line (--strict) or failed to write (its
  // output or --late-output) is not committed: the next run repeats it.
  if (out_->failed() || !(run_status.ok() || run_status.code() == Status::Code::kInterrupted)) return Status::Ok();
  return CommitNow();
}

}  // namespace govstream::stream
