#include "stream/shards.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "expr/value.h"

namespace govstream::stream {

// A batch is a run of records: u64 input position, then EncodeKeyArgs().
struct ShardedGroups::Shard {
  Shard(const std::vector<agg::AggSpec>* aggs_in, size_t key_count)
      : aggs(aggs_in), table(aggs_in, key_count, 0), skips(aggs_in->size()), key_json(key_count) {
    thread = std::thread([this] { Loop(); });
  }
  ~Shard() {
    {
      std::lock_guard<std::mutex> lock(mu);
      quit = true;
    }
    work.notify_all();
    thread.join();
  }

  void Loop() {
    for (;;) {
      std::string batch;
      {
        std::unique_lock<std::mutex> lock(mu);
        work.wait(lock, [this] { return quit || !queue.empty(); });
        if (queue.empty()) return;  // quit, nothing left
        batch = std::move(queue.front());
        queue.pop_front();
        busy = true;
      }
      Feed(batch);
      batch.clear();
      {
        std::lock_guard<std::mutex> lock(mu);
        busy = false;
        if (spare.size() < kMaxQueued) spare.push_back(std::move(batch));
      }
      done.notify_all();
    }
  }

  void Feed(std::string_view b) {
    size_t pos = 0;
    std::string_view canonical;
    while (pos < b.size()) {
      uint64_t position;
      std::memcpy(&position, b.data() + pos, sizeof position);
      pos += sizeof position;
      arena.Reset();
      DecodeKeyArgs(b, &pos, aggs->size(), &canonical, &key_json, &args, &arena);
      const size_t before = table.size();
      agg::Group* g = table.Find(canonical, key_json);
      if (table.size() != before) first_seen.push_back(position);
      FeedAggregates(*aggs, args, g->states, &skips);
    }
  }

  // The calling thread's: hands `filling` on (waiting while kMaxQueued wait).
  void Send() {
    if (filling.empty()) return;
    {
      std::unique_lock<std::mutex> lock(mu);
      done.wait(lock, [this] { return queue.size() < kMaxQueued; });
      queue.push_back(std::move(filling));
      filling.clear();
      if (!spare.empty()) {
        filling = std::move(spare.back());
        spare.pop_back();
      }
    }
    work.notify_one();
  }
  void WaitIdle() {
    std::unique_lock<std::mutex> lock(mu);
    done.wait(lock, [this] { return queue.empty() && !busy; });
  }

  const std::vector<agg::AggSpec>* aggs;
  // The feeder's while it runs; the calling thread's after Sync().
  agg::GroupTable table;
  std::vector<uint64_t> first_seen;  // per group of `table`, in its order
  std::vector<AggSkips> skips;
  std::vector<std::string> key_json;
  std::vector<AggArg> args;
  expr::Arena arena;
  std::string filling;  // the calling thread's
  // Under mu:
  std::mutex mu;
  std::condition_variable work, done;
  std::deque<std::string> queue;
  std::vector<std::string> spare;
  bool busy = false;
  bool quit = false;
  std::thread thread;
};

ShardedGroups::ShardedGroups(int shards, const std::vector<agg::AggSpec>* aggs, size_t key_count) {
  for (int i = 0; i < std::max(1, shards); ++i) shards_.push_back(std::make_unique<Shard>(aggs, key_count));
}

ShardedGroups::~ShardedGroups() { Sync(); }

void ShardedGroups::Add(std::string_view encoded) {
  uint32_t n;
  std::memcpy(&n, encoded.data(), sizeof n);  // the canonical key's length, then the key
  const size_t h = std::hash<std::string_view>{}(encoded.substr(sizeof n, n));
  Shard& s = *shards_[h % shards_.size()];
  const uint64_t position = next_position_++;
  s.filling.append(reinterpret_cast<const char*>(&position), sizeof position);
  s.filling.append(encoded);
  if (s.filling.size() >= kBatchBytes) s.Send();
}

void ShardedGroups::Sync() {
  for (auto& s : shards_) s->Send();
  for (auto& s : shards_) s->WaitIdle();
}

std::vector<const agg::Group*> ShardedGroups::Ordered() const {
  std::vector<std::pair<uint64_t, const agg::Group*>> all;
  all.reserve(size());
  for (const auto& s : shards_) {
    std::vector<const agg::Group*> groups = s->table.Ordered();
    for (size_t i = 0; i < groups.size(); ++i) all.emplace_back(s->first_seen[i], groups[i]);
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const agg::Group*> out;
  out.reserve(all.size());
  for (const auto& [position, g] : all) out.push_back(g);
  return out;
}

size_t ShardedGroups::size() const {
  size_t n = 0;
  for (const auto& s : shards_) n += s->table.size();
  return n;
}

size_t ShardedGroups::MemoryBytes() const {
  size_t n = shards_[0]->table.FixedBytes();  // counted once, as for one table
  for (const auto& s : shards_) n += s->table.MemoryBytes() - s->table.FixedBytes();
  return n;
}

void ShardedGroups::AddSkips(std::vector<AggSkips>* skips) const {
  for (const auto& s : shards_) {
    for (size_t i = 0; i < skips->size(); ++i) {
      (*skips)[i].missing += s->skips[i].missing;
      (*skips)[i].wrong_type += s->skips[i].wrong_type;
    }
  }
}

void ShardedGroups::Clear() {
  for (auto& s : shards_) {
    s->table.Clear();
    s->first_seen.clear();
  }
}

}  // namespace govstream::stream
