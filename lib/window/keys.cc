#include "window/keys.h"

#include <absl/strings/string_view.h>

#include "agg/codec.h"
#include "agg/groups.h"

namespace govstream::window {

KeyTable::KeyTable(size_t key_fields, uint64_t max_keys)
    : key_fields_(key_fields), max_keys_(max_keys), string_index_(0, RawHash{RawHashSeed(this)}, RawEq()) {}

KeyId KeyTable::Intern(std::string_view canonical, const std::vector<std::string>& key_json) {
  auto it = index_.find(absl::string_view(canonical.data(), canonical.size()));
  if (it != index_.end()) return it->second;
  std::string canon(canonical);
  const std::vector<std::string>* fields = &key_json;
  std::vector<std::string> other;
  if (max_keys_ != 0 && index_.size() >= max_keys_ + (overflow_id_ != kNoKey ? 1 : 0)) {
    ++overflow_records_;
    if (overflow_id_ != kNoKey) return overflow_id_;
    std::string quoted(1, '"');
    quoted.append(agg::kOverflowKey);
    quoted += '"';
    other.assign(key_fields_, quoted);
    fields = &other;
    // A canonical text no real key can have (real ones are JSON arrays).
    canon = "(other)";
  }
  KeyId id = NewEntry(std::move(canon), *fields);
  if (fields == &other) overflow_id_ = id;
  return id;
}

KeyId KeyTable::NewEntry(std::string canonical, const std::vector<std::string>& key_json) {
  KeyId id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<KeyId>(entries_.size());
    entries_.emplace_back();
  }
  KeyEntry& e = entries_[id];
  e.canonical = canonical;
  e.key_json = key_json;
  e.refs = 0;
  e.cached_bucket = nullptr;
  index_.emplace(std::move(canonical), id);
  return id;
}

void KeyTable::Save(std::vector<std::string>* lines) const {
  for (const auto& [canonical, id] : index_) {
    const KeyEntry& e = entries_[id];
    std::string l = "{\"k\":[" + std::to_string(id) + (id == overflow_id_ ? ",true" : ",false") + "],\"c\":";
    agg::codec::AppendString(e.canonical, &l);
    l += ",\"key\":[";
    for (size_t i = 0; i < e.key_json.size(); ++i) {
      if (i != 0) l += ',';
      agg::codec::AppendString(e.key_json[i], &l);
    }
    l += "]}";
    lines->push_back(std::move(l));
  }
}

bool KeyTable::Load(const expr::Value& line, KeyId* id, uint64_t* saved_id) {
  namespace codec = agg::codec;
  expr::Value k, c, key;
  std::string canonical;
  bool overflow;
  if (!codec::Member(line, "k", &k) || !k.is_array() || k.size() != 2 || !codec::ReadU64(k.at(0), saved_id) ||
      !codec::ReadBool(k.at(1), &overflow) || !codec::Member(line, "c", &c) || !codec::ReadString(c, &canonical) ||
      !codec::Member(line, "key", &key) || !key.is_array() || key.size() != key_fields_ || index_.contains(canonical) ||
      (overflow && overflow_id_ != kNoKey)) {
    return false;
  }
  std::vector<std::string> key_json(key.size());
  for (size_t i = 0; i < key.size(); ++i) {
    if (!codec::ReadString(key.at(i), &key_json[i])) return false;
  }
  *id = NewEntry(std::move(canonical), key_json);
  if (overflow) overflow_id_ = *id;
  return true;
}

namespace {

// The content of a one-field key's JSON text when it is a string written
// without escapes ("abc" -> abc); false otherwise.
bool PlainStringContent(const std::vector<std::string>& key_json, std::string_view* content) {
  if (key_json.size() != 1) return false;
  const std::string& j = key_json[0];
  if (j.size() < 2 || j.front() != '"' || j.back() != '"') return false;
  *content = std::string_view(j).substr(1, j.size() - 2);
  return true;
}

}  // namespace

void KeyTable::RememberString(std::string_view s, KeyId id) {
  if (id == overflow_id_) return;
  KeyEntry& e = entries_[id];
  std::string_view content;
  if (e.in_string_index || !PlainStringContent(e.key_json, &content) || content != s) return;
  e.in_string_index = true;
  string_index_.emplace(content, id);
}

void KeyTable::Forget(KeyId id) {
  KeyEntry& e = entries_[id];
  index_.erase(e.canonical);
  if (e.in_string_index) {
    std::string_view content;
    PlainStringContent(e.key_json, &content);
    string_index_.erase(content);
    string_cache_.Erase(content);
    e.in_string_index = false;
  }
  if (id == overflow_id_) overflow_id_ = kNoKey;
  e.canonical.clear();
  e.canonical.shrink_to_fit();
  e.key_json.clear();
  e.cached_bucket = nullptr;
  free_.push_back(id);
}

size_t KeyTable::MemoryBytes() const {
  size_t bytes = HashSlots(index_.size()) * (sizeof(std::string) + sizeof(KeyId) + 1) +
                 entries_.capacity() * sizeof(KeyEntry) + free_.capacity() * sizeof(KeyId) +
                 HashSlots(string_index_.size()) * (sizeof(std::string) + sizeof(KeyId) + 1) +
                 sizeof(string_cache_);
  for (const auto& [k, id] : index_) {
    bytes += 2 * (k.size() > 15 ? k.capacity() : 0);  // the index key and the entry's copy
    const KeyEntry& e = entries_[id];
    for (const std::string& f : e.key_json) bytes += sizeof(std::string) + (f.size() > 15 ? f.capacity() : 0);
    if (e.in_string_index && e.key_json[0].size() > 17) bytes += e.key_json[0].size() - 1;  // the index's copy
  }
  return bytes;
}

}  // namespace govstream::window
