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
//
// A second index serves keys of one string field: FindString() maps the
// string's raw bytes to its id, saving the canonical encoding of every
// record. Entries are added with RememberString() and dropped with the key.
// Not thread-safe. Never fails.
#ifndef GOVSTREAM_WINDOW_KEYS_H_
#define GOVSTREAM_WINDOW_KEYS_H_

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/raw_hash.h"
#include "expr/value.h"
#include "base/short_key_cache.h"

namespace govstream::window {

using KeyId = uint32_t;
inline constexpr KeyId kNoKey = UINT32_MAX;

struct KeyEntry {
  std::string canonical;              // "[v1,v2]"
  std::vector<std::string> key_json;  // one JSON text per key field
  uint32_t refs = 0;
  // In the string index, by the content of key_json[0] (a JSON string that
  // needed no escaping).
  bool in_string_index = false;
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
  // The id RememberString() stored for the one-field string key `s`, or
  // kNoKey (then call Intern, and RememberString with its id).
  KeyId FindString(std::string_view s) const {
    KeyId id;
    if (string_cache_.Find(s, &id)) return id;
    auto it = string_index_.find(s);
    if (it == string_index_.end()) return kNoKey;
    string_cache_.Put(s, it->second);
    return it->second;
  }
  // `id` was returned by Intern() for the one-field key whose value is the
  // string `s`. Ignored for the overflow key, so that every record of a new
  // key beyond the limit goes through Intern() and is counted, and for
  // strings whose JSON form needs escapes (they are found by Intern).
  void RememberString(std::string_view s, KeyId id);
  void Ref(KeyId id) { ++entries_[id].refs; }
  void Unref(KeyId id) {
    if (--entries_[id].refs == 0) Forget(id);
  }
  void ReleaseIfUnused(KeyId id) {
    if (entries_[id].refs == 0) Forget(id);
  }
  KeyEntry& at(KeyId id) { return entries_[id]; }
  const KeyEntry& at(KeyId id) const { return entries_[id]; }

  // --state: one line per live key, {"k":[id, overflow],"c":CANONICAL,
  // "key":[JSON text...]}, and the records the overflow key took.
  void Save(std::vector<std::string>* lines) const;
  // A key from such a line (interned without references, as Intern does;
  // the overflow key as the overflow key), or false when the line is not
  // one. *saved_id is the id it had.
  bool Load(const expr::Value& line, KeyId* id, uint64_t* saved_id);
  void set_overflow_records(uint64_t n) { overflow_records_ = n; }

  size_t size() const { return index_.size(); }
  bool overflowed() const { return overflow_records_ > 0; }
  uint64_t overflow_records() const { return overflow_records_; }
  size_t MemoryBytes() const;

 private:
  void Forget(KeyId id);
  KeyId NewEntry(std::string canonical, const std::vector<std::string>& key_json);

  size_t key_fields_;
  uint64_t max_keys_;
  absl::flat_hash_map<std::string, KeyId> index_;
  absl::flat_hash_map<std::string, KeyId, RawHash, RawEq> string_index_;
  // In front of string_index_; an entry leaving it is erased from the
  // cache too (ids are reused).
  mutable ShortKeyCache<KeyId> string_cache_;
  std::vector<KeyEntry> entries_;
  std::vector<KeyId> free_;
  KeyId overflow_id_ = kNoKey;
  uint64_t overflow_records_ = 0;
};

}  // namespace govstream::window

#endif  // GOVSTREAM_WINDOW_KEYS_H_
