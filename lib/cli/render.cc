// Renderers for man pages and shell completions; see render.h.
//
// Every renderer is a pure function of its inputs: no clock, no locale, no
// environment. Hidden options are never rendered; --help/-h and --version are
// always added (the parser adds them too), after the options of the table.
#include "cli/render.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace govstream::cli {
namespace {

constexpr std::string_view kManDate = "2026-11";
constexpr std::string_view kHelpHelp = "Print this help message and exit";
constexpr std::string_view kVersionHelp = "Display program version information and exit";
constexpr std::string_view kGenerateHelp =
    "Print the man page or a shell completion script and exit";

// An option as rendered: the table's non-hidden options plus --help,
// --version and --generate.
std::vector<OptionSpec> VisibleOptions(const ProgramSpec& spec) {
  std::vector<OptionSpec> out;
  for (const OptionSpec& opt : spec.options) {
    if (!opt.hidden) out.push_back(opt);
  }
  OptionSpec help;
  help.long_name = "help";
  help.short_name = 'h';
  help.help = kHelpHelp;
  out.push_back(help);
  OptionSpec version;
  version.long_name = "version";
  version.help = kVersionHelp;
  out.push_back(version);
  OptionSpec generate;
  generate.long_name = "generate";
  generate.kind = ValueKind::kChoice;
  generate.value_name = "FORMAT";
  generate.help = kGenerateHelp;
  generate.choices = {"man", "bash", "zsh", "fish"};
  out.push_back(generate);
  return out;
}

bool TakesValue(const OptionSpec& opt) { return opt.kind != ValueKind::kFlag; }

bool HasFilePositional(const ProgramSpec& spec) {
  for (const PositionalSpec& pos : spec.positionals) {
    if (pos.kind == ValueKind::kFile) return true;
  }
  return false;
}

std::string ValueName(const OptionSpec& opt) {
  if (!opt.value_name.empty()) return std::string(opt.value_name);
  return "VALUE";
}

// Splits on '\n'; a trailing newline does not produce an empty last line.
std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      lines.push_back(text);
      break;
    }
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' ||
                        s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  return s;
}

bool IsBlank(std::string_view s) { return TrimLeft(TrimRight(s)).empty(); }

bool IsLiteralLine(std::string_view s) { return s.substr(0, 2) == "  "; }

std::string ToUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// ---------------------------------------------------------------------------
// roff

// Escapes text for use inside a roff text line or a quoted macro argument:
// backslash as \e, every hyphen as \- (so options and commands copy and paste
// as ASCII), quotes as \(aq, \(ga and \(dq. Does not handle line starts; see
// RoffLine.
std::string RoffEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\e";
        break;
      case '-':
        out += "\\-";
        break;
      case '\'':
        out += "\\(aq";
        break;
      case '`':
        out += "\\(ga";
        break;
      case '"':
        out += "\\(dq";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// One output line of already-escaped text: a leading '.' or '\'' would make
// it a control line, so it is protected with \&.
void AppendRoffLine(std::string& out, std::string_view escaped) {
  if (!escaped.empty() && (escaped.front() == '.' || escaped.front() == '\'')) {
    out += "\\&";
  }
  out += escaped;
  out += '\n';
}

// Appends one line of user text, escaped.
void AppendTextLine(std::string& out, std::string_view text) {
  AppendRoffLine(out, RoffEscape(text));
}

// Renders blank-line separated paragraphs. Runs of lines beginning with two
// spaces are literal blocks (.nf/.fi, with those two spaces removed);
// other lines are filled text. `para` is the macro that starts a new
// paragraph (".PP" at section level, ".IP" inside a .TP item); the first
// block is not preceded by it when `first_needs_para` is false.
void AppendParagraphs(std::string& out, std::string_view text,
                      std::string_view para, bool first_needs_para) {
  const bool in_list = para == ".IP";
  bool first = !first_needs_para;
  std::vector<std::string_view> lines = SplitLines(text);
  size_t i = 0;
  while (i < lines.size()) {
    if (IsBlank(lines[i])) {
      ++i;
      continue;
    }
    if (!first) {
      out += para;
      out += '\n';
    }
    first = false;
    if (IsLiteralLine(lines[i])) {
      // Inside a list item, a bare .RS first moves the margin to the item's
      // indentation so the block stays inside the item.
      if (in_list) out += ".RS\n";
      out += ".RS 4\n.nf\n";
      // A literal block runs until a line that is not literal; blank lines
      // followed by more literal lines stay inside the block.
      while (i < lines.size()) {
        if (IsLiteralLine(lines[i])) {
          std::string_view line = TrimRight(lines[i].substr(2));
          if (line.empty()) {
            out += "\\&\n";
          } else {
            AppendTextLine(out, line);
          }
          ++i;
          continue;
        }
        size_t j = i;
        while (j < lines.size() && IsBlank(lines[j])) ++j;
        if (j > i && j < lines.size() && IsLiteralLine(lines[j])) {
          for (; i < j; ++i) out += "\\&\n";
          continue;
        }
        break;
      }
      out += ".fi\n.RE\n";
      if (in_list) out += ".RE\n";
    } else {
      while (i < lines.size() && !IsBlank(lines[i]) &&
             !IsLiteralLine(lines[i])) {
        AppendTextLine(out, TrimLeft(TrimRight(lines[i])));
        ++i;
      }
    }
  }
}

void AppendSectionHeading(std::string& out, std::string_view heading) {
  out += ".SH \"";
  out += RoffEscape(ToUpper(heading));
  out += "\"\n";
}

std::string RoffOptionTag(const OptionSpec& opt) {
  std::string tag;
  if (opt.short_name != 0) {
    tag += "\\fB\\-";
    tag += RoffEscape(std::string_view(&opt.short_name, 1));
    tag += "\\fR";
  }
  if (!opt.long_name.empty()) {
    if (!tag.empty()) tag += ", ";
    tag += "\\fB\\-\\-";
    tag += RoffEscape(opt.long_name);
    tag += "\\fR";
  }
  if (TakesValue(opt)) {
    tag += " \\fI";
    tag += RoffEscape(ValueName(opt));
    tag += "\\fR";
  }
  return tag;
}

// Help texts are one line without a trailing period (spec.h); the man page
// prints them as sentences.
std::string Sentence(std::string_view text) {
  std::string s(TrimRight(text));
  if (!s.empty() && s.back() != '.' && s.back() != '!' && s.back() != '?') {
    s += '.';
  }
  return s;
}

void AppendManOption(std::string& out, const OptionSpec& opt) {
  out += ".TP\n";
  AppendRoffLine(out, RoffOptionTag(opt));
  AppendTextLine(out, Sentence(opt.help));

  std::vector<std::string> notes;
  if (!opt.choices.empty()) {
    std::string note = "One of: ";
    for (size_t i = 0; i < opt.choices.size(); ++i) {
      if (i > 0) note += ", ";
      note += "\\fB" + RoffEscape(opt.choices[i]) + "\\fR";
    }
    note += ".";
    notes.push_back(note);
  }
  if (opt.repeatable) notes.push_back("May be repeated.");
  if (!opt.default_text.empty()) {
    notes.push_back("[default: \\fB" + RoffEscape(opt.default_text) +
                    "\\fR]");
  }

  if (!IsBlank(opt.details)) {
    AppendParagraphs(out, opt.details, ".IP", /*first_needs_para=*/true);
    if (!notes.empty()) out += ".IP\n";
  }
  for (const std::string& note : notes) AppendRoffLine(out, note);
}

void AppendSeeAlso(std::string& out, const std::vector<std::string_view>& refs) {
  for (size_t i = 0; i < refs.size(); ++i) {
    std::string_view ref = refs[i];
    std::string line;
    size_t paren = ref.find('(');
    if (paren != std::string_view::npos && paren > 0) {
      line = "\\fB" + RoffEscape(ref.substr(0, paren)) + "\\fR" +
             RoffEscape(ref.substr(paren));
    } else {
      line = "\\fB" + RoffEscape(ref) + "\\fR";
    }
    if (i + 1 < refs.size()) line += ",";
    AppendRoffLine(out, line);
  }
}

// ---------------------------------------------------------------------------
// shells

// POSIX shell single quoting: 'it'\''s'.
std::string ShSingleQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

// fish single quoting: only \\ and \' are escapes inside '...'.
std::string FishSingleQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

// Backslash-escapes characters that would split or expand a word when the
// shell (bash compgen -W, zsh _arguments (...), fish -a) tokenises a list.
std::string EscapeWord(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case ' ':
      case '\t':
      case '\\':
      case '\'':
      case '"':
      case '$':
      case '`':
      case '(':
      case ')':
      case '[':
      case ']':
      case '{':
      case '}':
      case ':':
      case ';':
      case '&':
      case '|':
      case '<':
      case '>':
      case '*':
      case '?':
      case '~':
      case '#':
      case '!':
        out += '\\';
        break;
      default:
        break;
    }
    out += c;
  }
  return out;
}

std::string JoinChoices(const OptionSpec& opt) {
  std::string out;
  for (size_t i = 0; i < opt.choices.size(); ++i) {
    if (i > 0) out += ' ';
    out += EscapeWord(opt.choices[i]);
  }
  return out;
}

// "-i|--input" for a bash case pattern.
std::string BashOptionPattern(const OptionSpec& opt) {
  std::string out;
  if (opt.short_name != 0) {
    out += '-';
    out += EscapeWord(std::string_view(&opt.short_name, 1));
  }
  if (!opt.long_name.empty()) {
    if (!out.empty()) out += '|';
    out += "--";
    out += EscapeWord(opt.long_name);
  }
  return out;
}

std::string BashFunctionName(std::string_view program) {
  std::string out = "_";
  for (char c : program) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9');
    out += alnum ? c : '_';
  }
  return out;
}

// Text inside a zsh _arguments "[description]", before shell quoting.
std::string ZshDescription(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == ']' || c == '[') out += '\\';
    out += c;
  }
  return out;
}

// A zsh _arguments message (between colons), before shell quoting.
std::string ZshMessage(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == ':') out += '\\';
    out += c;
  }
  return out;
}

std::string ZshAction(ValueKind kind, const OptionSpec* opt) {
  switch (kind) {
    case ValueKind::kFile:
      return "_files";
    case ValueKind::kChoice:
      if (opt != nullptr) {
        std::string out = "(";
        for (size_t i = 0; i < opt->choices.size(); ++i) {
          if (i > 0) out += ' ';
          // Inside _arguments specs a colon ends the action; escape it too.
          out += ZshMessage(EscapeWord(opt->choices[i]));
        }
        return out + ")";
      }
      return "";
    default:
      // No completion, just show the message.
      return " ";
  }
}

}  // namespace

std::string RenderManPage(const ProgramSpec& spec, std::string_view version) {
  std::string out;
  out += ".\\\" Generated from the govstream option table (lib/cli); "
         "do not edit.\n";
  out += ".\\\" Regenerate with: ";
  out += spec.name;
  out += " --generate man\n";
  out += ".TH \"" + RoffEscape(ToUpper(spec.name)) + "\" 1 \"" +
         std::string(kManDate) + "\" \"govstream " + RoffEscape(version) +
         "\" \"govstream manual\"\n";

  out += ".SH NAME\n";
  AppendRoffLine(out, RoffEscape(spec.name) + " \\- " +
                          RoffEscape(TrimRight(spec.summary)));

  out += ".SH SYNOPSIS\n";
  {
    bool first = true;
    for (std::string_view line : SplitLines(spec.usage)) {
      line = TrimLeft(TrimRight(line));
      if (line.empty()) continue;
      if (!first) out += ".br\n";
      first = false;
      std::string rendered;
      if (line.substr(0, spec.name.size()) == spec.name &&
          (line.size() == spec.name.size() || line[spec.name.size()] == ' ')) {
        rendered = "\\fB" + RoffEscape(spec.name) + "\\fR" +
                   RoffEscape(line.substr(spec.name.size()));
      } else {
        rendered = RoffEscape(line);
      }
      AppendRoffLine(out, rendered);
    }
    if (first) AppendRoffLine(out, "\\fB" + RoffEscape(spec.name) + "\\fR");
  }

  if (!IsBlank(spec.description)) {
    out += ".SH DESCRIPTION\n";
    AppendParagraphs(out, spec.description, ".PP", false);
  }

  if (!spec.positionals.empty()) {
    out += ".SH ARGUMENTS\n";
    for (const PositionalSpec& pos : spec.positionals) {
      out += ".TP\n";
      std::string tag = "\\fI" + RoffEscape(pos.name) + "\\fR";
      if (pos.repeatable) tag += "...";
      AppendRoffLine(out, tag);
      std::string text = Sentence(pos.help);
      if (pos.required) {
        text += " Required.";
      } else {
        text += " Optional.";
      }
      if (pos.repeatable) text += " May be repeated.";
      AppendTextLine(out, TrimLeft(text));
    }
  }

  out += ".SH OPTIONS\n";
  for (const OptionSpec& opt : VisibleOptions(spec)) AppendManOption(out, opt);

  for (const SectionSpec& section : spec.sections) {
    AppendSectionHeading(out, section.heading);
    AppendParagraphs(out, section.text, ".PP", false);
  }

  if (!spec.exit_codes.empty()) {
    out += ".SH \"EXIT STATUS\"\n";
    for (const ExitCodeSpec& ec : spec.exit_codes) {
      out += ".TP\n";
      out += "\\fB" + std::to_string(ec.code) + "\\fR\n";
      AppendTextLine(out, Sentence(ec.meaning));
    }
  }

  if (!spec.examples.empty()) {
    out += ".SH EXAMPLES\n";
    bool first = true;
    for (const ExampleSpec& ex : spec.examples) {
      if (!IsBlank(ex.description)) {
        AppendParagraphs(out, ex.description, ".PP", !first);
      } else if (!first) {
        out += ".PP\n";
      }
      first = false;
      out += ".RS 4\n.nf\n";
      for (std::string_view line : SplitLines(ex.command)) {
        line = TrimRight(line);
        if (line.empty()) {
          out += "\\&\n";
        } else {
          AppendTextLine(out, line);
        }
      }
      out += ".fi\n.RE\n";
    }
  }

  if (!spec.see_also.empty()) {
    out += ".SH \"SEE ALSO\"\n";
    AppendSeeAlso(out, spec.see_also);
  }
  return out;
}

std::string RenderBashCompletion(const ProgramSpec& spec) {
  const std::vector<OptionSpec> options = VisibleOptions(spec);
  const std::string fn = BashFunctionName(spec.name);

  std::string all_words;
  std::string value_patterns;  // options that consume the next word
  for (const OptionSpec& opt : options) {
    if (opt.short_name != 0) {
      if (!all_words.empty()) all_words += ' ';
      all_words += '-';
      all_words += opt.short_name;
    }
    if (!opt.long_name.empty()) {
      if (!all_words.empty()) all_words += ' ';
      all_words += "--";
      all_words += opt.long_name;
    }
    if (TakesValue(opt)) {
      if (!value_patterns.empty()) value_patterns += '|';
      value_patterns += BashOptionPattern(opt);
    }
  }

  std::string out;
  out += "# bash completion for " + std::string(spec.name) +
         "  -*- shell-script -*-\n";
  out += "# Generated from the govstream option table (lib/cli); do not edit.\n";
  out += "# Regenerate with: " + std::string(spec.name) +
         " --generate bash\n\n";
  out += fn + "()\n{\n";
  out += "    local cur prev cword i w npos=0 after_dd=0\n";
  out += "    COMPREPLY=()\n";
  out += "    cword=$COMP_CWORD\n";
  out += "    cur=${COMP_WORDS[cword]}\n";
  out += "    prev=\n";
  out += "    (( cword > 0 )) && prev=${COMP_WORDS[cword-1]}\n";
  out += "    # --opt=VALUE: bash splits the word at '=' (COMP_WORDBREAKS).\n";
  out += "    if [[ $cur == = ]]; then\n";
  out += "        cur=\n";
  out += "    elif [[ $prev == = ]] && (( cword > 1 )); then\n";
  out += "        prev=${COMP_WORDS[cword-2]}\n";
  out += "    fi\n\n";

  // Option values.
  out += "    case $prev in\n";
  for (const OptionSpec& opt : options) {
    if (!TakesValue(opt)) continue;
    out += "        " + BashOptionPattern(opt) + ")\n";
    if (opt.kind == ValueKind::kFile) {
      out += "            compopt -o filenames 2>/dev/null\n";
      out += "            mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n";
    } else if (opt.kind == ValueKind::kChoice) {
      out += "            mapfile -t COMPREPLY < <(compgen -W " +
             ShSingleQuote(JoinChoices(opt)) + " -- \"$cur\")\n";
    }
    out += "            return 0\n";
    out += "            ;;\n";
  }
  out += "    esac\n\n";

  // Which positional is being completed?
  out += "    for (( i = 1; i < cword; i++ )); do\n";
  out += "        w=${COMP_WORDS[i]}\n";
  out += "        if (( after_dd )); then\n";
  out += "            npos=$((npos + 1))\n";
  out += "            continue\n";
  out += "        fi\n";
  out += "        case $w in\n";
  out += "            --) after_dd=1 ;;\n";
  if (!value_patterns.empty()) {
    out += "            " + value_patterns + ")\n";
    out += "                if [[ ${COMP_WORDS[i+1]} == = ]]; then\n";
    out += "                    i=$((i + 2))\n";
    out += "                else\n";
    out += "                    i=$((i + 1))\n";
    out += "                fi\n";
    out += "                ;;\n";
  }
  out += "            -?*) ;;\n";
  out += "            =) ;;\n";
  out += "            *) npos=$((npos + 1)) ;;\n";
  out += "        esac\n";
  out += "    done\n\n";

  out += "    if (( ! after_dd )) && [[ $cur == -* ]]; then\n";
  out += "        mapfile -t COMPREPLY < <(compgen -W " +
         ShSingleQuote(all_words) + " -- \"$cur\")\n";
  out += "        return 0\n";
  out += "    fi\n";

  std::string file_cond;
  for (size_t j = 0; j < spec.positionals.size(); ++j) {
    const PositionalSpec& pos = spec.positionals[j];
    if (pos.kind != ValueKind::kFile) continue;
    if (!file_cond.empty()) file_cond += " || ";
    file_cond += "npos " + std::string(pos.repeatable ? ">=" : "==") + " " +
                 std::to_string(j);
  }
  if (!file_cond.empty()) {
    out += "    if (( " + file_cond + " )); then\n";
    out += "        compopt -o filenames 2>/dev/null\n";
    out += "        mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n";
    out += "    fi\n";
  }
  out += "    return 0\n";
  out += "}\n";
  out += "complete -F " + fn + " " + std::string(spec.name) + "\n";
  return out;
}

std::string RenderZshCompletion(const ProgramSpec& spec) {
  std::vector<std::string> specs;
  for (const OptionSpec& opt : VisibleOptions(spec)) {
    const bool is_meta = opt.long_name == "help" || opt.long_name == "version";
    std::vector<std::string> forms;
    if (opt.short_name != 0) {
      forms.push_back("-" + std::string(1, opt.short_name) +
                      (TakesValue(opt) ? "+" : ""));
    }
    if (!opt.long_name.empty()) {
      forms.push_back("--" + std::string(opt.long_name) +
                      (TakesValue(opt) ? "=" : ""));
    }
    std::string prefix;
    if (is_meta) {
      prefix = "(- *)";  // excludes everything else
    } else if (opt.repeatable) {
      prefix = "*";
    } else {
      prefix = "(";
      if (opt.short_name != 0) {
        prefix += "-" + std::string(1, opt.short_name);
      }
      if (!opt.long_name.empty()) {
        if (opt.short_name != 0) prefix += ' ';
        prefix += "--" + std::string(opt.long_name);
      }
      prefix += ")";
    }
    std::string suffix = "[" + ZshDescription(opt.help) + "]";
    if (TakesValue(opt)) {
      suffix += ":" + ZshMessage(ValueName(opt)) + ":" +
                ZshAction(opt.kind, &opt);
    }
    for (const std::string& form : forms) {
      specs.push_back(ShSingleQuote(prefix + form + suffix));
    }
  }

  int number = 1;
  for (const PositionalSpec& pos : spec.positionals) {
    std::string message = ZshMessage(pos.name);
    std::string action = ZshAction(pos.kind, nullptr);
    if (pos.repeatable) {
      specs.push_back(ShSingleQuote("*:" + message + ":" + action));
      break;  // a repeatable positional takes all the remaining words
    }
    specs.push_back(ShSingleQuote(std::to_string(number) +
                                  (pos.required ? ":" : "::") + message + ":" +
                                  action));
    ++number;
  }

  std::string out;
  out += "#compdef " + std::string(spec.name) + "\n";
  out += "# zsh completion for " + std::string(spec.name) + "\n";
  out += "# Generated from the govstream option table (lib/cli); do not edit.\n";
  out += "# Regenerate with: " + std::string(spec.name) +
         " --generate zsh\n\n";
  out += "_arguments -s -S";
  for (const std::string& s : specs) {
    out += " \\\n  ";
    out += s;
  }
  out += "\n";
  return out;
}

std::string RenderFishCompletion(const ProgramSpec& spec) {
  const std::string name = FishSingleQuote(spec.name);
  std::string out;
  out += "# fish completion for " + std::string(spec.name) + "\n";
  out += "# Generated from the govstream option table (lib/cli); do not edit.\n";
  out += "# Regenerate with: " + std::string(spec.name) +
         " --generate fish\n\n";
  if (!HasFilePositional(spec)) {
    out += "complete -c " + name + " -f\n";
  }
  for (const OptionSpec& opt : VisibleOptions(spec)) {
    std::string line = "complete -c " + name;
    if (opt.short_name != 0) {
      line += " -s " + FishSingleQuote(std::string_view(&opt.short_name, 1));
    }
    if (!opt.long_name.empty()) {
      line += " -l " + FishSingleQuote(opt.long_name);
    }
    if (TakesValue(opt)) {
      line += " -r";
      if (opt.kind == ValueKind::kFile) {
        line += " -F";
      } else {
        line += " -f";
        if (opt.kind == ValueKind::kChoice) {
          line += " -a " + FishSingleQuote(JoinChoices(opt));
        }
      }
    }
    line += " -d " + FishSingleQuote(opt.help);
    out += line + "\n";
  }
  return out;
}

}  // namespace govstream::cli
