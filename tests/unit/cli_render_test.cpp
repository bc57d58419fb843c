// Tests for the man page and completion renderers (cli/render.h), and
// invariants of every real program's option table (cli/spec.h).
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cli/args.h"
#include "cli/render.h"
#include "cli/spec.h"

namespace govstream::cli {
namespace {

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

// A made-up program exercising every feature of the table.
const ProgramSpec& TestSpec() {
  static const ProgramSpec spec = [] {
    ProgramSpec s;
    s.name = "demo-tool";
    s.summary = "frobnicate NDJSON records";
    s.usage = "demo-tool [OPTIONS] EXPR [FILE...]";
    s.description =
        "Reads records and frobnicates them.\n"
        ".starts with a dot and has a C:\\path backslash.\n"
        "\n"
        "A literal block follows:\n"
        "  demo-tool '.a' < in.ndjson\n"
        "'starts with a quote.";
    s.positionals = {
        {.name = "EXPR",
         .kind = ValueKind::kExpr,
         .help = "the predicate",
         .required = true},
        {.name = "FILE",
         .kind = ValueKind::kFile,
         .help = "input files",
         .repeatable = true},
    };
    s.options = {
        {.long_name = "input",
         .short_name = 'i',
         .kind = ValueKind::kFile,
         .value_name = "FILE",
         .help = "read from FILE instead of standard input",
         .repeatable = true},
        {.long_name = "format",
         .short_name = 'f',
         .kind = ValueKind::kChoice,
         .value_name = "FMT",
         .help = "output format",
         .details = "Choose wisely.\n\n  demo-tool -f csv",
         .default_text = "json",
         .choices = {"json", "csv", "tsv-wide"}},
        {.long_name = "limit",
         .kind = ValueKind::kCount,
         .value_name = "N",
         .help = "stop after N records (it's a limit [hard])"},
        {.long_name = "strict",
         .value_name = {},
         .help = "treat the first bad line as fatal"},
        {.long_name = "line-buffered",
         .value_name = {},
         .help = "flush after every record"},
        {.long_name = "secret-debug",
         .short_name = 'Z',
         .value_name = {},
         .help = "internal debugging",
         .hidden = true},
    };
    s.sections = {{.heading = "Notes", .text = "Some notes.\n\\backslash."}};
    s.exit_codes = {{0, "success"}, {2, "usage error"}};
    s.examples = {
        {.description = "Keep the errors:",
         .command = "demo-tool '.status >= 500' access.ndjson"}};
    s.see_also = {"jq(1)", "govstream(7)"};
    return s;
  }();
  return spec;
}

std::vector<std::string> AllRenderings(const ProgramSpec& spec) {
  return {RenderManPage(spec, "1.2.3"), RenderBashCompletion(spec),
          RenderZshCompletion(spec), RenderFishCompletion(spec)};
}

TEST_CASE("renderers include every visible option and never hidden ones",
          "[cli][render]") {
  const ProgramSpec& spec = TestSpec();
  const std::string man = RenderManPage(spec, "1.2.3");
  const std::string bash = RenderBashCompletion(spec);
  const std::string zsh = RenderZshCompletion(spec);
  const std::string fish = RenderFishCompletion(spec);

  for (const OptionSpec& opt : spec.options) {
    std::string long_roff = "\\-\\-";
    for (char c : opt.long_name) {
      long_roff += (c == '-') ? std::string("\\-") : std::string(1, c);
    }
    const std::string long_shell = "--" + std::string(opt.long_name);
    const std::string fish_long = "-l '" + std::string(opt.long_name) + "'";
    INFO("option --" << opt.long_name);
    if (opt.hidden) {
      CHECK_FALSE(Contains(man, long_roff));
      CHECK_FALSE(Contains(man, "internal debugging"));
      CHECK_FALSE(Contains(bash, long_shell));
      CHECK_FALSE(Contains(bash, "-Z"));
      CHECK_FALSE(Contains(zsh, long_shell));
      CHECK_FALSE(Contains(zsh, "-Z"));
      CHECK_FALSE(Contains(fish, fish_long));
      CHECK_FALSE(Contains(fish, "-s 'Z'"));
    } else {
      CHECK(Contains(man, long_roff));
      CHECK(Contains(bash, long_shell));
      CHECK(Contains(zsh, long_shell));
      CHECK(Contains(fish, fish_long));
    }
  }
  // --help/-h, --version and --generate are always added.
  CHECK(Contains(man, "\\fB\\-h\\fR, \\fB\\-\\-help\\fR"));
  CHECK(Contains(man, "\\fB\\-\\-version\\fR"));
  CHECK(Contains(man, "\\fB\\-\\-generate\\fR \\fIFORMAT\\fR"));
  CHECK(Contains(bash, "--generate"));
  CHECK(Contains(zsh, "--generate=["));
  CHECK(Contains(fish, "-l 'generate'"));
  // --help mentions `--generate man`, so it lists the option.
  CHECK(Contains(RenderHelp(spec), "--generate FORMAT"));
  CHECK(Contains(bash, "--help"));
  CHECK(Contains(bash, "-h"));
  CHECK(Contains(bash, "--version"));
  CHECK(Contains(zsh, "-h["));
  CHECK(Contains(zsh, "--help["));
  CHECK(Contains(zsh, "--version["));
  CHECK(Contains(fish, "-s 'h' -l 'help'"));
  CHECK(Contains(fish, "-l 'version'"));
}

TEST_CASE("man page structure", "[cli][render]") {
  const std::string man = RenderManPage(TestSpec(), "1.2.3");
  CHECK(Contains(man,
                 ".TH \"DEMO\\-TOOL\" 1 \"2026-11\" \"govstream 1.2.3\" "
                 "\"govstream manual\"\n"));
  CHECK(Contains(man, ".SH NAME\ndemo\\-tool \\- frobnicate NDJSON records\n"));
  CHECK(Contains(man, ".SH SYNOPSIS\n\\fBdemo\\-tool\\fR [OPTIONS] EXPR"));
  for (std::string_view heading :
       {".SH DESCRIPTION", ".SH ARGUMENTS", ".SH OPTIONS", ".SH \"NOTES\"",
        ".SH \"EXIT STATUS\"", ".SH EXAMPLES", ".SH \"SEE ALSO\""}) {
    INFO(heading);
    CHECK(Contains(man, heading));
  }
  // Option tag: bold names, italic value.
  CHECK(Contains(man, ".TP\n\\fB\\-i\\fR, \\fB\\-\\-input\\fR \\fIFILE\\fR\n"));
  CHECK(Contains(man, "\\fB\\-\\-line\\-buffered\\fR\n"));
  CHECK(Contains(man, "May be repeated."));
  CHECK(Contains(man, "[default: \\fBjson\\fR]"));
  CHECK(Contains(man, "\\fBtsv\\-wide\\fR"));
  CHECK(Contains(man, "\\fIFILE\\fR..."));
  // Literal blocks.
  CHECK(Contains(man, ".nf\ndemo\\-tool \\(aq.a\\(aq < in.ndjson\n.fi\n"));
  CHECK(Contains(man, ".IP\n.RS\n.RS 4\n.nf\ndemo\\-tool \\-f csv\n.fi\n.RE\n.RE\n"));
  CHECK(Contains(man, ".nf\ndemo\\-tool \\(aq.status >= 500\\(aq access.ndjson\n"));
  CHECK(Contains(man, "\\fBjq\\fR(1),\n\\fBgovstream\\fR(7)\n"));
  // Exit codes.
  CHECK(Contains(man, ".TP\n\\fB2\\fR\nusage error.\n"));
}

TEST_CASE("man page escapes roff control characters", "[cli][render]") {
  const std::string man = RenderManPage(TestSpec(), "1.2.3");
  // A leading dot is protected; a backslash becomes \e.
  CHECK(Contains(man, "\n\\&.starts with a dot and has a C:\\epath backslash.\n"));
  CHECK(Contains(man, "\n\\ebackslash.\n"));
  // A leading apostrophe is no longer a control character.
  CHECK(Contains(man, "\n\\(aqstarts with a quote.\n"));
  // No line other than our own requests starts with '.' or '\''.
  const std::set<std::string> requests = {
      ".TH", ".SH", ".TP", ".PP", ".IP", ".RS", ".RE", ".nf", ".fi", ".br", ".\\\""};
  for (const std::string& line : Lines(man)) {
    INFO(line);
    CHECK(line.rfind('\'', 0) != 0);
    if (!line.empty() && line[0] == '.') {
      CHECK(requests.count(line.substr(0, std::min<size_t>(3, line.size()))) ==
            1);
    }
  }
  // No raw hyphen survives in the option list, and no empty lines.
  CHECK_FALSE(Contains(man, "--input"));
  CHECK_FALSE(Contains(man, "\n\n"));
}

TEST_CASE("completions offer choices and files", "[cli][render]") {
  const ProgramSpec& spec = TestSpec();
  const std::string bash = RenderBashCompletion(spec);
  const std::string zsh = RenderZshCompletion(spec);
  const std::string fish = RenderFishCompletion(spec);

  // bash
  CHECK(Contains(bash, "_demo_tool()\n"));
  CHECK(Contains(bash, "complete -F _demo_tool demo-tool\n"));
  CHECK(Contains(bash, "-f|--format)\n"));
  CHECK(Contains(bash, "compgen -W 'json csv tsv-wide'"));
  CHECK(Contains(bash, "-i|--input)\n            compopt -o filenames"));
  CHECK(Contains(bash, "compgen -f"));
  // The FILE positional (index 1, repeatable) completes files; EXPR does not.
  CHECK(Contains(bash, "if (( npos >= 1 )); then"));

  // zsh
  CHECK(Contains(zsh, "#compdef demo-tool\n"));
  CHECK(Contains(zsh, "_arguments"));
  CHECK(Contains(zsh, "'*-i+[read from FILE instead of standard input]:FILE:_files'"));
  CHECK(Contains(zsh, "'*--input=[read from FILE instead of standard input]:FILE:_files'"));
  CHECK(Contains(zsh, "'(-f --format)--format=[output format]:FMT:(json csv tsv-wide)'"));
  CHECK(Contains(zsh, "'(-f --format)-f+[output format]:FMT:(json csv tsv-wide)'"));
  CHECK(Contains(zsh, "'(--strict)--strict[treat the first bad line as fatal]'"));
  // Help text with a single quote and brackets.
  CHECK(Contains(zsh, "[stop after N records (it'\\''s a limit \\[hard\\])]:N: '"));
  CHECK(Contains(zsh, "'1:EXPR: '"));
  CHECK(Contains(zsh, "'*:FILE:_files'"));

  // fish
  CHECK(Contains(fish, "complete -c 'demo-tool' -s 'i' -l 'input' -r -F -d "
                       "'read from FILE instead of standard input'\n"));
  CHECK(Contains(fish, "-l 'format' -r -f -a 'json csv tsv-wide' -d 'output format'"));
  CHECK(Contains(fish, "-d 'stop after N records (it\\'s a limit [hard])'"));
  CHECK(Contains(fish, "complete -c 'demo-tool' -l 'strict' -d "));
  // FILE positionals: file completion stays on.
  CHECK_FALSE(Contains(fish, "complete -c 'demo-tool' -f\n"));

  ProgramSpec no_files = spec;
  no_files.positionals.pop_back();
  CHECK(Contains(RenderFishCompletion(no_files),
                 "complete -c 'demo-tool' -f\n"));
  CHECK_FALSE(Contains(RenderBashCompletion(no_files), "npos >="));
}

TEST_CASE("rendering is deterministic", "[cli][render]") {
  const std::vector<std::string> first = AllRenderings(TestSpec());
  const std::vector<std::string> second = AllRenderings(TestSpec());
  CHECK(first == second);
  ProgramSpec copy = TestSpec();
  CHECK(AllRenderings(copy) == first);
  for (const std::string& text : first) {
    CHECK_FALSE(text.empty());
    CHECK(text.back() == '\n');
  }
}

TEST_CASE("every program's option table is well-formed", "[cli][spec]") {
  const std::vector<const ProgramSpec*>& programs = AllPrograms();
  REQUIRE_FALSE(programs.empty());
  std::set<std::string_view> program_names;
  for (const ProgramSpec* program : programs) {
    REQUIRE(program != nullptr);
    const ProgramSpec& spec = *program;
    INFO("program " << spec.name);
    CHECK_FALSE(spec.name.empty());
    CHECK(program_names.insert(spec.name).second);
    CHECK_FALSE(spec.summary.empty());
    CHECK_FALSE(spec.usage.empty());

    std::set<std::string_view> long_names = {"help", "version", "generate"};
    std::set<char> short_names = {'h'};
    for (const OptionSpec& opt : spec.options) {
      INFO("option --" << opt.long_name);
      CHECK_FALSE(opt.long_name.empty());
      CHECK_FALSE(opt.help.empty());
      CHECK(long_names.insert(opt.long_name).second);
      if (opt.short_name != 0) {
        CHECK(short_names.insert(opt.short_name).second);
      }
      if (opt.kind == ValueKind::kChoice) {
        CHECK_FALSE(opt.choices.empty());
      } else {
        CHECK(opt.choices.empty());
      }
      if (opt.kind == ValueKind::kFlag) {
        CHECK(opt.value_name.empty());
        CHECK(opt.default_text.empty());
      } else {
        CHECK_FALSE(opt.value_name.empty());
      }
    }
    for (const PositionalSpec& pos : spec.positionals) {
      INFO("positional " << pos.name);
      CHECK_FALSE(pos.name.empty());
      CHECK_FALSE(pos.help.empty());
    }

    std::set<int> codes;
    for (const ExitCodeSpec& ec : spec.exit_codes) {
      CHECK(codes.insert(ec.code).second);
      CHECK_FALSE(ec.meaning.empty());
    }
    CHECK(codes.count(kExitOk) == 1);
    CHECK(codes.count(kExitUsage) == 1);
    CHECK_FALSE(spec.examples.empty());
    for (const ExampleSpec& ex : spec.examples) {
      CHECK_FALSE(ex.command.empty());
    }

    // Every renderer works for every real program and keeps it visible.
    for (const std::string& text : AllRenderings(spec)) {
      CHECK(Contains(text, "version"));
    }
  }
}

}  // namespace
}  // namespace govstream::cli
