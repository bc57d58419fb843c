// The alert part of stream-alert's --state file: every rule's kept keys
// between runs, as the `op` lines of the run-state file (lib/stream/resume.h,
// docs/run-state.md), which also holds the input offsets, the lock, the
// checksum and the atomic commit. docs/alert-state.md has the grammar of the
// lines.
#ifndef GOVSTREAM_ALERT_STATE_FILE_H_
#define GOVSTREAM_ALERT_STATE_FILE_H_

#include <string>
#include <vector>

#include "alert/engine.h"
#include "alert/rules.h"
#include "base/status.h"

namespace govstream::alert {

// One line per kept key, sorted by rule, then key.
std::vector<std::string> StateLines(const std::vector<Rule>& rules, const Engine& engine);

// Restores the keys of those lines into `engine` (fresh). BadState, naming
// `name` and the line, for a line of the wrong shape, an entry for a rule
// that is not given, or a key whose width no longer matches the rule's --by.
Status RestoreStateLines(const std::string& name, const std::vector<std::string>& lines,
                         const std::vector<Rule>& rules, Engine* engine);

}  // namespace govstream::alert

#endif  // GOVSTREAM_ALERT_STATE_FILE_H_
