// Data-driven tests of the Debezium envelope (tests/kafka/testdata):
//   encode/*.json    a ChangeEvent (typed values) and options → the exact key and value JSON;
//                    with "roundtrip": true the expected messages also decode back to the event.
//   debezium/*.json  key and value messages in Debezium's documented format → the ChangeEvent
//                    they must decode to (values compared in PostgreSQL's text form).
// MIGSBYU_UPDATE_GOLDEN=1 rewrites the expected messages of encode/*.json (review the diff).
#include "transport/kafka/envelope.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "transport/kafka/testing.h"

namespace migsbyu::kafka {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

const fs::path kTestData = MIGSBYU_KAFKA_TESTDATA;

std::vector<fs::path> Files(const std::string& folder) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kTestData / folder)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

EnvelopeOptions OptionsFrom(const json& o) {
  EnvelopeOptions options;
  if (o.contains("topic.prefix")) options.topic_prefix = o["topic.prefix"];
  if (o.contains("schemas.enable")) options.schemas_enable = o["schemas.enable"];
  if (o.contains("decimal.handling.mode")) {
    options.decimal_handling = *ParseDecimalHandling(o["decimal.handling.mode"].get<std::string>());
  }
  if (o.contains("time.precision.mode")) {
    options.time_precision = *ParseTimePrecision(o["time.precision.mode"].get<std::string>());
  }
  return options;
}

TEST(EnvelopeTest, EncodesEveryCaseExactly) {
  const bool update = std::getenv("MIGSBYU_UPDATE_GOLDEN") != nullptr;
  auto files = Files("encode");
  ASSERT_GE(files.size(), 5u);
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    json c = testing::ReadJson(path);
    auto table =
        testing::TableFromJson(testing::ReadJson(kTestData / c["table"].get<std::string>()));
    events::ChangeEvent event = testing::EventFromJson(c["event"], table);
    EnvelopeContext ctx = testing::ContextFromJson(c["context"]);
    EnvelopeOptions options = OptionsFrom(c["options"]);

    auto key = EncodeKey(event, options);
    ASSERT_TRUE(key.ok()) << key.error().ToString();
    auto value = EncodeValue(event, ctx, options);
    ASSERT_TRUE(value.ok()) << value.error().ToString();
    json key_json = key->has_value() ? json::parse(**key) : json(nullptr);
    json value_json = json::parse(*value);
    if (update) {
      c["expected_key"] = key_json;
      c["expected_value"] = value_json;
      std::ofstream(path) << c.dump(2) << "\n";
      continue;
    }
    EXPECT_EQ(key_json, c["expected_key"]);
    EXPECT_EQ(value_json, c["expected_value"]);

    if (c.value("roundtrip", false)) {
      std::string k = c["expected_key"].dump(), v = c["expected_value"].dump();
      auto decoded = DecodeEnvelope(c["expected_key"].is_null() ? nullptr : &k, &v);
      ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
      ASSERT_TRUE(decoded->has_value());
      const auto& d = **decoded;
      EXPECT_EQ(d.change.table->columns, event.table->columns);
      EXPECT_EQ(d.change.table->schema, event.table->schema);
      EXPECT_EQ(d.change.table->name, event.table->name);
      EXPECT_EQ(d.change.op, event.op);
      EXPECT_EQ(d.change.before, event.before);
      EXPECT_EQ(d.change.after, event.after);
      EXPECT_EQ(d.change.commit_lsn, event.commit_lsn);
      EXPECT_EQ(d.change.lsn, event.lsn);
      EXPECT_EQ(d.change.position, event.position);
      EXPECT_EQ(d.change.xid, event.xid);
      EXPECT_EQ(d.change.commit_time_us, event.commit_time_us);
      EXPECT_EQ(d.change.actor, event.actor);
      EXPECT_EQ(d.tx.end_lsn, ctx.end_lsn);
      EXPECT_EQ(d.tx.snapshot, ctx.snapshot);
    }
  }
}

// The schema part is parsed once per schema text (a cache); a value whose layout the cache does
// not recognise ("payload" before "schema", spaces) is parsed whole. All decode alike.
TEST(EnvelopeTest, DecodesTheSameWithTheSchemaCacheAsWithAFullParse) {
  size_t cases = 0;
  for (const auto& path : Files("encode")) {
    json c = testing::ReadJson(path);
    if (!c.value("roundtrip", false) || !c["expected_value"].contains("schema")) continue;
    SCOPED_TRACE(path.filename().string());
    ++cases;
    std::string k = c["expected_key"].dump();
    const std::string* key = c["expected_key"].is_null() ? nullptr : &k;
    json reordered = json::object();
    reordered["payload"] = c["expected_value"]["payload"];
    reordered["schema"] = c["expected_value"]["schema"];
    std::vector<std::string> values = {c["expected_value"].dump(), c["expected_value"].dump(),
                                       c["expected_value"].dump(1), reordered.dump()};
    std::vector<json> described;
    for (const auto& v : values) {
      auto decoded = DecodeEnvelope(key, &v);
      ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
      ASSERT_TRUE(decoded->has_value());
      described.push_back(testing::DescribeDecoded(**decoded));
    }
    for (size_t i = 1; i < described.size(); ++i) EXPECT_EQ(described[i], described[0]) << i;
  }
  EXPECT_GE(cases, 1u);
}

TEST(EnvelopeTest, DecodesDebeziumDocumentedEvents) {
  auto files = Files("debezium");
  ASSERT_GE(files.size(), 7u);
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    json c = testing::ReadJson(path);
    std::string key = c["key"].dump(), value = c["value"].dump();
    auto decoded = DecodeEnvelope(c["key"].is_null() ? nullptr : &key,
                                  c["value"].is_null() ? nullptr : &value);
    ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
    if (c["expected"].is_null()) {
      EXPECT_FALSE(decoded->has_value()) << "a tombstone decodes to nothing";
      continue;
    }
    ASSERT_TRUE(decoded->has_value());
    EXPECT_EQ(testing::DescribeDecoded(**decoded), c["expected"]);
  }
}

TEST(EnvelopeTest, RejectsMalformedMessagesNamingTheProblem) {
  std::string not_json = "{\"payload\":";
  auto r = DecodeEnvelope(nullptr, &not_json);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kCorruption);

  std::string bad_op = R"({"op":"x","source":{"schema":"public","table":"t"},"after":{}})";
  r = DecodeEnvelope(nullptr, &bad_op);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("public.t"), std::string::npos) << r.error().message();

  std::string bad_value = R"({"schema":{"type":"struct","fields":[{"type":"struct","field":"after",
    "fields":[{"type":"int32","optional":false,"field":"id"}]}]},
    "payload":{"op":"c","source":{"schema":"public","table":"t","lsn":5},"after":{"id":"seven"}}})";
  r = DecodeEnvelope(nullptr, &bad_value);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("public.t.id"), std::string::npos) << r.error().message();
}

// Debezium's IsoDate and IsoTimestamp strings and string-mode decimals are read by the strict
// parsers of common/: a day that does not exist is refused, not carried into the next month.
TEST(EnvelopeTest, DecodesIsoDatesTimestampsAndDecimalsStrictly) {
  auto decode = [](const std::string& type, const std::string& name, const std::string& value) {
    std::string message = R"({"schema":{"type":"struct","fields":[{"type":"struct","field":"after",
      "fields":[{"type":")" +
                          type + R"(","optional":false,"name":")" + name +
                          R"(","field":"v"}]}]},
      "payload":{"op":"c","source":{"schema":"public","table":"t","lsn":5},"after":{"v":)" +
                          value + "}}}";
    return DecodeEnvelope(nullptr, &message);
  };
  auto value = [&](const std::string& type, const std::string& name, const std::string& json) {
    auto r = decode(type, name, json);
    EXPECT_TRUE(r.ok() && r->has_value()) << json << ": " << (r.ok() ? "" : r.error().ToString());
    return r.ok() && r->has_value() ? (*(*r)->change.after)[0] : events::Value::Null();
  };
  EXPECT_EQ(value("string", "io.debezium.time.IsoDate", R"("2024-02-29")").integer, 19782);
  EXPECT_EQ(value("string", "io.debezium.time.IsoTimestamp", R"("1970-01-01T00:00:01.5")").integer,
            1500000);
  EXPECT_EQ(
      value("string", "io.debezium.time.ZonedTimestamp", R"("1970-01-01T01:00:00+01:00")").integer,
      0);
  for (const auto& [type, name, json] : std::vector<std::array<std::string, 3>>{
           {"string", "io.debezium.time.IsoDate", R"("2024-02-31")"},
           {"string", "io.debezium.time.IsoDate", R"("2023-02-29")"},
           {"string", "io.debezium.time.IsoDate", R"("2024-01-01T00:00:00Z")"},
           {"string", "io.debezium.time.IsoTimestamp", R"("2024-04-31T10:00:00")"},
           {"string", "io.debezium.time.IsoTimestamp", R"("2024-01-01")"},
           {"string", "io.debezium.time.ZonedTimestamp", R"("2024-01-01T24:00:00Z")"}}) {
    auto r = decode(type, name, json);
    ASSERT_FALSE(r.ok()) << name << " " << json;
    EXPECT_EQ(r.error().code(), ErrorCode::kCorruption);
    EXPECT_NE(r.error().message().find("public.t.v"), std::string::npos) << r.error().message();
  }
}

// source.changed_by and source.origin are ours: read back as written, absent from Debezium's
// events (which were made outside MigsbyU), and checked like any other input.
TEST(EnvelopeTest, TheActorTravelsInTheSourceBlock) {
  auto table = testing::TableFromJson(testing::ReadJson(kTestData / "table_students.json"));
  events::ChangeEvent e;
  e.op = events::Operation::kInsert;
  e.table = table;
  e.after = events::Row(table->columns.size());
  (*e.after)[0] = events::Value::Integer(1);
  for (const Actor& actor :
       {Actor::Portal("registrar1"), Actor::Portal(std::nullopt), Actor::Simulator(), Actor::Cli(),
        Actor::Snapshot(), Actor::Database()}) {
    e.actor = actor;
    for (bool schemas : {true, false}) {
      EnvelopeOptions o;
      o.schemas_enable = schemas;
      auto value = EncodeValue(e, {}, o);
      ASSERT_TRUE(value.ok()) << value.error().ToString();
      auto decoded = DecodeEnvelope(nullptr, &*value);
      ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
      ASSERT_TRUE(decoded->has_value());
      EXPECT_EQ((*decoded)->change.actor, actor) << *value;
    }
  }
  const std::string base = R"({"op":"c","after":{"id":1},"source":{"schema":"public","table":"t")";
  for (const auto& [source, message] : std::vector<std::pair<std::string, std::string>>{
           {R"(,"origin":7)", "origin is not a string"},
           {R"(,"origin":"Portal")", "origin 'Portal'"},
           {R"(,"origin":"portal","changed_by":["a"])", "changed_by is not a string"},
           {R"(,"origin":"portal","changed_by":"a\nb")", "control character"},
           {R"(,"origin":"portal","changed_by":"")", "user of 0 bytes"}}) {
    std::string value = base + source + "}}";
    auto r = DecodeEnvelope(nullptr, &value);
    ASSERT_FALSE(r.ok()) << value;
    EXPECT_EQ(r.error().code(), ErrorCode::kCorruption);
    EXPECT_NE(r.error().message().find(message), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("public.t"), std::string::npos) << r.error().message();
  }
  std::string unclaimed = base + R"(,"changed_by":"ignored without an origin"}})";
  auto r = DecodeEnvelope(nullptr, &unclaimed);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ((*r)->change.actor, Actor::Database());
}

TEST(EnvelopeTest, RefusesANumericWithMoreDecimalsThanItsScaleInPreciseMode) {
  auto table = testing::TableFromJson(testing::ReadJson(kTestData / "table_students.json"));
  events::ChangeEvent e;
  e.table = table;
  e.after = events::Row(table->columns.size());
  (*e.after)[0] = events::Value::Integer(1);
  (*e.after)[2] = events::Value::Text("3.755");
  EnvelopeOptions o;
  o.decimal_handling = DecimalHandling::kPrecise;
  auto v = EncodeValue(e, {}, o);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message().find("public.students.gpa"), std::string::npos);
}

TEST(EnvelopeTest, ATopicNamesItsTable) {
  EnvelopeOptions options;
  events::TableSchema students;
  students.schema = "public";
  students.name = "students";
  EXPECT_EQ(TopicName(options, students), "migsbyu.public.students");
  EXPECT_EQ(TableOfTopic(TopicName(options, students)), "students");
  EXPECT_EQ(TableOfTopic("dbserver1.inventory.customers"), "customers");
  EXPECT_EQ(TableOfTopic("plain"), "plain");
}

TEST(EnvelopeTest, ParsesOptionNamesAsDebeziumSpellsThem) {
  EXPECT_EQ(*ParseDecimalHandling("precise"), DecimalHandling::kPrecise);
  EXPECT_EQ(*ParseTimePrecision("adaptive"), TimePrecision::kAdaptive);
  EXPECT_EQ(*ParseTimePrecision("connect"), TimePrecision::kConnect);
  EXPECT_FALSE(ParseDecimalHandling("exact").ok());
  EXPECT_FALSE(ParseTimePrecision("seconds").ok());
}

TEST(EnvelopeTest, TransactionRecordsDecodeWithTheirCountsSchemasOnOrOff) {
  for (bool schemas : {true, false}) {
    EnvelopeOptions options;
    options.schemas_enable = schemas;
    auto [bk, bv] =
        EncodeTransactionRecord("571:23966520", std::nullopt, 1706695530001000, options);
    auto begin = DecodeTransactionRecord(&bk, &bv);
    ASSERT_TRUE(begin.ok()) << begin.error().ToString();
    EXPECT_FALSE(begin->end);
    EXPECT_EQ(begin->id, "571:23966520");
    auto [ek, ev] = EncodeTransactionRecord(
        "571:23966520",
        std::vector<DataCollectionCount>{{"public.courses", 1}, {"public.students", 2}},
        1706695530001000, options);
    auto end = DecodeTransactionRecord(&ek, &ev);
    ASSERT_TRUE(end.ok()) << end.error().ToString();
    EXPECT_TRUE(end->end);
    EXPECT_EQ(end->event_count, 3u);
    ASSERT_EQ(end->collections.size(), 2u);
    EXPECT_EQ(end->collections[1].data_collection, "public.students");
    EXPECT_EQ(end->collections[1].event_count, 2u);
  }
  // Debezium's own END record (testdata/debezium/transaction_metadata_end.json).
  json c = testing::ReadJson(kTestData / "debezium" / "transaction_metadata_end.json");
  std::string key = c["key"].dump(), value = c["value"].dump();
  auto debezium = DecodeTransactionRecord(&key, &value);
  ASSERT_TRUE(debezium.ok()) << debezium.error().ToString();
  EXPECT_EQ(debezium->id, "580:22988680");
  EXPECT_EQ(debezium->event_count, 3u);
  for (const char* bad : {R"({"status": "END", "id": "1:2"})", R"({"id": "1:2"})",
                          R"({"status": "COMMIT", "id": "1:2"})", "not json"}) {
    std::string v = bad;
    auto r = DecodeTransactionRecord(nullptr, &v);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kCorruption) << bad;
  }
}

}  // namespace
}  // namespace migsbyu::kafka
