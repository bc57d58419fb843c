#include <catch2/catch.hpp>

#include <string>

#include "agg/groups.h"
#include "stream/filter.h"
#include "stream/grouping.h"
#include "stream/shards.h"

using govstream::stream::FieldsToExpression;

TEST_CASE("fields option becomes a nested projection", "[stream]") {
  std::string text, error;
  REQUIRE(FieldsToExpression("host,client.ip,client.country,status", &text, &error));
  CHECK(text == R"({"host": .["host"], "client": {"ip": .["client"]["ip"], "country": .["client"]["country"]}, "status": .["status"]})");
  REQUIRE(FieldsToExpression("a.b,a", &text, &error));
  CHECK(text == R"({"a": .["a"]})");
  CHECK_FALSE(FieldsToExpression("", &text, &error));
  CHECK_FALSE(FieldsToExpression("a,,b", &text, &error));
  CHECK_FALSE(FieldsToExpression("a..b", &text, &error));
}

// ShardedGroups against one GroupTable fed the same records: the same
// groups, in the same (first-seen) order, with byte-identical results --
// floating-point sums and sketches included -- and the same memory figure.
namespace {

std::string GroupsText(const std::vector<const govstream::agg::Group*>& groups) {
  std::string out;
  for (const auto* g : groups) {
    for (const std::string& k : g->key_json) out += k + ' ';
    for (const auto& st : g->states) {
      st->AppendResult(&out);
      out += ' ';
    }
    out += '\n';
  }
  return out;
}

}  // namespace

TEST_CASE("sharded groups give what one table gives", "[stream]") {
  namespace ga = govstream::agg;
  namespace gs = govstream::stream;
  std::vector<ga::AggSpec> aggs;
  for (const char* text : {"count", "sum(.x)", "p99(.x)", "first(.x)", "approx_distinct(.x)", "top(.x, 3)"}) {
    ga::AggSpec spec;
    REQUIRE(ga::ParseAggSpec(text, false, &spec).ok());
    aggs.push_back(std::move(spec));
  }
  for (int shards : {1, 3, 7}) {
    ga::GroupTable table(&aggs, 1, 0);
    gs::ShardedGroups sharded(shards, &aggs, 1);
    std::vector<gs::AggSkips> skips(aggs.size()), sharded_skips(aggs.size());
    std::string encoded;
    for (int i = 0; i < 20000; ++i) {
      // Keys repeat irregularly; values are floats whose sum depends on order.
      const std::string key = "\"k" + std::to_string((i * 7919) % 613 % (i % 5 + 1 + i / 97)) + "\"";
      const std::vector<std::string> key_json{key};
      std::vector<gs::AggArg> args(aggs.size());
      for (auto& a : args) {
        a.result = govstream::expr::Expression::Result::kValue;
        a.value = i % 13 == 0 ? govstream::expr::Value::Null() : govstream::expr::Value::Number(0.1 * i + 1e-7 * (i % 11));
      }
      const std::string canonical = "[" + key + "]";
      ga::Group* g = table.Find(canonical, key_json);
      gs::FeedAggregates(aggs, args, g->states, &skips);
      encoded.clear();
      gs::EncodeKeyArgs(canonical, key_json, args, &encoded);
      sharded.Add(encoded);
      if (i == 12345) {  // a --reset snapshot
        sharded.Sync();
        CHECK(GroupsText(sharded.Ordered()) == GroupsText(table.Ordered()));
        table.Clear();
        sharded.Clear();
      }
    }
    sharded.Sync();
    sharded.AddSkips(&sharded_skips);
    CHECK(sharded.size() == table.size());
    CHECK(sharded.MemoryBytes() == table.MemoryBytes());
    CHECK(GroupsText(sharded.Ordered()) == GroupsText(table.Ordered()));
    for (size_t i = 0; i < aggs.size(); ++i) CHECK(sharded_skips[i].missing == skips[i].missing);
  }
}
