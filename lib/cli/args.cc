#include "cli/args.h"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <string>

#include "cli/render.h"
#include "time/duration.h"

#ifndef GOVSTREAM_VERSION
#define GOVSTREAM_VERSION "0.0.0"
#endif

namespace govstream::cli {
namespace {

std::string OptionNames(const OptionSpec& o) {
  std::string names;
  if (o.short_name != 0) {
    names += '-';
    names += o.short_name;
    names += ',';
  }
  names += "--";
  names += o.long_name;
  return names;
}

bool IsWholeNumber(std::string_view s) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Checks one value against its kind; returns an error message or "".
std::string Validate(const OptionSpec& o, const std::string& v) {
  switch (o.kind) {
    case ValueKind::kCount:
      if (!IsWholeNumber(v)) return fmt::format("expected a whole number, got '{}'", v);
      break;
    case ValueKind::kSize:
      if (ParseSize(v) == uint64_t{0}) return "must be greater than 0";
      if (!ParseSize(v)) return fmt::format("expected a size such as 4096, 512K, 16M or 1G, got '{}'", v);
      break;
    case ValueKind::kDuration:
      if (!time::ParseDurationMs(v)) return fmt::format("expected a duration such as 250ms, 10s, 5m or 1h30m, got '{}'", v);
      break;
    case ValueKind::kChoice: {
      for (auto c : o.choices) {
        if (c == v) return "";
      }
      std::string list;
      for (auto c : o.choices) list += (list.empty() ? "" : ", ") + std::string(c);
      return fmt::format("expected one of {}, got '{}'", list, v);
    }
    default:
      break;
  }
  return "";
}

}  // namespace

int UsageError(const ProgramSpec& spec, std::string_view message) {
  fmt::print(stderr, "{}: {}\nTry '{} --help' for more information.\n", spec.name, message, spec.name);
  return kExitUsage;
}

std::string RenderHelp(const ProgramSpec& spec) {
  std::string out = fmt::format("{} - {}\n\nUsage: {}\n", spec.name, spec.summary, spec.usage);
  if (!spec.positionals.empty()) {
    out += "\nArguments:\n";
    for (const PositionalSpec& p : spec.positionals) {
      out += fmt::format("  {:<26}{}\n", p.name, p.help);
    }
  }
  out += "\nOptions:\n";
  auto line = [&](std::string names, std::string_view help) {
    if (names.size() >= 26) {
      out += fmt::format("  {}\n  {:<26}{}\n", names, "", help);
    } else {
      out += fmt::format("  {:<26}{}\n", names, help);
    }
  };
  for (const OptionSpec& o : spec.options) {
    if (o.hidden) continue;
    std::string names = o.short_name ? fmt::format("-{}, --{}", o.short_name, o.long_name)
                                     : fmt::format("    --{}", o.long_name);
    if (!o.value_name.empty()) names += " " + std::string(o.value_name);
    std::string help(o.help);
    if (!o.choices.empty()) {
      std::string list;
      for (auto c : o.choices) list += (list.empty() ? "" : "|") + std::string(c);
      help += " (" + list + ")";
    }
    if (!o.default_text.empty()) help += fmt::format(" [default: {}]", o.default_text);
    line(names, help);
  }
  line("-h, --help", "Print this help and exit");
  line("    --version", "Print the version and exit");
  line("    --generate FORMAT",
       "Print the man page or a shell completion script and exit "
       "(man|bash|zsh|fish)");
  if (!spec.exit_codes.empty()) {
    out += "\nExit status:\n";
    for (const ExitCodeSpec& e : spec.exit_codes) {
      std::string_view m = e.meaning;
      size_t dot = m.find(". ");
      if (dot != std::string_view::npos) m = m.substr(0, dot);
      out += fmt::format("  {:<4}{}\n", e.code, m);
    }
  }
  out += fmt::format("\nSee '{} --generate man | man -l -' or man {} for details.\n", spec.name, spec.name);
  return out;
}

std::optional<uint64_t> ParseSize(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t mult = 1;
  char last = text.back();
  if (last == 'K' || last == 'k') mult = 1ull << 10;
  if (last == 'M' || last == 'm') mult = 1ull << 20;
  if (last == 'G' || last == 'g') mult = 1ull << 30;
  if (mult != 1) text.remove_suffix(1);
  if (!IsWholeNumber(text)) return std::nullopt;
  uint64_t n = std::stoull(std::string(text));
  if (n > (~0ull) / mult) return std::nullopt;
  return n * mult;
}

bool Args::has(std::string_view long_name) const {
  auto it = values_.find(long_name);
  return it != values_.end() && !it->second.empty();
}

std::optional<std::string> Args::str(std::string_view long_name) const {
  auto it = values_.find(long_name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::strs(std::string_view long_name) const {
  auto it = values_.find(long_name);
  if (it == values_.end()) return {};
  return it->second;
}

uint64_t Args::count(std::string_view long_name, uint64_t def) const {
  auto v = str(long_name);
  if (!v) return def;
  if (auto s = ParseSize(*v)) return *s;
  return def;
}

int64_t Args::duration_ms(std::string_view long_name, int64_t def) const {
  auto v = str(long_name);
  if (!v) return def;
  return time::ParseDurationMs(*v).value_or(def);
}

ParseResult Parse(const ProgramSpec& spec, int argc, const char* const* argv) {
  ParseResult result;
  result.args.spec_ = &spec;
  CLI::App app{std::string(spec.summary), std::string(spec.name)};
  app.set_version_flag("--version", std::string(spec.name) + " " + GOVSTREAM_VERSION);

  // Storage for every option; CLI11 fills these.
  std::map<std::string, std::vector<std::string>> store;
  std::map<std::string, int64_t> flag_counts;
  for (const OptionSpec& o : spec.options) {
    std::string help(o.help);
    if (!o.default_text.empty()) help += fmt::format(" [default: {}]", o.default_text);
    CLI::Option* opt;
    if (o.kind == ValueKind::kFlag) {
      opt = app.add_flag(OptionNames(o), flag_counts[std::string(o.long_name)], help);
    } else {
      auto& vec = store[std::string(o.long_name)];
      opt = app.add_option(OptionNames(o), vec, help);
      opt->type_name(std::string(o.value_name));
      opt->allow_extra_args(false);
      if (o.repeatable) {
        opt->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
      } else {
        opt->expected(1);
        opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      }
    }
    if (o.hidden) opt->group("");
  }
  std::string generate;
  app.add_option("--generate", generate, "generate man|bash|zsh|fish")->group("");

  // Positionals are separated here, not by CLI11, which would read an
  // argument such as "[.a, .b]" as a list. Option values are kept with
  // their options; "--" ends the options.
  std::vector<std::string> positionals;
  std::vector<std::string> option_args;
  auto takes_value = [&](std::string_view name, bool is_long) -> bool {
    if (is_long && name == "generate") return true;
    for (const OptionSpec& o : spec.options) {
      if (is_long ? o.long_name == name : (o.short_name != 0 && name.size() == 1 && o.short_name == name[0])) {
        return o.kind != ValueKind::kFlag;
      }
    }
    return false;
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) positionals.emplace_back(argv[i]);
      break;
    }
    if (a.size() > 2 && a.substr(0, 2) == "--") {
      option_args.emplace_back(a);
      if (a.find('=') == std::string_view::npos && takes_value(a.substr(2), true) && i + 1 < argc) {
        option_args.emplace_back(argv[++i]);
      }
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      option_args.emplace_back(a);
      // A cluster of short flags; the first one that takes a value takes
      // the rest of the word, or the next argument.
      for (size_t k = 1; k < a.size(); ++k) {
        if (takes_value(a.substr(k, 1), false)) {
          if (k + 1 == a.size() && i + 1 < argc) option_args.emplace_back(argv[++i]);
          break;
        }
      }
      continue;
    }
    positionals.emplace_back(a);
  }
  std::vector<const char*> cli_argv = {argv[0]};
  for (const std::string& a : option_args) cli_argv.push_back(a.c_str());

  try {
    app.parse(static_cast<int>(cli_argv.size()), cli_argv.data());
  } catch (const CLI::CallForHelp&) {
    std::fputs(RenderHelp(spec).c_str(), stdout);
    result.exit_now = true;
    result.exit_code = kExitOk;
    return result;
  } catch (const CLI::CallForVersion&) {
    std::fputs((app.version() + "\n").c_str(), stdout);
    result.exit_now = true;
    result.exit_code = kExitOk;
    return result;
  } catch (const CLI::ExtrasError& e) {
    result.exit_now = true;
    std::string unknown;
    for (const std::string& a : option_args) {
      if (a.size() > 1 && a[0] == '-' && std::string(e.what()).find(a) != std::string::npos) {
        unknown = a;
        break;
      }
    }
    result.exit_code = UsageError(spec, unknown.empty() ? std::string(e.what()) : "unknown option " + unknown);
    return result;
  } catch (const CLI::ParseError& e) {
    result.exit_now = true;
    result.exit_code = UsageError(spec, e.what());
    return result;
  }

  if (!generate.empty()) {
    std::string text;
    if (generate == "man") {
      text = RenderManPage(spec, GOVSTREAM_VERSION);
    } else if (generate == "bash") {
      text = RenderBashCompletion(spec);
    } else if (generate == "zsh") {
      text = RenderZshCompletion(spec);
    } else if (generate == "fish") {
      text = RenderFishCompletion(spec);
    } else {
      result.exit_now = true;
      result.exit_code = UsageError(spec, "--generate: expected man, bash, zsh or fish");
      return result;
    }
    std::fwrite(text.data(), 1, text.size(), stdout);
    result.exit_now = true;
    result.exit_code = kExitOk;
    return result;
  }

  for (const OptionSpec& o : spec.options) {
    std::string key(o.long_name);
    if (o.kind == ValueKind::kFlag) {
      if (flag_counts[key] > 0) result.args.values_[key].push_back("true");
      continue;
    }
    for (const std::string& v : store[key]) {
      std::string err = Validate(o, v);
      if (!err.empty()) {
        result.exit_now = true;
        result.exit_code = UsageError(spec, fmt::format("--{}: {}", o.long_name, err));
        return result;
      }
    }
    if (!store[key].empty()) result.args.values_[key] = store[key];
  }

  size_t required = 0;
  bool open_ended = false;
  for (const PositionalSpec& p : spec.positionals) {
    if (p.required) ++required;
    if (p.repeatable) open_ended = true;
  }
  if (positionals.size() < required) {
    result.exit_now = true;
    result.exit_code = UsageError(spec, fmt::format("missing argument {}", spec.positionals[positionals.size()].name));
    return result;
  }
  if (!open_ended && positionals.size() > spec.positionals.size()) {
    result.exit_now = true;
    result.exit_code = UsageError(spec, fmt::format("unexpected argument '{}'", positionals[spec.positionals.size()]));
    return result;
  }
  result.args.positionals_ = std::move(positionals);
  return result;
}

}  // namespace govstream::cli
