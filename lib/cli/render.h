// Renderers that turn a ProgramSpec into the documents shipped in man/ and
// completions/. Pure functions of the spec (and version string): the same
// spec always renders the same bytes, so tests can compare with the files
// committed to the repository and fail when they drift.
#ifndef GOVSTREAM_CLI_RENDER_H_
#define GOVSTREAM_CLI_RENDER_H_

#include <string>
#include <string_view>

#include "cli/spec.h"

namespace govstream::cli {

// roff man page, section 1 (man/<name>.1).
std::string RenderManPage(const ProgramSpec& spec, std::string_view version);
// completions/bash/<name>
std::string RenderBashCompletion(const ProgramSpec& spec);
// completions/zsh/_<name>
std::string RenderZshCompletion(const ProgramSpec& spec);
// completions/fish/<name>.fish
std::string RenderFishCompletion(const ProgramSpec& spec);

}  // namespace govstream::cli

#endif  // GOVSTREAM_CLI_RENDER_H_
