#include "lake/iceberg/schema.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace migsbyu::iceberg {
namespace {

Schema Base() {
  return Schema{0,
                {Field{1, "id", Type::Of(TypeId::kLong), true, ""},
                 Field{2, "name", Type::Of(TypeId::kString), false, ""},
                 Field{3, "gpa", Type::Decimal(3, 2), false, ""},
                 Field{4, "credits", Type::Of(TypeId::kInt), false, ""}},
                {1}};
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) {
    size_t b = part.find_first_not_of(' '), e = part.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(part.substr(b, e - b + 1));
  }
  return out;
}

SchemaChange ParseChange(const std::string& text) {
  std::vector<std::string> w = Split(text, ' ');
  EXPECT_GE(w.size(), 2u) << text;
  auto type = [&](size_t i) {
    auto t = ParseTypeName(w.at(i));
    EXPECT_TRUE(t.ok()) << text;
    return t.ok() ? *t : Type{};
  };
  if (w[0] == "add") return SchemaChange::AddColumn(w[1], type(2));
  if (w[0] == "drop") return SchemaChange::DropColumn(w[1]);
  if (w[0] == "rename") return SchemaChange::RenameColumn(w[1], w.at(2));
  EXPECT_EQ(w[0], "widen") << text;
  return SchemaChange::WidenColumn(w[1], type(2));
}

std::string Describe(const Schema& s) {
  std::string out;
  for (const auto& f : s.fields) {
    out += (out.empty() ? "" : ", ") + std::to_string(f.id) + ":" + f.name + ":" + TypeName(f.type);
  }
  return out;
}

TEST(SchemaTest, EvolutionCasesFromTestdata) {
  std::ifstream in(MIGSBYU_ICEBERG_TESTDATA "/schema_evolution.txt");
  ASSERT_TRUE(in) << "testdata missing";
  int cases = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    SCOPED_TRACE(line);
    ++cases;
    size_t arrow = line.find("=>");
    ASSERT_NE(arrow, std::string::npos);
    std::vector<SchemaChange> changes;
    for (const auto& c : Split(line.substr(0, arrow), ';')) changes.push_back(ParseChange(c));
    std::string expected = Split(line.substr(arrow + 2), '\n').at(0);
    int32_t last = 4;
    auto evolved = EvolveSchema(Base(), changes, &last, 7);
    if (expected == "error") {
      EXPECT_FALSE(evolved.ok());
      if (!evolved.ok()) {
        EXPECT_EQ(evolved.error().code(), ErrorCode::kInvalidArgument);
      }
      EXPECT_EQ(last, 4) << "a refused change must not consume ids";
      continue;
    }
    ASSERT_TRUE(evolved.ok()) << evolved.error().ToString();
    std::vector<std::string> parts = Split(expected, '|');
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(Describe(*evolved), parts[0]);
    EXPECT_EQ(last, std::stoi(parts[1]));
    EXPECT_EQ(evolved->schema_id, 7);
    EXPECT_EQ(evolved->identifier_field_ids, std::vector<int32_t>{1});
  }
  EXPECT_GE(cases, 25);
}

TEST(SchemaTest, DroppingTheLastColumnIsRefused) {
  Schema one{0, {Field{1, "only", Type::Of(TypeId::kInt), false, ""}}, {}};
  int32_t last = 1;
  EXPECT_FALSE(EvolveSchema(one, {SchemaChange::DropColumn("only")}, &last, 1).ok());
}

TEST(SchemaTest, TypeNamesParseBackAndMapToDuckDb) {
  std::vector<Type> types = {
      Type::Of(TypeId::kBoolean), Type::Of(TypeId::kInt),       Type::Of(TypeId::kLong),
      Type::Of(TypeId::kFloat),   Type::Of(TypeId::kDouble),    Type::Decimal(38, 10),
      Type::Of(TypeId::kDate),    Type::Of(TypeId::kTimestamp), Type::Of(TypeId::kTimestampTz),
      Type::Of(TypeId::kString),  Type::Of(TypeId::kBinary),    Type::Of(TypeId::kUuid)};
  for (const Type& t : types) {
    SCOPED_TRACE(TypeName(t));
    auto parsed = ParseTypeName(TypeName(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t);
    auto from_duck = TypeFromDuck(DuckTypeOf(t));
    ASSERT_TRUE(from_duck.ok());
    EXPECT_EQ(*from_duck, t);
  }
  EXPECT_EQ(*ParseTypeName("decimal( 9 , 2 )"), Type::Decimal(9, 2));
  EXPECT_FALSE(ParseTypeName("decimal(39,2)").ok());
  EXPECT_FALSE(ParseTypeName("decimal(5,6)").ok());
  EXPECT_FALSE(ParseTypeName("time").ok());
  EXPECT_FALSE(ParseTypeName("timestamp_ns").ok());
  // The lake's other DuckDB types.
  EXPECT_EQ(*TypeFromDuck("UBIGINT"), Type::Of(TypeId::kLong));
  EXPECT_EQ(*TypeFromDuck("SMALLINT"), Type::Of(TypeId::kInt));
  EXPECT_EQ(*TypeFromDuck("TIMESTAMP WITH TIME ZONE"), Type::Of(TypeId::kTimestampTz));
  EXPECT_EQ(*TypeFromDuck("DECIMAL(3,2)"), Type::Decimal(3, 2));
  EXPECT_FALSE(TypeFromDuck("HUGEINT").ok());
  EXPECT_FALSE(TypeFromDuck("INTEGER[]").ok());
}

TEST(SchemaTest, JsonRoundTripKeepsIdsDocsAndIdentifierFields) {
  Schema s = Base();
  s.schema_id = 3;
  s.fields[1].doc = "full name";
  auto back = SchemaFromJson(SchemaToJson(s), "test");
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->schema_id, 3);
  EXPECT_TRUE(back->SameColumns(s));
  auto j = SchemaToJson(s);
  EXPECT_EQ(j["type"], "struct");
  EXPECT_EQ(j["fields"][2]["type"], "decimal(3,2)");
  EXPECT_EQ(j["identifier-field-ids"], nlohmann::json::array({1}));
}

TEST(SchemaTest, HostileSchemasAreRefused) {
  const char* bad[] = {
      R"j({"type":"struct","schema-id":0,"fields":[]})j",
      R"j({"type":"struct","schema-id":0,"fields":[{"id":1,"name":"a","required":false,"type":"int"},{"id":1,"name":"b","required":false,"type":"int"}]})j",
      R"j({"type":"struct","schema-id":0,"fields":[{"id":1,"name":"a","required":false,"type":"int"},{"id":2,"name":"A","required":false,"type":"int"}]})j",
      R"j({"type":"struct","schema-id":0,"fields":[{"id":0,"name":"a","required":false,"type":"int"}]})j",
      R"j({"type":"struct","schema-id":0,"fields":[{"id":2147483546,"name":"a","required":false,"type":"int"}]})j",
      R"j({"type":"struct","schema-id":0,"fields":[{"id":1,"name":"","required":false,"type":"int"}]})j",
      R"j({"type":"struct","schema-id":0,"fields":[{"id":1,"name":"a","required":"no","type":"int"}]})j",
      R"j({"type":"struct","schema-id":0,"fields":[{"id":1,"name":"a","required":false,"type":{"type":"list"}}]})j",
      R"j({"type":"struct","schema-id":0,"fields":[{"id":1,"name":"a","required":false,"type":"decimal(40,1)"}]})j",
      R"j({"type":"struct","schema-id":0,"fields":[{"id":1,"name":"a","required":false,"type":"double"}],"identifier-field-ids":[1]})j",
      R"j({"type":"struct","schema-id":0,"fields":[{"id":1,"name":"a b","required":false,"type":"int"},{"id":2,"name":"a_x20b","required":false,"type":"int"}]})j",
      R"j({"type":"list","schema-id":0,"fields":[]})j",
      R"j([1,2,3])j",
  };
  for (const char* text : bad) {
    SCOPED_TRACE(text);
    auto s = SchemaFromJson(nlohmann::json::parse(text), "test");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), ErrorCode::kCorruption);
  }
}

TEST(SchemaTest, ParquetColumnNamesFollowAvroNaming) {
  EXPECT_EQ(ParquetColumnName("student_key"), "student_key");
  EXPECT_EQ(ParquetColumnName("first name"), "first_x20name");
  EXPECT_EQ(ParquetColumnName("1st"), "_1st");
  EXPECT_EQ(ParquetColumnName("a-b"), "a_x2Db");
  EXPECT_EQ(ParquetColumnName("\xC3\xA9t\xC3\xA9"), "_xE9t_xE9");    // "été"
  EXPECT_EQ(ParquetColumnName("\xF0\x9F\x98\x80"), "_xD83D_xDE00");  // U+1F600: two UTF-16 units
}

}  // namespace
}  // namespace migsbyu::iceberg
