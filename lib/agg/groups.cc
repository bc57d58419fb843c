#include "agg/groups.h"

#include <fmt/core.h>

#include <cstring>

#include "agg/codec.h"

namespace govstream::agg {

GroupTable::GroupTable(const std::vector<AggSpec>* aggs, size_t key_count, uint64_t max_groups)
    : aggs_(aggs),
      key_count_(key_count),
      max_groups_(max_groups),
      string_index_(0, RawHash{RawHashSeed(this)}, RawEq()) {}

std::unique_ptr<Group> GroupTable::NewGroup(const std::vector<std::string>& key_json) const {
  auto g = std::make_unique<Group>();
  g->key_json = key_json;
  g->states.reserve(aggs_->size());
  for (const AggSpec& a : *aggs_) g->states.push_back(a.NewState());
  return g;
}

Group* GroupTable::Find(std::string_view canonical, const std::vector<std::string>& key_json) {
  auto it = index_.find(absl::string_view(canonical.data(), canonical.size()));
  if (it != index_.end()) return groups_[it->second].get();
  if (max_groups_ != 0 && groups_.size() >= max_groups_) {
    if (!overflow_) {
      std::string quoted(1, '"');
      quoted.append(kOverflowKey);
      quoted += '"';
      overflow_ = NewGroup(std::vector<std::string>(key_count_, quoted));
    }
    ++overflow_keys_;
    return overflow_.get();
  }
  index_.emplace(std::string(canonical), groups_.size());
  groups_.push_back(NewGroup(key_json));
  return groups_.back().get();
}

void GroupTable::RememberString(std::string_view s, Group* g) {
  if (g == overflow_.get()) return;
  string_index_.emplace(std::string(s), g);
}

std::vector<const Group*> GroupTable::Ordered() const {
  std::vector<const Group*> out;
  out.reserve(size());
  for (const auto& g : groups_) out.push_back(g.get());
  if (overflow_) out.push_back(overflow_.get());
  return out;
}

size_t GroupTable::MemoryBytes() const {
  // By the number of entries (base/raw_hash.h): a sum over groups, the same
  // whether the groups are in one table or spread over several (--threads).
  size_t bytes = HashSlots(index_.size()) * (sizeof(std::string) + sizeof(size_t) + 1);
  auto add = [&](const Group& g) {
    bytes += sizeof(Group) + sizeof(std::unique_ptr<Group>) + g.states.capacity() * sizeof(void*);
    for (const std::string& k : g.key_json) bytes += sizeof(std::string) + (k.size() > 15 ? k.capacity() : 0);
    for (const auto& s : g.states) bytes += s->MemoryBytes();
  };
  for (const auto& [key, i] : index_) bytes += key.size() > 15 ? key.capacity() : 0;
  bytes += HashSlots(string_index_.size()) * (sizeof(std::string) + sizeof(Group*) + 1) + sizeof(string_cache_);
  for (const auto& [key, g] : string_index_) bytes += key.size() > 15 ? key.capacity() : 0;
  for (const auto& g : groups_) add(*g);
  if (overflow_) add(*overflow_);
  return bytes;
}

void GroupTable::SaveGroup(const Group& g, std::string_view canonical, std::string* out) const {
  *out += "{\"key\":[";
  for (size_t i = 0; i < g.key_json.size(); ++i) {
    if (i != 0) *out += ',';
    codec::AppendString(g.key_json[i], out);
  }
  *out += "],";
  if (&g == overflow_.get()) {
    *out += fmt::format("\"overflow\":{}", overflow_keys_);
  } else {
    *out += "\"c\":";
    codec::AppendString(canonical, out);
  }
  *out += ",\"states\":[";
  for (size_t i = 0; i < g.states.size(); ++i) {
    if (i != 0) *out += ',';
    g.states[i]->Save(out);
  }
  *out += "]}";
}

void GroupTable::Save(std::vector<std::string>* lines) const {
  std::vector<std::string_view> canonical(groups_.size());
  for (const auto& [key, i] : index_) canonical[i] = key;
  for (size_t i = 0; i < groups_.size(); ++i) {
    lines->emplace_back();
    SaveGroup(*groups_[i], canonical[i], &lines->back());
  }
  if (overflow_) {
    lines->emplace_back();
    SaveGroup(*overflow_, "", &lines->back());
  }
}

bool GroupTable::Load(const expr::Value& line, std::string* error) {
  expr::Value key, canonical, states, overflow;
  std::vector<std::string> key_json;
  bool ok = codec::Member(line, "key", &key) && key.is_array() && key.size() == key_count_ &&
            codec::Member(line, "states", &states) && states.is_array() && states.size() == aggs_->size();
  for (size_t i = 0; ok && i < key.size(); ++i) {
    key_json.emplace_back();
    ok = codec::ReadString(key.at(i), &key_json.back());
  }
  std::string c;
  uint64_t overflow_keys = 0;
  const bool is_overflow = codec::Member(line, "overflow", &overflow);
  if (ok && is_overflow) {
    ok = !overflow_ && codec::ReadU64(overflow, &overflow_keys);
  } else if (ok) {
    ok = codec::Member(line, "c", &canonical) && codec::ReadString(canonical, &c) && !index_.contains(c) &&
         !overflow_;
  }
  if (!ok) {
    *error = "a group line of the wrong shape (or a group twice)";
    return false;
  }
  std::unique_ptr<Group> g = NewGroup(key_json);
  for (size_t i = 0; i < g->states.size(); ++i) {
    if (!g->states[i]->Load(states.at(i))) {
      *error = fmt::format("aggregate {} ({}): not a saved state of that function", i + 1, (*aggs_)[i].output_name);
      return false;
    }
  }
  if (is_overflow) {
    overflow_ = std::move(g);
    overflow_keys_ = overflow_keys;
  } else {
    index_.emplace(std::move(c), groups_.size());
    groups_.push_back(std::move(g));
  }
  return true;
}

void GroupTable::Clear() {
  index_.clear();
  string_index_.clear();
  string_cache_.Clear();
  groups_.clear();
  overflow_.reset();
  overflow_keys_ = 0;
}

}  // namespace govstream::agg
