#include <catch2/catch.hpp>

#include <string>

#include "stream/filter.h"

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
