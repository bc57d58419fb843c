// libFuzzer target: the expression language. Input = an expression text;
// it must either be refused with a Status or compile and then evaluate on a
// few fixed records without crashing, hanging or leaking.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "expr/expr.h"
#include "expr/json.h"

namespace ge = govstream::expr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::unique_ptr<ge::Expression> e;
  if (!ge::Expression::Compile(text, &e).ok()) return 0;
  static const char* const kRecords[] = {
      R"({"a":1,"b":"x","c":[1,2,{"d":null}],"e":{"f":true},"path":"/api/v1/x","n":-2.5})",
      R"([1,"two",null,false,{"a":[]}])",
      R"("2015-03-05T23:51:47Z")",
      R"(null)",
      R"(12345678901234567890123)",
  };
  ge::JsonParser parser;
  ge::Arena arena;
  for (const char* rec : kRecords) {
    std::string line(rec);
    line.append(64, ' ');
    ge::Value v, out;
    std::string error;
    arena.Reset();
    if (!parser.Parse(std::string_view(line.data(), std::string_view(rec).size()), &arena, &v, &error)) continue;
    (void)e->Eval(v, &arena, &out, &error);
    if (out.kind() != ge::Kind::kNull) (void)ge::ToJson(out);
  }
  return 0;
}
