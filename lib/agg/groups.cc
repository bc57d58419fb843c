#include "agg/groups.h"

#include <cstring>

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
  size_t bytes = index_.capacity() * (sizeof(std::string) + sizeof(size_t) + 1);
  auto add = [&](const Group& g) {
    bytes += sizeof(Group) + sizeof(std::unique_ptr<Group>) + g.states.capacity() * sizeof(void*);
    for (const std::string& k : g.key_json) bytes += sizeof(std::string) + (k.size() > 15 ? k.capacity() : 0);
    for (const auto& s : g.states) bytes += s->MemoryBytes();
  };
  for (const auto& [key, i] : index_) bytes += key.size() > 15 ? key.capacity() : 0;
  bytes += string_index_.capacity() * (sizeof(std::string) + sizeof(Group*) + 1) + sizeof(string_cache_);
  for (const auto& [key, g] : string_index_) bytes += key.size() > 15 ? key.capacity() : 0;
  for (const auto& g : groups_) add(*g);
  if (overflow_) add(*overflow_);
  return bytes;
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
