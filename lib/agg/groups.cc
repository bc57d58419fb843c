#include "agg/groups.h"

#include <cstring>

namespace govstream::agg {

namespace {

inline uint64_t Mix(uint64_t h, uint64_t v) {
  const unsigned __int128 m = static_cast<unsigned __int128>(h ^ v) * 0x9e3779b97f4a7c15u;
  return static_cast<uint64_t>(m) ^ static_cast<uint64_t>(m >> 64);
}

inline uint64_t Load(const char* p, size_t n) {
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  return v;
}

}  // namespace

size_t GroupTable::RawHash::operator()(std::string_view s) const {
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t h = Mix(seed, n);
  if (n < 8) return Mix(h, Load(p, n));
  size_t i = 0;
  for (; i + 8 < n; i += 8) h = Mix(h, Load(p + i, 8));
  return Mix(h, Load(p + n - 8, 8));  // the last 8 bytes (may overlap)
}

GroupTable::GroupTable(const std::vector<AggSpec>* aggs, size_t key_count, uint64_t max_groups)
    : aggs_(aggs),
      key_count_(key_count),
      max_groups_(max_groups),
      string_index_(0, RawHash{Mix(reinterpret_cast<uintptr_t>(this), 0x5851f42d4c957f2du)}, RawEq()) {}

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
  bytes += string_index_.capacity() * (sizeof(std::string) + sizeof(Group*) + 1);
  for (const auto& [key, g] : string_index_) bytes += key.size() > 15 ? key.capacity() : 0;
  for (const auto& g : groups_) add(*g);
  if (overflow_) add(*overflow_);
  return bytes;
}

void GroupTable::Clear() {
  index_.clear();
  string_index_.clear();
  groups_.clear();
  overflow_.reset();
  overflow_keys_ = 0;
}

}  // namespace govstream::agg
