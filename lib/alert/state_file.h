// The --state file: every rule's kept keys between runs (docs/alert-state.md
// has the grammar).
//
// Line-oriented JSON: a header {"format":"govstream-alert-state",
// "version":1}, one line per kept key, and a trailer {"end":true,
// "entries":N,"checksum":"<16 hex digits>"} carrying the FNV-1a 64 hash of
// every byte before it, so truncation and corruption are detected.
//
// SaveState() writes atomically: a temporary file in the same directory,
// fsync, rename over the old file, fsync of the directory; a run killed at
// any point leaves the previous file intact. LoadState() refuses (never
// resets) a file that is not exactly that format: DataError for a corrupt
// or mismatched file, IoError for one that cannot be read. A missing file
// is an empty state (the first run).
#ifndef GOVSTREAM_ALERT_STATE_FILE_H_
#define GOVSTREAM_ALERT_STATE_FILE_H_

#include <functional>
#include <string>
#include <vector>

#include "alert/engine.h"
#include "alert/rules.h"
#include "base/status.h"

namespace govstream::alert {

inline constexpr int kStateFormatVersion = 1;

// The file's text for the engine's state (entries sorted by rule, then key).
std::string SerializeState(const std::vector<Rule>& rules, const Engine& engine);

// Restores the state from text; `name` is used in messages.
Status ParseStateText(const std::string& name, std::string_view text, const std::vector<Rule>& rules, Engine* engine);

// `before_rename` (may be empty) runs after the temporary file is written
// and synced, before it replaces the old one (tests kill the program there).
Status SaveState(const std::string& path, const std::vector<Rule>& rules, const Engine& engine,
                 const std::function<void(const std::string& tmp_path)>& before_rename = {});

// *existed is false when there was no file (engine untouched).
Status LoadState(const std::string& path, const std::vector<Rule>& rules, Engine* engine, bool* existed);

}  // namespace govstream::alert

#endif  // GOVSTREAM_ALERT_STATE_FILE_H_
