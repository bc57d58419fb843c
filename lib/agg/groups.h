// GroupTable: the aggregate states of every group, keyed by the canonical
// encoding of the group's key values, in first-seen order.
//
// With a group limit, once `max_groups` groups exist every new key is folded
// into a single overflow group whose key fields are all the string
// kOverflowKey; overflowed() tells the caller to report it. The table owns
// its states. Not thread-safe.
#ifndef GOVSTREAM_AGG_GROUPS_H_
#define GOVSTREAM_AGG_GROUPS_H_

#include <absl/container/flat_hash_map.h>
#include <absl/strings/string_view.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agg/spec.h"
#include "base/raw_hash.h"
#include "base/short_key_cache.h"

namespace govstream::agg {

inline constexpr std::string_view kOverflowKey = "(other)";

struct Group {
  std::vector<std::string> key_json;           // one JSON text per key field
  std::vector<std::unique_ptr<State>> states;  // one per AggSpec
};

class GroupTable {
 public:
  // `aggs` must outlive the table. max_groups 0: unlimited.
  GroupTable(const std::vector<AggSpec>* aggs, size_t key_count, uint64_t max_groups);

  // The group for this key (creating it, or the overflow group).
  // `canonical` identifies the key; `key_json` is used when creating.
  Group* Find(std::string_view canonical, const std::vector<std::string>& key_json);

  // A second index for tables with one key field, by the raw bytes of a
  // string key value: the group Find() returned for the string `s`, or
  // nullptr if none was remembered (call Find, then RememberString).
  // Saves encoding the canonical key of every record.
  Group* FindString(std::string_view s) const {
    Group* g;
    if (string_cache_.Find(s, &g)) return g;
    auto it = string_index_.find(s);
    if (it == string_index_.end()) return nullptr;
    string_cache_.Put(s, it->second);
    return it->second;
  }
  // `g` was returned by Find() for the one-key string `s`; ignored for the
  // overflow group (every new key must go through Find to be counted).
  void RememberString(std::string_view s, Group* g);

  // Groups in first-seen order, the overflow group (if any) last.
  std::vector<const Group*> Ordered() const;
  size_t size() const { return groups_.size() + (overflow_ ? 1 : 0); }
  bool overflowed() const { return overflow_ != nullptr; }
  uint64_t overflow_keys() const { return overflow_keys_; }
  // Approximate bytes held by keys, states and the index.
  size_t MemoryBytes() const;
  // The part of MemoryBytes() an empty table holds (its string cache).
  size_t FixedBytes() const { return sizeof(string_cache_); }
  void Clear();

  // For --state (docs/run-state.md): Save() appends one line of JSON per
  // group, in Ordered() order, {"key":[JSON text...],"c":CANONICAL,
  // "states":[saved state...]} ({"overflow":N,...} for the overflow group);
  // Load() of those lines, in order, into an empty table with the same
  // specs rebuilds it (same groups, order and states). Load returns false
  // with *error set on a line that is not such a group.
  void Save(std::vector<std::string>* lines) const;
  bool Load(const expr::Value& line, std::string* error);

 private:
  std::unique_ptr<Group> NewGroup(const std::vector<std::string>& key_json) const;
  void SaveGroup(const Group& g, std::string_view canonical, std::string* out) const;

  const std::vector<AggSpec>* aggs_;
  size_t key_count_;
  uint64_t max_groups_;
  absl::flat_hash_map<std::string, size_t> index_;
  // By the raw bytes of one string key (base/raw_hash.h), seeded per table.
  absl::flat_hash_map<std::string, Group*, RawHash, RawEq> string_index_;
  mutable ShortKeyCache<Group*> string_cache_;  // in front of string_index_; cleared with it
  std::vector<std::unique_ptr<Group>> groups_;
  std::unique_ptr<Group> overflow_;
  uint64_t overflow_keys_ = 0;
};

}  // namespace govstream::agg

#endif  // GOVSTREAM_AGG_GROUPS_H_
