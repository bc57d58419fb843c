// ShardedGroups: stream-agg's groups spread over feeder threads by their key,
// so that feeding the aggregate states runs on every core and every result is
// still that of one thread.
//
// Records come in input order as EncodeKeyArgs() bytes (stream/grouping.h).
// Each key belongs to one shard (a hash of its canonical encoding), whose
// thread owns a GroupTable and feeds it that shard's records in input order.
// So every group gets all its records, in input order, as with one table:
// its states -- floating-point sums, sketches, first/last -- are bit for bit
// those of one thread. Each group remembers the input position of its first
// record, and Ordered() merges the shards' groups by it: first-seen order,
// as one table has it. The shards are disjoint, so merging them is exact.
//
// The calling thread batches records per shard and hands a batch on when it
// is full or at Sync(); at most kMaxQueued batches wait per shard (Add()
// blocks until a feeder catches up), so memory stays bounded. Between
// Sync() and the next Add(), the groups may be read (Ordered, Skips, size,
// MemoryBytes) and cleared (Clear, for --reset snapshots).
//
// Without a group limit only: which key is the limit's first overflow
// depends on the order across shards (callers use one GroupTable then).
// One calling thread; never fails.
#ifndef GOVSTREAM_STREAM_SHARDS_H_
#define GOVSTREAM_STREAM_SHARDS_H_

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "agg/groups.h"
#include "agg/spec.h"
#include "stream/grouping.h"

namespace govstream::stream {

class ShardedGroups {
 public:
  // `aggs` must outlive this. shards >= 1.
  ShardedGroups(int shards, const std::vector<agg::AggSpec>* aggs, size_t key_count);
  ~ShardedGroups();  // feeds what was added, then joins the threads
  ShardedGroups(const ShardedGroups&) = delete;
  ShardedGroups& operator=(const ShardedGroups&) = delete;

  // The next record, in input order: EncodeKeyArgs() bytes.
  void Add(std::string_view encoded);
  // Returns when every record added so far has been fed.
  void Sync();

  // After Sync(): the groups in first-seen order, their number, the bytes
  // they hold (the sum of the tables' MemoryBytes, as one table's; the
  // 8-byte first-seen position of each group is left out), the values each
  // aggregate skipped (summed into *skips), and emptying them.
  std::vector<const agg::Group*> Ordered() const;
  size_t size() const;
  size_t MemoryBytes() const;
  void AddSkips(std::vector<AggSkips>* skips) const;
  void Clear();

  static constexpr size_t kBatchBytes = 64 << 10;
  static constexpr size_t kMaxQueued = 4;

 private:
  struct Shard;
  std::vector<std::unique_ptr<Shard>> shards_;
  uint64_t next_position_ = 0;
};

}  // namespace govstream::stream

#endif  // GOVSTREAM_STREAM_SHARDS_H_
