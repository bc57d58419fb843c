// The durable store behind `mq-broker --data-dir DIR`: an append-only log in
// segment files that holds the declared queues (names and bindings), every
// message stored in a named queue, and the acknowledgements. docs/storage.md
// is the format; this is its only reader and writer.
//
// Contract:
//  - Open() takes an exclusive lock on DIR (a second broker is refused),
//    scans every segment, verifies every record's CRC-32C and returns what
//    was not yet acknowledged. A torn record at the end of the newest
//    segment is cut off; a corrupt record elsewhere is reported with its
//    file and offset, counted and skipped, never returned.
//  - Appends go to memory; Write() writes them (one writev). When a write
//    fails (disk full, EFBIG under `ulimit -f`, I/O error) the file is cut
//    back to its last whole record, the message records since the last
//    Write() are dropped (the caller refuses those publishes) and the
//    acknowledgement records are kept for the next attempt.
//  - Durability: written() is the log position after the last Write();
//    synced() the position known to be on disk. FsyncMode::kBatch: a syncer
//    thread calls fdatasync for everything written while the previous call
//    ran (group commit), then signals wake_fd() (an eventfd the caller
//    polls). kAlways: Sync() calls fdatasync inline. kNever: never (unsafe;
//    for tests and benchmarks): synced() follows written().
//  - A segment is deleted once it and every older one hold only
//    acknowledged messages; each segment begins with the table of queues,
//    so deleting old ones loses no declaration.
//
// Not thread-safe: one thread (the broker's) calls everything; the syncer is
// internal.
#ifndef GOVSTREAM_MQ_STORE_H_
#define GOVSTREAM_MQ_STORE_H_

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "io/report.h"
#include "mq/queue.h"

namespace govstream::mq {

enum class FsyncMode { kBatch, kAlways, kNever };
const char* FsyncModeName(FsyncMode m);
// "batch", "always" or "never"; false for anything else.
bool ParseFsyncMode(std::string_view text, FsyncMode* out);

struct StoreOptions {
  std::string dir;
  FsyncMode fsync = FsyncMode::kBatch;
  uint64_t segment_bytes = 64ull << 20;  // a segment is closed once it holds this much
  uint64_t queue_memory = UINT64_MAX;    // recovery holds up to this much of each queue in memory
};

// What recovery found: the queues and their unacknowledged messages.
struct Recovery {
  struct QueueDef {
    uint32_t id = 0;
    std::string name;
    std::vector<std::string> bindings;
  };
  struct Message {
    uint32_t queue_id = 0;
    uint64_t seq = 0;          // the store's sequence number of its record
    bool redelivered = false;  // delivered before the restart, not acknowledged
    MessageRef message;
  };
  std::vector<QueueDef> queues;
  std::vector<Message> messages;  // in log order (per queue: arrival order)
  // Per queue id: the unacknowledged messages after those in `messages`,
  // left on disk (read back with Store::ReadQueue from from_seq).
  struct Spilled {
    uint64_t from_seq = 0, count = 0, bytes = 0, record_bytes = 0;
  };
  std::map<uint32_t, Spilled> spilled;
  uint64_t segments = 0;
  uint64_t bytes = 0;            // bytes scanned
  uint64_t corrupt_records = 0;  // reported and skipped
  uint64_t torn_bytes = 0;       // cut off the end of the newest segment
  int64_t elapsed_ms = 0;
};

struct StoreStats {
  uint64_t disk_bytes = 0;  // all segment files
  uint64_t segments = 0;
  uint64_t fsyncs = 0;           // cumulative
  uint64_t records_synced = 0;   // message records covered by those fsyncs
  uint64_t write_failures = 0;   // Write() calls that failed
};

class Store {
 public:
  // Creates DIR if needed, locks it and recovers it into *recovery.
  static Status Open(const StoreOptions& options, io::Reporter* reporter, std::unique_ptr<Store>* out,
                     Recovery* recovery);
  // Writes and syncs what is pending (errors are reported), stops the syncer.
  ~Store();

  // The record of a queue's declaration (its whole binding list); returns
  // the queue's id, the same for the same name.
  uint32_t PutQueue(std::string_view name, const std::vector<std::string>& bindings);
  // Appends a message record for queue `queue_id`; returns its sequence
  // number (what AppendAck() takes).
  uint64_t AppendMessage(uint32_t queue_id, const StoredMessage& m);
  void AppendAck(uint64_t seq);
  // Every message of the queue up to `seq` has been delivered (a restart
  // marks those not acknowledged as redelivered).
  void AppendDelivered(uint32_t queue_id, uint64_t seq);
  bool HasPending() const { return !meta_.empty() || !data_.empty() || !acks_.empty(); }
  // Writes what was appended (see the contract above for a failure).
  Status Write();
  uint64_t written() const { return written_; }
  uint64_t synced() const;
  // kBatch: asks the syncer to cover written(). kAlways: fdatasync now.
  // kNever: nothing. Errors of the syncer come back from sync_error().
  Status Sync();
  // Reads back, in log order, messages of queue `queue_id` with sequence
  // numbers from `from_seq` (acknowledged ones skipped), until max_count
  // messages or max_bytes of topic and payload (at least one message);
  // *next_seq is where the next call continues. The records are checked
  // again (a record damaged since is reported and skipped).
  Status ReadQueue(uint32_t queue_id, uint64_t from_seq, uint64_t max_bytes, uint64_t max_count,
                   std::vector<Recovery::Message>* out, uint64_t* next_seq);
  // Write(), Sync(), and waits up to timeout_ms for the sync (shutdown).
  Status WriteAndSync(int64_t timeout_ms);
  // Reads the eventfd after the syncer signalled it.
  void OnWake();
  int wake_fd() const { return wake_fd_; }
  // Set for good once an fdatasync failed: what was written since is of
  // unknown state, so nothing more may be confirmed.
  Status sync_error() const;
  StoreStats stats() const;
  const std::string& dir() const { return options_.dir; }
  FsyncMode fsync_mode() const { return options_.fsync; }
  // The bytes a message's record takes on disk.
  static uint64_t RecordBytes(const StoredMessage& m);

 private:
  class Syncer;
  struct Segment {
    uint64_t first_seq = 0;
    std::string path;
    uint64_t bytes = 0;
    uint64_t live = 0;  // message records not yet acknowledged
  };
  Store(const StoreOptions& options, io::Reporter* reporter);
  Status Recover(Recovery* recovery);
  Status OpenSegment(uint64_t first_seq);
  void AppendQueueTable();
  void AppendRecord(std::string* buf, uint8_t type, uint64_t seq, std::string_view body);
  void DropAckedSegments();
  Segment* SegmentOf(uint64_t seq);

  StoreOptions options_;
  io::Reporter* reporter_;
  int lock_fd_ = -1;
  int fd_ = -1;  // the newest segment, appended to
  int wake_fd_ = -1;
  std::vector<Segment> segments_;  // oldest first; back() is being written
  struct QueueInfo {
    std::string name;
    std::vector<std::string> bindings;
  };
  std::vector<QueueInfo> queues_;  // by id - 1
  std::string meta_;               // queue and delivered records, kept on a failed write
  std::string data_;               // message records, dropped on a failed write
  std::vector<uint64_t> acks_;     // seqs acknowledged since the last Write()
  std::vector<uint64_t> data_seqs_;  // the seqs of data_'s records
  std::string body_;
  uint64_t next_seq_ = 1;
  uint64_t written_ = 0;       // bytes ever written (all segments)
  uint64_t records_written_ = 0;
  uint64_t synced_inline_ = 0;  // kAlways / kNever
  uint64_t synced_records_ = 0;
  bool roll_failed_ = false;  // reported once until a roll succeeds
  bool table_written_ = false;  // the newest segment begins with the queue table
  StoreStats stats_;
  // From recovery: acknowledged sequence numbers and delivery marks, for
  // the messages ReadQueue() reads back.
  absl::flat_hash_set<uint64_t> acked_;
  absl::flat_hash_map<uint32_t, uint64_t> delivered_;
  struct Cursor {
    uint64_t next_seq = 0;   // the seq ReadQueue continues from, at
    uint64_t segment = 0;    // this segment (first_seq)
    uint64_t offset = 0;     // and this offset in it
  };
  absl::flat_hash_map<uint32_t, Cursor> cursors_;
  std::string read_buf_;
  std::unique_ptr<Syncer> syncer_;
  Status inline_sync_error_;
};

}  // namespace govstream::mq

#endif  // GOVSTREAM_MQ_STORE_H_
