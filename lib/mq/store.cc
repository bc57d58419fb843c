#include "mq/store.h"

#include <absl/container/flat_hash_map.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "base/crc32c.h"

namespace govstream::mq {
namespace {

// docs/storage.md: a segment is the magic, then records; a record is
// crc32c(4) length(4) type(1) seq(8) body(length), all little-endian, the
// CRC over everything after itself.
constexpr std::string_view kMagic("gsmqlog\x01", 8);
constexpr size_t kHeader = 17;
constexpr uint64_t kMaxBody = (1ull << 30) + (1u << 16);
constexpr uint64_t kDrainedRollBytes = 1u << 20;  // a drained newest segment this large is replaced
enum RecordType : uint8_t { kQueue = 1, kMessage = 2, kAck = 3, kDelivered = 4 };
constexpr size_t kMessageFixed = 4 + 8 + 8 + 2 + 2;

void Put16(std::string* out, uint16_t v) {
  char b[2] = {static_cast<char>(v), static_cast<char>(v >> 8)};
  out->append(b, 2);
}
void Put32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 4);
}
void Put64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}
uint64_t GetN(const char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Reads a record body field by field; any overrun sets !ok().
class BodyReader {
 public:
  explicit BodyReader(std::string_view b) : b_(b) {}
  uint64_t Int(int n) {
    if (!Need(n)) return 0;
    uint64_t v = GetN(b_.data() + pos_, n);
    pos_ += n;
    return v;
  }
  std::string_view Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string_view v = b_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::string_view Rest() {
    std::string_view v = b_.substr(std::min(pos_, b_.size()));
    pos_ = b_.size();
    return v;
  }
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == b_.size(); }

 private:
  bool Need(size_t n) {
    if (!ok_ || b_.size() - pos_ < n) return ok_ = false;
    return true;
  }
  std::string_view b_;
  size_t pos_ = 0;
  bool ok_ = true;
};

struct RawRecord {
  uint8_t type;
  uint64_t seq;
  std::string_view body;
};

// A whole, checksummed record of a known type at `pos`, or false.
bool RecordAt(std::string_view b, size_t pos, RawRecord* r) {
  if (b.size() - pos < kHeader) return false;
  const char* p = b.data() + pos;
  uint64_t len = GetN(p + 4, 4);
  uint8_t type = static_cast<uint8_t>(p[8]);
  if (type < kQueue || type > kDelivered || len > kMaxBody || len > b.size() - pos - kHeader) return false;
  if (static_cast<uint32_t>(GetN(p, 4)) != Crc32c(p + 4, kHeader - 4 + len)) return false;
  *r = RawRecord{type, GetN(p + 9, 8), std::string_view(p + kHeader, len)};
  return true;
}

// Where the next whole record after a bad one at `pos` starts, or b.size().
size_t NextRecord(std::string_view b, size_t pos) {
  RawRecord r;
  if (b.size() - pos >= kHeader) {  // first where its length field points, if it is intact
    uint64_t end = pos + kHeader + GetN(b.data() + pos + 4, 4);
    if (end <= b.size() && (end == b.size() || RecordAt(b, end, &r))) return end;
  }
  for (size_t q = pos + 1; q + kHeader <= b.size(); ++q) {
    if (RecordAt(b, q, &r)) return q;
  }
  return b.size();
}

struct DecodedMessage {
  uint32_t queue_id = 0;
  uint64_t publisher_seq = 0, ts_us = 0;
  std::string_view publisher, topic, payload;
};

bool DecodeMessage(const RawRecord& r, DecodedMessage* m) {
  BodyReader br(r.body);
  m->queue_id = static_cast<uint32_t>(br.Int(4));
  m->publisher_seq = br.Int(8);
  m->ts_us = br.Int(8);
  uint64_t plen = br.Int(2), tlen = br.Int(2);
  m->publisher = br.Bytes(plen);
  m->topic = br.Bytes(tlen);
  m->payload = br.Rest();
  return br.ok() && m->queue_id != 0;
}

using Publishers = absl::flat_hash_map<std::string, std::shared_ptr<const std::string>>;

Recovery::Message Materialize(const DecodedMessage& d, uint64_t seq, bool redelivered, int64_t now_ns,
                              Publishers* publishers) {
  auto sm = std::make_shared<StoredMessage>();
  sm->seq = d.publisher_seq;
  sm->ts_us = d.ts_us;
  sm->topic = std::string(d.topic);
  sm->payload = std::string(d.payload);
  auto& pub = (*publishers)[absl::string_view(d.publisher.data(), d.publisher.size())];
  if (!pub) pub = std::make_shared<const std::string>(d.publisher);
  sm->publisher = pub;
  sm->received_ns = now_ns;
  return Recovery::Message{.queue_id = d.queue_id, .seq = seq, .redelivered = redelivered, .message = std::move(sm)};
}

struct ScanResult {
  size_t valid_end = 0;  // after the last whole record
  std::vector<std::pair<size_t, size_t>> corrupt;  // offset, bytes skipped
  size_t torn = 0;                                  // bytes of an incomplete last record
  bool bad_magic = false;
};

// Visits every whole record. `newest`: a bad tail with nothing whole after it
// is a torn write (cut off), not corruption.
template <typename Visit>
ScanResult ScanSegment(std::string_view b, bool newest, Visit visit) {
  ScanResult res;
  if (b.size() < kMagic.size() || b.substr(0, kMagic.size()) != kMagic) {
    res.bad_magic = !b.empty();
    return res;
  }
  size_t pos = kMagic.size();
  res.valid_end = pos;
  while (pos < b.size()) {
    RawRecord r;
    if (RecordAt(b, pos, &r)) {
      pos += kHeader + r.body.size();
      if (visit(r)) {
        res.valid_end = pos;
        continue;
      }
      res.corrupt.emplace_back(pos - kHeader - r.body.size(), kHeader + r.body.size());  // checksummed, not ours
      res.valid_end = pos;
      continue;
    }
    size_t next = NextRecord(b, pos);
    if (next == b.size() && newest) {
      res.torn = b.size() - pos;
      break;
    }
    res.corrupt.emplace_back(pos, next - pos);
    pos = next;
    res.valid_end = pos;
  }
  return res;
}

std::string Errno(int e) { return std::strerror(e); }

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(fmt::format("cannot open {}: {}", dir, Errno(errno)));
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return Status::IoError(fmt::format("cannot fsync directory {}: {}", dir, Errno(e)));
  return Status::Ok();
}

Status ReadFile(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(fmt::format("cannot open {}: {}", path, Errno(errno)));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::IoError(fmt::format("cannot stat {}: {}", path, Errno(errno)));
  }
  out->resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out->size()) {
    ssize_t n = ::pread(fd, out->data() + got, out->size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out->resize(got);
  return Status::Ok();
}

std::string SegmentName(uint64_t first_seq) { return fmt::format("{:020}.seg", first_seq); }

}  // namespace

// Group commit: one fdatasync covers every write made while the previous
// one ran. The broker's thread requests a position; this thread syncs the
// retired segments (closing them) and the newest, then signals the eventfd.
class Store::Syncer {
 public:
  Syncer(int fd, int wake_fd) : current_(fd), wake_fd_(wake_fd), thread_([this] { Loop(); }) {}
  ~Syncer() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void Request(uint64_t pos, uint64_t records) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (pos <= requested_) return;
      requested_ = pos;
      requested_records_ = records;
    }
    cv_.notify_one();
  }
  // The old segment's data is synced (and it is closed) before `fd` is.
  void Switch(int old_fd, int fd) {
    std::lock_guard<std::mutex> lk(mu_);
    retired_.push_back(old_fd);
    current_ = fd;
  }
  uint64_t synced() const {
    std::lock_guard<std::mutex> lk(mu_);
    return synced_;
  }
  Status error() const {
    std::lock_guard<std::mutex> lk(mu_);
    return error_;
  }
  void Counts(uint64_t* fsyncs, uint64_t* records) const {
    std::lock_guard<std::mutex> lk(mu_);
    *fsyncs = fsyncs_;
    *records = records_synced_;
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      cv_.wait(lk, [&] { return stop_ || !retired_.empty() || (requested_ > synced_ && error_.ok()); });
      if (retired_.empty() && (requested_ <= synced_ || !error_.ok())) {
        if (stop_) break;
        continue;
      }
      uint64_t target = requested_, records = requested_records_;
      int fd = current_;
      std::vector<int> retired;
      retired.swap(retired_);
      lk.unlock();
      int failed = 0;
      for (int r : retired) {
        if (::fdatasync(r) != 0 && failed == 0) failed = errno;
        ::close(r);
      }
      if (target > synced_ && ::fdatasync(fd) != 0 && failed == 0) failed = errno;
      lk.lock();
      if (failed != 0) {
        if (error_.ok()) error_ = Status::IoError("fdatasync failed: " + Errno(failed));
      } else if (target > synced_) {
        synced_ = target;
        ++fsyncs_;
        records_synced_ += records - records_done_;
        records_done_ = records;
      }
      uint64_t one = 1;
      ssize_t n = ::write(wake_fd_, &one, sizeof one);
      (void)n;
    }
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int current_;
  int wake_fd_;
  std::vector<int> retired_;
  uint64_t requested_ = 0, requested_records_ = 0, synced_ = 0;
  uint64_t fsyncs_ = 0, records_synced_ = 0, records_done_ = 0;
  bool stop_ = false;
  Status error_;
  std::thread thread_;
};

const char* FsyncModeName(FsyncMode m) {
  switch (m) {
    case FsyncMode::kBatch: return "batch";
    case FsyncMode::kAlways: return "always";
    case FsyncMode::kNever: return "never";
  }
  return "?";
}

bool ParseFsyncMode(std::string_view text, FsyncMode* out) {
  for (FsyncMode m : {FsyncMode::kBatch, FsyncMode::kAlways, FsyncMode::kNever}) {
    if (text == FsyncModeName(m)) {
      *out = m;
      return true;
    }
  }
  return false;
}

Status Store::WriteAndSync(int64_t timeout_ms) {
  Status s = Write();
  if (!s.ok()) return s;
  s = Sync();
  if (!s.ok()) return s;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (synced() < written_ && sync_error().ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!sync_error().ok()) return sync_error();
  if (synced() < written_) return Status::IoError(fmt::format("fdatasync in {} took over {} ms", options_.dir, timeout_ms));
  return Status::Ok();
}

Store::Store(const StoreOptions& options, io::Reporter* reporter) : options_(options), reporter_(reporter) {}

Store::~Store() {
  if (fd_ >= 0) {
    if (HasPending()) {
      Status s = Write();
      if (!s.ok()) reporter_->Error(s.message());
    }
    if (syncer_) {
      syncer_->Request(written_, records_written_);
      syncer_.reset();  // syncs what was requested, then stops
    } else if (options_.fsync == FsyncMode::kAlways) {
      Status s = Sync();
      if (!s.ok()) reporter_->Error(s.message());
    }
    ::close(fd_);
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

Status Store::Open(const StoreOptions& options, io::Reporter* reporter, std::unique_ptr<Store>* out,
                   Recovery* recovery) {
  std::unique_ptr<Store> st(new Store(options, reporter));
  const std::string& dir = options.dir;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::IoError(fmt::format("cannot create the data directory {}: {}", dir, Errno(errno)));
  }
  struct stat sb;
  if (::stat(dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    return Status::IoError(fmt::format("the data directory {} is not a directory", dir));
  }
  std::string lock_path = dir + "/LOCK";
  st->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (st->lock_fd_ < 0) {
    return Status::IoError(fmt::format("cannot write in the data directory {}: {}", dir, Errno(errno)));
  }
  if (::flock(st->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {0};
    ssize_t n = ::pread(st->lock_fd_, pid, sizeof pid - 1, 0);
    std::string who = n > 0 ? std::string(pid, static_cast<size_t>(n)) : std::string("?");
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    return Status::IoError(fmt::format("the data directory {} is in use by another mq-broker (pid {}); one broker "
                                       "per data directory",
                                       dir, who));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(st->lock_fd_, 0) != 0 || ::pwrite(st->lock_fd_, pid.data(), pid.size(), 0) < 0) {
    return Status::IoError(fmt::format("cannot write in the data directory {}: {}", dir, Errno(errno)));
  }
  // Under `ulimit -f` a write past the limit must fail (EFBIG) and be
  // refused, not kill the broker.
  std::signal(SIGXFSZ, SIG_IGN);
  Status s = st->Recover(recovery);
  if (!s.ok()) return s;
  if (options.fsync == FsyncMode::kBatch) {
    st->wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (st->wake_fd_ < 0) return Status::IoError("eventfd: " + Errno(errno));
    st->syncer_ = std::make_unique<Syncer>(st->fd_, st->wake_fd_);
  }
  *out = std::move(st);
  return Status::Ok();
}

Status Store::Recover(Recovery* rec) {
  auto start = std::chrono::steady_clock::now();
  std::vector<std::pair<uint64_t, std::string>> files;
  DIR* d = ::opendir(options_.dir.c_str());
  if (!d) return Status::IoError(fmt::format("cannot read the data directory {}: {}", options_.dir, Errno(errno)));
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() != 24 || name.substr(20) != ".seg") continue;
    if (name.find_first_not_of("0123456789") != 20) continue;
    files.emplace_back(std::stoull(name.substr(0, 20)), name);
  }
  ::closedir(d);
  std::sort(files.begin(), files.end());

  std::map<uint32_t, Recovery::QueueDef> defs;
  std::string bytes;
  // Pass 1: verify every record; gather the declarations, acknowledgements
  // and delivery marks; cut a torn tail.
  uint64_t last_message_seq = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    Segment seg;
    seg.first_seq = files[i].first;
    next_seq_ = std::max(next_seq_, seg.first_seq + 1);  // a new segment's name is never an old one's
    seg.path = options_.dir + "/" + files[i].second;
    Status s = ReadFile(seg.path, &bytes);
    if (!s.ok()) return s;
    rec->bytes += bytes.size();
    auto visit = [&](const RawRecord& r) {
      next_seq_ = std::max(next_seq_, r.seq + 1);
      BodyReader br(r.body);
      switch (r.type) {
        case kQueue: {
          Recovery::QueueDef q;
          q.id = static_cast<uint32_t>(br.Int(4));
          q.name = std::string(br.Bytes(br.Int(2)));
          uint64_t n = br.Int(2);
          for (uint64_t k = 0; k < n && br.ok(); ++k) q.bindings.emplace_back(br.Bytes(br.Int(2)));
          if (!br.ok() || !br.at_end() || q.id == 0 || q.name.empty()) return false;
          defs[q.id] = std::move(q);
          return true;
        }
        case kMessage: {
          DecodedMessage m;
          if (!DecodeMessage(r, &m) || r.seq <= last_message_seq) return false;  // out of order: not ours
          last_message_seq = r.seq;
          return true;
        }
        case kAck:
          if (r.body.size() % 8 != 0) return false;
          for (size_t k = 0; k < r.body.size(); k += 8) acked_.insert(GetN(r.body.data() + k, 8));
          return true;
        case kDelivered: {
          uint32_t q = static_cast<uint32_t>(br.Int(4));
          uint64_t through = br.Int(8);
          if (!br.ok() || !br.at_end()) return false;
          delivered_[q] = std::max(delivered_[q], through);
          return true;
        }
      }
      return false;
    };
    const bool newest = i + 1 == files.size();
    ScanResult res = ScanSegment(bytes, newest, visit);
    if (res.bad_magic) {
      ++rec->corrupt_records;
      reporter_->Error(fmt::format("{}: not a govstream segment (no header); skipped and left in place", seg.path));
      continue;
    }
    for (auto [offset, skipped] : res.corrupt) {
      ++rec->corrupt_records;
      reporter_->Error(fmt::format("{}: corrupt record at offset {} ({} bytes skipped; the records after it are "
                                   "recovered)",
                                   seg.path, offset, skipped));
    }
    if (res.torn > 0 || bytes.size() < kMagic.size()) {
      rec->torn_bytes += res.torn;
      size_t keep = bytes.size() < kMagic.size() ? 0 : std::max(res.valid_end, kMagic.size());
      if (res.torn > 0) {
        reporter_->Error(fmt::format("{}: cut {} bytes of an incomplete record at offset {} (a write the stop "
                                     "interrupted; it was never confirmed)",
                                     seg.path, res.torn, res.valid_end));
      }
      if (::truncate(seg.path.c_str(), static_cast<off_t>(keep)) != 0) {
        return Status::IoError(fmt::format("cannot truncate {}: {}", seg.path, Errno(errno)));
      }
      bytes.resize(keep);
    }
    seg.bytes = bytes.size();
    segments_.push_back(std::move(seg));
  }
  // Pass 2: the unacknowledged messages, each counted in its segment; held
  // in memory up to queue_memory bytes per queue, the rest left on disk
  // (Recovery::spilled) to be read back by ReadQueue().
  absl::flat_hash_map<std::string, std::shared_ptr<const std::string>> publishers;
  absl::flat_hash_map<uint32_t, uint64_t> resident;
  int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
  last_message_seq = 0;
  for (size_t i = 0; i < segments_.size(); ++i) {
    Segment& seg = segments_[i];
    Status s = ReadFile(seg.path, &bytes);
    if (!s.ok()) return s;
    ScanSegment(bytes, false, [&](const RawRecord& r) {
      DecodedMessage d;
      if (r.type != kMessage || !DecodeMessage(r, &d) || r.seq <= last_message_seq) return true;
      last_message_seq = r.seq;
      if (acked_.contains(r.seq)) return true;
      ++seg.live;
      auto dit = delivered_.find(d.queue_id);
      const bool redelivered = dit != delivered_.end() && r.seq <= dit->second;
      const uint64_t size = d.topic.size() + d.payload.size();
      uint64_t& held = resident[d.queue_id];
      auto sp = rec->spilled.find(d.queue_id);
      if (sp == rec->spilled.end() && held + size <= options_.queue_memory) {
        held += size;
        rec->messages.push_back(Materialize(d, r.seq, redelivered, now_ns, &publishers));
        return true;
      }
      Recovery::Spilled& spill = rec->spilled[d.queue_id];
      if (spill.count++ == 0) spill.from_seq = r.seq;
      spill.bytes += size;
      spill.record_bytes += kHeader + r.body.size();
      return true;
    });
  }
  for (const auto& [id, spill] : rec->spilled) {
    if (!defs.count(id)) rec->messages.push_back(Recovery::Message{.queue_id = id, .seq = 0, .redelivered = false, .message = nullptr});  // named in lost+found below
  }
  // A message whose queue's declaration was lost to corruption is kept, in a
  // queue of its own, never dropped.
  for (const Recovery::Message& m : rec->messages) {
    if (defs.count(m.queue_id)) continue;  // (or a marker for a queue with spilled messages only)
    Recovery::QueueDef q;
    q.id = m.queue_id;
    q.name = fmt::format("lost+found.{}", m.queue_id);
    reporter_->Error(fmt::format("messages of queue id {} whose declaration is lost are kept in queue '{}'",
                                 m.queue_id, q.name));
    defs[q.id] = std::move(q);
  }
  for (auto& [id, q] : defs) {
    if (queues_.size() < id) queues_.resize(id);
    queues_[id - 1] = QueueInfo{q.name, q.bindings};
    rec->queues.push_back(q);
  }
  rec->messages.erase(std::remove_if(rec->messages.begin(), rec->messages.end(),
                                     [](const Recovery::Message& m) { return m.message == nullptr; }),
                      rec->messages.end());
  rec->segments = segments_.size();
  Status s = OpenSegment(next_seq_);
  if (!s.ok()) return s;
  DropAckedSegments();
  rec->elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
                        .count();
  return Status::Ok();
}

Status Store::OpenSegment(uint64_t first_seq) {
  Segment seg;
  seg.first_seq = first_seq;
  seg.path = options_.dir + "/" + SegmentName(first_seq);
  int fd = ::open(seg.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(fmt::format("cannot create {}: {}", seg.path, Errno(errno)));
  std::string head(kMagic);
  table_written_ = false;
  std::string table;
  std::swap(meta_, table);  // the table goes first in the new segment
  AppendQueueTable();
  std::swap(meta_, table);
  head += table;
  ssize_t n = ::pwrite(fd, head.data(), head.size(), 0);
  if (n != static_cast<ssize_t>(head.size())) {
    int e = n < 0 ? errno : ENOSPC;
    ::close(fd);
    ::unlink(seg.path.c_str());
    return Status::IoError(fmt::format("cannot write {}: {}", seg.path, Errno(e)));
  }
  Status s = SyncDir(options_.dir);
  if (!s.ok()) {
    ::close(fd);
    return s;
  }
  seg.bytes = head.size();
  written_ += head.size();
  table_written_ = true;
  if (fd_ >= 0) {
    if (syncer_) {
      syncer_->Switch(fd_, fd);
    } else {
      if (options_.fsync == FsyncMode::kAlways && ::fdatasync(fd_) != 0 && inline_sync_error_.ok()) {
        inline_sync_error_ = Status::IoError(fmt::format("fdatasync {}: {}", segments_.back().path, Errno(errno)));
      }
      ::close(fd_);
    }
  }
  fd_ = fd;
  segments_.push_back(std::move(seg));
  return Status::Ok();
}

void Store::AppendRecord(std::string* buf, uint8_t type, uint64_t seq, std::string_view body) {
  size_t at = buf->size();
  Put32(buf, 0);
  Put32(buf, static_cast<uint32_t>(body.size()));
  buf->push_back(static_cast<char>(type));
  Put64(buf, seq);
  buf->append(body);
  uint32_t crc = Crc32c(buf->data() + at + 4, buf->size() - at - 4);
  for (int i = 0; i < 4; ++i) (*buf)[at + i] = static_cast<char>(crc >> (8 * i));
}

void Store::AppendQueueTable() {
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (queues_[i].name.empty()) continue;
    body_.clear();
    Put32(&body_, static_cast<uint32_t>(i + 1));
    Put16(&body_, static_cast<uint16_t>(queues_[i].name.size()));
    body_ += queues_[i].name;
    Put16(&body_, static_cast<uint16_t>(queues_[i].bindings.size()));
    for (const std::string& b : queues_[i].bindings) {
      Put16(&body_, static_cast<uint16_t>(b.size()));
      body_ += b;
    }
    AppendRecord(&meta_, kQueue, next_seq_++, body_);
  }
}

uint32_t Store::PutQueue(std::string_view name, const std::vector<std::string>& bindings) {
  size_t i = 0;
  while (i < queues_.size() && queues_[i].name != name) ++i;
  if (i == queues_.size()) queues_.push_back(QueueInfo{std::string(name), {}});
  queues_[i].bindings = bindings;
  body_.clear();
  Put32(&body_, static_cast<uint32_t>(i + 1));
  Put16(&body_, static_cast<uint16_t>(name.size()));
  body_ += name;
  Put16(&body_, static_cast<uint16_t>(bindings.size()));
  for (const std::string& b : bindings) {
    Put16(&body_, static_cast<uint16_t>(b.size()));
    body_ += b;
  }
  AppendRecord(&meta_, kQueue, next_seq_++, body_);
  return static_cast<uint32_t>(i + 1);
}

uint64_t Store::RecordBytes(const StoredMessage& m) {
  return kHeader + kMessageFixed + m.publisher->size() + m.topic.size() + m.payload.size();
}

uint64_t Store::AppendMessage(uint32_t queue_id, const StoredMessage& m) {
  const uint64_t seq = next_seq_++;
  const std::string& publisher = *m.publisher;
  const size_t len = kMessageFixed + publisher.size() + m.topic.size() + m.payload.size();
  size_t at = data_.size();
  data_.resize(at + kHeader + len);
  char* p = data_.data() + at;
  auto put = [&](size_t off, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) p[off + i] = static_cast<char>(v >> (8 * i));
  };
  put(4, len, 4);
  p[8] = static_cast<char>(kMessage);
  put(9, seq, 8);
  char* b = p + kHeader;
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(queue_id >> (8 * i));
  for (int i = 0; i < 8; ++i) b[4 + i] = static_cast<char>(m.seq >> (8 * i));
  for (int i = 0; i < 8; ++i) b[12 + i] = static_cast<char>(m.ts_us >> (8 * i));
  b[20] = static_cast<char>(publisher.size());
  b[21] = static_cast<char>(publisher.size() >> 8);
  b[22] = static_cast<char>(m.topic.size());
  b[23] = static_cast<char>(m.topic.size() >> 8);
  char* w = b + kMessageFixed;
  std::memcpy(w, publisher.data(), publisher.size());
  w += publisher.size();
  std::memcpy(w, m.topic.data(), m.topic.size());
  w += m.topic.size();
  std::memcpy(w, m.payload.data(), m.payload.size());
  put(0, Crc32c(p + 4, kHeader - 4 + len), 4);
  data_seqs_.push_back(seq);
  return seq;
}

Store::Segment* Store::SegmentOf(uint64_t seq) {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), seq,
                             [](uint64_t v, const Segment& s) { return v < s.first_seq; });
  if (it == segments_.begin()) return nullptr;
  return &*(it - 1);
}

void Store::AppendAck(uint64_t seq) {
  acks_.push_back(seq);
  Segment* s = SegmentOf(seq);
  if (s && s->live > 0 && --s->live == 0 && s == &segments_.front()) DropAckedSegments();
}

void Store::AppendDelivered(uint32_t queue_id, uint64_t seq) {
  body_.clear();
  Put32(&body_, queue_id);
  Put64(&body_, seq);
  AppendRecord(&meta_, kDelivered, next_seq_++, body_);
}

void Store::DropAckedSegments() {
  while (segments_.size() > 1 && segments_.front().live == 0 && table_written_) {
    if (::unlink(segments_.front().path.c_str()) != 0 && errno != ENOENT) {
      reporter_->Error(fmt::format("cannot delete the drained segment {}: {}", segments_.front().path, Errno(errno)));
      return;
    }
    segments_.erase(segments_.begin());
  }
}

Status Store::Write() {
  if (!acks_.empty()) {
    body_.clear();
    for (uint64_t seq : acks_) Put64(&body_, seq);
    AppendRecord(&meta_, kAck, next_seq_++, body_);
    acks_.clear();
  }
  if (meta_.empty() && data_.empty()) return Status::Ok();
  Segment& seg = segments_.back();
  const size_t total = meta_.size() + data_.size();
  size_t done = 0;
  int failed = 0;
  while (done < total) {
    struct iovec iov[2];
    int n = 0;
    if (done < meta_.size()) iov[n++] = {meta_.data() + done, meta_.size() - done};
    size_t data_done = done > meta_.size() ? done - meta_.size() : 0;
    if (data_done < data_.size()) iov[n++] = {data_.data() + data_done, data_.size() - data_done};
    ssize_t w = ::pwritev(fd_, iov, n, static_cast<off_t>(seg.bytes + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      failed = w < 0 ? errno : ENOSPC;
      break;
    }
    done += static_cast<size_t>(w);
  }
  if (failed != 0) {
    // Cut the partial write off, so the file ends with a whole record.
    if (::ftruncate(fd_, static_cast<off_t>(seg.bytes)) != 0) {
      reporter_->Error(fmt::format("cannot cut {} back to {} bytes: {}", seg.path, seg.bytes, Errno(errno)));
    }
    data_.clear();
    data_seqs_.clear();
    ++stats_.write_failures;
    return Status::IoError(fmt::format("cannot write to {}: {}", seg.path, Errno(failed)));
  }
  seg.bytes += total;
  written_ += total;
  records_written_ += data_seqs_.size();
  seg.live += data_seqs_.size();
  meta_.clear();
  data_.clear();
  data_seqs_.clear();
  bool drained = true;
  for (const Segment& s : segments_) drained = drained && s.live == 0;
  if (seg.bytes >= options_.segment_bytes || (drained && seg.bytes >= kDrainedRollBytes)) {
    // What was just written stays valid whatever happens here: a failed
    // roll is reported and retried at the next write.
    Status s = OpenSegment(next_seq_);
    if (!s.ok()) {
      if (!roll_failed_) reporter_->Error(s.message() + " (retried at the next write)");
      roll_failed_ = true;
    } else {
      roll_failed_ = false;
      DropAckedSegments();
    }
  }
  return Status::Ok();
}

Status Store::ReadQueue(uint32_t queue_id, uint64_t from_seq, uint64_t max_bytes, uint64_t max_count,
                        std::vector<Recovery::Message>* out, uint64_t* next_seq) {
  *next_seq = from_seq;
  size_t si = 0;
  uint64_t offset = kMagic.size();
  auto cit = cursors_.find(queue_id);
  auto found = cit == cursors_.end() || cit->second.next_seq != from_seq
                   ? segments_.end()
                   : std::lower_bound(segments_.begin(), segments_.end(), cit->second.segment,
                                      [](const Segment& seg, uint64_t v) { return seg.first_seq < v; });
  if (found != segments_.end() && found->first_seq == cit->second.segment) {
    si = static_cast<size_t>(found - segments_.begin());
    offset = cit->second.offset;
  } else if (Segment* seg = SegmentOf(from_seq)) {
    si = static_cast<size_t>(seg - segments_.data());
  }
  Publishers publishers;
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  uint64_t got = 0, got_bytes = 0;
  for (; si < segments_.size(); ++si, offset = kMagic.size()) {
    const Segment& seg = segments_[si];
    int fd = ::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::IoError(fmt::format("cannot open {}: {}", seg.path, Errno(errno)));
    bool stop = false;
    size_t need = 0;  // a record longer than one chunk
    while (offset < seg.bytes && !stop) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(std::max<size_t>(1u << 20, need), seg.bytes - offset));
      read_buf_.resize(want);
      size_t have = 0;
      while (have < want) {
        ssize_t n = ::pread(fd, read_buf_.data() + have, want - have, static_cast<off_t>(offset + have));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += static_cast<size_t>(n);
      }
      if (have < want) {
        ::close(fd);
        return Status::IoError(fmt::format("{}: short read at offset {}", seg.path, offset + have));
      }
      std::string_view b(read_buf_);
      size_t pos = 0;
      need = 0;
      while (pos < b.size()) {
        if (b.size() - pos < kHeader) break;  // the rest comes with the next chunk
        const uint64_t len = GetN(b.data() + pos + 4, 4);
        if (len <= kMaxBody && len > b.size() - pos - kHeader && offset + pos + kHeader + len <= seg.bytes) {
          if (pos == 0) need = kHeader + len;
          break;
        }
        RawRecord r;
        if (!RecordAt(b, pos, &r)) {  // damaged since recovery
          size_t next = NextRecord(b, pos);
          reporter_->Error(fmt::format("{}: corrupt record at offset {} while reading queued messages back; "
                                       "{} bytes skipped",
                                       seg.path, offset + pos, next - pos));
          pos = next;
          continue;
        }
        DecodedMessage d;
        if (r.type == kMessage && r.seq >= from_seq && DecodeMessage(r, &d) && d.queue_id == queue_id &&
            !acked_.contains(r.seq)) {
          const uint64_t size = d.topic.size() + d.payload.size();
          if (got > 0 && got_bytes + size > max_bytes) {
            stop = true;
            break;
          }
          auto dit = delivered_.find(queue_id);
          out->push_back(Materialize(d, r.seq, dit != delivered_.end() && r.seq <= dit->second, now_ns, &publishers));
          ++got;
          got_bytes += size;
          // Only this queue's messages move the cursor: a batch's DELIVERED
          // and ACK records are written before its messages but carry later
          // sequence numbers, so the file is in seq order per queue only.
          *next_seq = r.seq + 1;
        }
        pos += kHeader + r.body.size();
        if (got >= max_count) {
          stop = true;
          break;
        }
      }
      if (pos == 0 && need == 0) break;  // fewer bytes than a header left: nothing more to read here
      offset += pos;
    }
    ::close(fd);
    if (stop) {
      cursors_[queue_id] = Cursor{*next_seq, seg.first_seq, offset};
      return Status::Ok();
    }
  }
  if (!segments_.empty()) cursors_[queue_id] = Cursor{*next_seq, segments_.back().first_seq, segments_.back().bytes};
  return Status::Ok();
}

uint64_t Store::synced() const { return syncer_ ? syncer_->synced() : synced_inline_; }

Status Store::Sync() {
  switch (options_.fsync) {
    case FsyncMode::kBatch:
      syncer_->Request(written_, records_written_);
      return Status::Ok();
    case FsyncMode::kAlways:
      if (synced_inline_ < written_) {
        if (::fdatasync(fd_) != 0) {
          if (inline_sync_error_.ok()) inline_sync_error_ = Status::IoError("fdatasync failed: " + Errno(errno));
          return inline_sync_error_;
        }
        ++stats_.fsyncs;
        stats_.records_synced += records_written_ - synced_records_;
        synced_records_ = records_written_;
        synced_inline_ = written_;
      }
      return inline_sync_error_;
    case FsyncMode::kNever:
      synced_inline_ = written_;
      return Status::Ok();
  }
  return Status::Ok();
}

void Store::OnWake() {
  uint64_t n;
  while (::read(wake_fd_, &n, sizeof n) == sizeof n) {
  }
}

Status Store::sync_error() const { return syncer_ ? syncer_->error() : inline_sync_error_; }

StoreStats Store::stats() const {
  StoreStats s = stats_;
  for (const Segment& seg : segments_) s.disk_bytes += seg.bytes;
  s.segments = segments_.size();
  if (syncer_) syncer_->Counts(&s.fsyncs, &s.records_synced);
  return s;
}

}  // namespace govstream::mq
