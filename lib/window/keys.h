// KeyTable: the distinct group keys (--by values) of the open windows.
//
// Each key is interned once, by its canonical encoding (agg/canonical.h), and
// identified by a small KeyId; window buckets hold KeyIds and a reference
// each. A key whose last reference is dropped is forgotten, so memory follows
// the keys of the open windows, not every key ever seen.
//
// With a limit (--max-groups), once `max_keys` keys are live every new key
// maps to one overflow key whose fields are all "(other)" (agg::kOverflowKey);
// overflowed() and overflow_records() tell the caller to report it.
// Not thread-safe. Never fails.
#ifndef GOVSTREAM_WINDOW_KEYS_H_
#define GOVSTREAM_WINDOW_KEYS_H_

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace govstream::window {

using KeyId = uint32_t;

struct KeyEntry {
  std::string canonical;              // "[v1,v2]"
  std::vector<std::string> key_json;  // one JSON text per key field
  uint32_t refs = 0;
  // Per-key cache of the tumbling/sliding assigner: the pane start and
  // bucket of this key's last record (nullptr when none).
  int64_t cached_slot = 0;
  void* cached_bucket = nullptr;
};

class KeyTable {
 public:
  // max_keys 0: unlimited.
  KeyTable(size_t key_fields, uint64_t max_keys);

  // The id of this key (interning it, or the overflow key). A new key has no
  // references: call Ref() to keep it, or ReleaseIfUnused() to drop it.
  KeyId Intern(std::string_view canonical, const std::vector<std::string>& key_json);
  void Ref(KeyId id) { ++entries_[id].refs; }
  void Unref(KeyId id) {
    if (--entries_[id].refs == 0) Forget(id);
  }
  void ReleaseIfUnused(KeyId id) {
    if (entries_[id].refs == 0) Forget(id);
  }
  KeyEntry& at(KeyId id) { return entries_[id]; }
  const KeyEntry& at(KeyId id) const { return entries_[id]; }

  size_t size() const { return index_.size(); }
  bool overflowed() const { return overflow_records_ > 0; }
  uint64_t overflow_records() const { return overflow_records_; }
  size_t MemoryBytes() const;

 private:
  void Forget(KeyId id);

  size_t key_fields_;
  uint64_t max_keys_;
  absl::flat_hash_map<std::string, KeyId> index_;
  std::vector<KeyEntry> entries_;
  std::vector<KeyId> free_;
  KeyId overflow_id_ = UINT32_MAX;
  uint64_t overflow_records_ = 0;
};

}  // namespace govstream::window

#endif  // GOVSTREAM_WINDOW_KEYS_H_
