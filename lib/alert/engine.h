// Engine: the alert state of every rule and key.
//
// Observe() applies one observation (a rule's condition on a record, at a
// time) to the key's KeyState through the state machine (machine.h). Only
// keys that are not inactive are kept; a rule keeps at most `max_keys` of
// them, and a new key beyond that is counted under the overflow key
// "(other)" (every key field "(other)"), as stream-window's --max-groups.
// An observation older than the key's latest one does not change its state
// (it is counted as late): time never runs backwards for a key.
// Not thread-safe.
#ifndef GOVSTREAM_ALERT_ENGINE_H_
#define GOVSTREAM_ALERT_ENGINE_H_

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <string>
#include <vector>

#include "alert/machine.h"
#include "alert/rules.h"

namespace govstream::alert {

struct AlertKey {
  std::vector<std::string> key_json;  // JSON text of each key value
  KeyState state;
};

class Engine {
 public:
  Engine(size_t rule_count, const std::vector<RuleTiming>& timings, uint64_t max_keys);

  struct Outcome {
    Emit emit = Emit::kNothing;
    bool late = false;
    bool overflow = false;
    const std::vector<std::string>* key_json = nullptr;  // valid until the next Observe
    KeyState state;  // after the step
  };

  // `canonical` identifies the key (stream::EvalGroupKey), key_json its
  // fields. May skip the lookup when the condition is false and the rule
  // keeps no key (the common case of a quiet rule).
  Outcome Observe(size_t rule, const std::string& canonical, const std::vector<std::string>& key_json,
                  bool condition, int64_t now);

  // True when the rule keeps no key at all (every key inactive).
  bool Empty(size_t rule) const { return tables_[rule].empty(); }
  size_t firing() const;
  size_t keys() const;
  uint64_t late() const { return late_; }
  uint64_t overflow() const { return overflow_; }
  bool overflowed_once() const { return overflow_ > 0; }

  // For the state file: every kept key of a rule, and restoring one.
  using Table = absl::flat_hash_map<std::string, AlertKey>;
  const Table& table(size_t rule) const { return tables_[rule]; }
  void Restore(size_t rule, const std::string& canonical, AlertKey key) { tables_[rule][canonical] = std::move(key); }

 private:
  std::vector<RuleTiming> timings_;
  uint64_t max_keys_;
  std::vector<Table> tables_;
  std::vector<std::string> scratch_key_;
  uint64_t late_ = 0;
  uint64_t overflow_ = 0;
};

}  // namespace govstream::alert

#endif  // GOVSTREAM_ALERT_ENGINE_H_
