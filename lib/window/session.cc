// --session GAP: per key, a record at t opens [t, t + GAP); windows of the
// same key that touch or overlap are merged (their states too), so a session
// is [first record, last record + GAP). A session fires when the watermark
// reaches its end. A late record that merges into a session that already
// fired re-emits the merged session as an update.
#include <absl/container/flat_hash_map.h>
#include <fmt/core.h>

#include <algorithm>
#include <set>

#include "agg/codec.h"
#include "base/raw_hash.h"
#include "window/assigner.h"

namespace govstream::window {
namespace {

struct Session : Bucket {
  int64_t start = 0;
  int64_t end = 0;
  bool fired = false;
};

class SessionAssigner final : public Assigner {
 public:
  SessionAssigner(int64_t gap, int64_t lateness, AssignerContext ctx) : gap_(gap), lateness_(lateness), ctx_(ctx) {}

  Bucket* Assign(int64_t t, KeyId key, int64_t watermark) override {
    int64_t start = t, end = t + gap_;
    auto found = by_key_.find(key);
    std::vector<Session*> touching;
    if (found != by_key_.end()) {
      for (const auto& s : found->second) {
        if (s->start <= end && t <= s->end) {
          touching.push_back(s.get());
          start = std::min(start, s->start);
          end = std::max(end, s->end);
        }
      }
    }
    if (end + lateness_ <= watermark) return nullptr;
    if (touching.empty()) {
      auto s = std::make_unique<Session>();
      s->key = key;
      s->start = start;
      s->end = end;
      s->states = NewStates(*ctx_.aggs);
      Session* p = s.get();
      by_key_[key].push_back(std::move(s));
      ctx_.keys->Ref(key);
      ++count_;
      open_.emplace(end, p);
      p->changed = true;
      return p;
    }
    // Merge every touching session into the first.
    Session* into = touching[0];
    Unindex(into);
    for (size_t i = 1; i < touching.size(); ++i) {
      Session* other = touching[i];
      Unindex(other);
      into->fired = into->fired || other->fired;
      for (size_t k = 0; k < into->states.size(); ++k) into->states[k]->Merge(*other->states[k]);
      Erase(other);
    }
    into->start = start;
    into->end = end;
    into->changed = true;
    // Fired sessions that grew again are open unless the watermark has
    // passed their new end (then AfterAdd re-emits them as an update).
    if (end > watermark) into->fired = false;
    Index(into);
    return into;
  }

  void AfterAdd(Bucket* bucket, int64_t watermark, ResultBatch* out) override {
    auto* s = static_cast<Session*>(bucket);
    if (s->fired && s->end <= watermark) out->Add(s->start, s->end, s->key, Mark::kUpdate, &s->states);
  }

  void Advance(int64_t watermark, ResultBatch* out) override {
    while (!open_.empty() && open_.begin()->first <= watermark) {
      Session* s = open_.begin()->second;
      open_.erase(open_.begin());
      out->Add(s->start, s->end, s->key, Mark::kFinal, &s->states);
      s->fired = true;
      s->changed = false;
      fired_.emplace(s->end, s);
    }
  }

  void Early(int64_t, ResultBatch* out) override {
    for (auto& [end, s] : open_) {
      if (!s->changed) continue;
      out->Add(s->start, s->end, s->key, Mark::kEarly, &s->states);
      s->changed = false;
    }
  }

  void FireAll(ResultBatch* out) override { Advance(kMaxTime, out); }

  void Purge(int64_t watermark) override {
    while (!fired_.empty() && fired_.begin()->first + lateness_ <= watermark) {
      Session* s = fired_.begin()->second;
      fired_.erase(fired_.begin());
      Erase(s);
    }
  }

  int64_t next_deadline() const override {
    int64_t d = kMaxTime;
    if (!open_.empty()) d = open_.begin()->first;
    if (!fired_.empty()) d = std::min(d, fired_.begin()->first + lateness_);
    return d;
  }
  size_t open_windows() const override { return count_; }
  size_t buckets() const override { return count_; }
  size_t MemoryBytes() const override {
    size_t bytes = sizeof(*this) +
                   HashSlots(by_key_.size()) * (sizeof(KeyId) + sizeof(std::vector<void*>) + 1) +
                   (open_.size() + fired_.size()) * 48;
    for (const auto& [k, list] : by_key_) {
      bytes += list.capacity() * sizeof(void*);
      for (const auto& s : list) bytes += sizeof(Session) + StatesMemoryBytes(s->states);
    }
    return bytes;
  }

  // One line per session, each key's in its list order:
  // {"session":[key, start, end, fired, changed],"s":[states]}.
  void Save(std::vector<std::string>* lines) const override {
    for (const auto& [key, list] : by_key_) {
      for (const auto& s : list) {
        std::string l =
            fmt::format("{{\"session\":[{},{},{},{},{}],\"s\":", key, s->start, s->end, s->fired, s->changed);
        SaveStates(s->states, &l);
        l += '}';
        lines->push_back(std::move(l));
      }
    }
  }
  bool Load(const expr::Value& line, const KeyMap& keys, std::string* error) override {
    namespace codec = agg::codec;
    *error = "not a line of a --session window";
    expr::Value v, states;
    auto s = std::make_unique<Session>();
    if (!codec::Member(line, "session", &v) || !v.is_array() || v.size() != 5 || !codec::ReadI64(v.at(1), &s->start) ||
        !codec::ReadI64(v.at(2), &s->end) || s->end < s->start || !codec::ReadBool(v.at(3), &s->fired) ||
        !codec::ReadBool(v.at(4), &s->changed) || !codec::Member(line, "s", &states)) {
      return false;
    }
    s->key = keys(v.at(0));
    s->states = NewStates(*ctx_.aggs);
    if (s->key == kNoKey || !LoadStates(states, &s->states)) return false;
    Session* p = s.get();
    by_key_[p->key].push_back(std::move(s));
    ctx_.keys->Ref(p->key);
    ++count_;
    Index(p);
    return true;
  }

 private:
  void Index(Session* s) {
    if (s->fired) {
      fired_.emplace(s->end, s);
    } else {
      open_.emplace(s->end, s);
    }
  }
  void Unindex(Session* s) {
    auto& set = s->fired ? fired_ : open_;
    set.erase({s->end, s});
  }
  // Destroys a session that is in neither index.
  void Erase(Session* s) {
    KeyId key = s->key;
    auto& list = by_key_[key];
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].get() == s) {
        list[i] = std::move(list.back());
        list.pop_back();
        break;
      }
    }
    if (list.empty()) by_key_.erase(key);
    --count_;
    ctx_.keys->Unref(key);
  }

  int64_t gap_, lateness_;
  AssignerContext ctx_;
  absl::flat_hash_map<KeyId, std::vector<std::unique_ptr<Session>>> by_key_;
  std::set<std::pair<int64_t, Session*>> open_;   // by end, not yet fired
  std::set<std::pair<int64_t, Session*>> fired_;  // by end, fired, kept for lateness
  size_t count_ = 0;
};

}  // namespace

std::unique_ptr<Assigner> MakeSession(const WindowSpec& spec, AssignerContext ctx) {
  return std::make_unique<SessionAssigner>(spec.gap_ms, spec.allowed_lateness_ms, ctx);
}

}  // namespace govstream::window
