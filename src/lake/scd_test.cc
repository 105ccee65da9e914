// Runs the SCD cases kept as data files in testdata/scd/*.test, DuckDB-style: a sequence of
// changes, then queries over the lake with their expected rows. Directives (one per line):
//   tracked <table> <col,col,...>       columns whose change makes a version (before any change)
//   table <name> <col:TYPE[:key],...>   a captured table outside the contract: its columns (DuckDB
//                                         types INTEGER, VARCHAR, DATE) and primary key
//   begin <commit_lsn> <commit_time_us>  opens a transaction (xid = commit_lsn)
//   snapshot <commit_lsn> <commit_time_us> <table,table,...>   opens a snapshot transaction
//                                         copying those tables (actor NULL snapshot)
//   refused <substring> <change directive...>   the change must fail, its error naming the
//                                         substring ("_" a space); the writer is then reopened
//                                         (what is committed but not flushed is lost with it)
//   insert|read <table> col=value ...     a change; unlisted columns are NULL
//   update <table> col=value ... <- col=value ...   after <- before
//   delete <table> col=value ...          the before image
//   truncate <table>
//   addcolumn <table> <name>              later changes of <table> carry a new text column
//   commit <end_lsn>                      commits (end_lsn optional: commit_lsn + 1)
//   actor <user|NULL> <origin>            the changes after it in the open transaction were made
//                                         by this actor (from begin on: NULL database); "_" in
//                                         the user is a space
//   strip-actors                          rewrites every change log and dimension file without
//                                         the actor columns: a lake written before they existed
//   flush                                 publishes what is committed
//   restart | rebuild | compact           reopen the writer / rebuild dims and fact / compact all
//   query  then SQL lines, "----", expected rows ("|"-separated, NULL for null), a blank line
// Values: "_" stands for a space inside a value.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lake/lake.h"
#include "lake/lake_sink.h"

namespace migsbyu::lake {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

class ScdCase {
 public:
  explicit ScdCase(std::string file) : file_(std::move(file)) {
    dir_ = (fs::temp_directory_path() /
            ("scd_" + fs::path(file_).stem().string() + "_" + std::to_string(getpid())))
               .string();
    fs::remove_all(dir_);
  }
  ~ScdCase() {
    sink_.reset();  // its writer's threads (the Iceberg publisher's) write into dir_ until then
    fs::remove_all(dir_);
  }

  void Run() {
    std::ifstream in(file_);
    ASSERT_TRUE(in) << file_;
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    Open();
    for (size_t i = 0; i < lines.size(); ++i) {
      line_no_ = i + 1;
      const std::string& line = lines[i];
      if (line.empty() || line[0] == '#') continue;
      auto words = Split(line, ' ');
      const std::string& cmd = words[0];
      SCOPED_TRACE(file_ + ":" + std::to_string(line_no_) + ": " + line);
      if (cmd == "tracked") {
        auto cols = Split(words[2], ',');
        options_.writer.tracked[words[1]] = {cols.begin(), cols.end()};
        Reopen();
      } else if (cmd == "table") {
        auto schema = std::make_shared<events::TableSchema>();
        schema->schema = "public";
        schema->name = words[1];
        for (const auto& spec : Split(words[2], ',')) {
          auto parts = Split(spec, ':');
          ASSERT_GE(parts.size(), 2u) << spec;
          auto column = ColumnFromDuckType(parts[0], parts[1]);
          column.key = parts.size() > 2 && parts[2] == "key";
          schema->columns.push_back(column);
        }
        schemas_[words[1]] = schema;
      } else if (cmd == "begin") {
        tx_ = {};
        tx_.commit_lsn = Lsn(std::stoull(words[1]));
        tx_.xid = static_cast<uint32_t>(std::stoull(words[1]));
        tx_.commit_time_us = std::stoll(words[2]);
        position_ = 0;
        actor_ = Actor::Database();
        ASSERT_TRUE(sink_->Begin(tx_).ok());
      } else if (cmd == "snapshot") {
        tx_ = {};
        tx_.commit_lsn = Lsn(std::stoull(words[1]));
        tx_.commit_time_us = std::stoll(words[2]);
        tx_.snapshot = true;
        tx_.snapshot_tables = Split(words[3], ',');
        position_ = 0;
        actor_ = Actor::Snapshot();
        ASSERT_TRUE(sink_->Begin(tx_).ok());
      } else if (cmd == "refused") {
        std::string expected = words[1];
        std::replace(expected.begin(), expected.end(), '_', ' ');
        Status s = ApplyChange({words.begin() + 2, words.end()}, /*expect_ok=*/false);
        ASSERT_FALSE(s.ok()) << "the change was accepted";
        EXPECT_NE(s.error().message().find(expected), std::string::npos) << s.error().ToString();
        Reopen();  // as the connector would: the transaction is received again or not at all
      } else if (cmd == "commit") {
        tx_.end_lsn = Lsn(words.size() > 1 ? std::stoull(words[1]) : tx_.commit_lsn.value() + 1);
        Status s = sink_->Commit(tx_);
        ASSERT_TRUE(s.ok()) << s.error().ToString();
      } else if (cmd == "insert" || cmd == "read" || cmd == "update" || cmd == "delete" ||
                 cmd == "truncate") {
        if (!ApplyChange(words).ok()) return;
      } else if (cmd == "addcolumn") {
        auto schema = std::make_shared<events::TableSchema>(*Schema(words[1]));
        schema->columns.push_back({words[2], events::ValueType::kText, 25, -1, false});
        schemas_[words[1]] = schema;
      } else if (cmd == "actor") {
        ASSERT_EQ(words.size(), 3u);
        std::string user = words[1];
        std::replace(user.begin(), user.end(), '_', ' ');
        actor_.user = user == "NULL" ? std::nullopt : std::optional<std::string>(user);
        actor_.origin = words[2];
      } else if (cmd == "strip-actors") {
        StripActors();
      } else if (cmd == "flush") {
        auto flushed = sink_->Flush();
        ASSERT_TRUE(flushed.ok()) << flushed.error().ToString();
      } else if (cmd == "restart") {
        Reopen();
      } else if (cmd == "rebuild" || cmd == "compact") {
        sink_.reset();
        auto writer = LakeWriter::Open(options_.writer, lake_);
        ASSERT_TRUE(writer.ok()) << writer.error().ToString();
        Status s = cmd == "rebuild" ? (*writer)->Rebuild() : (*writer)->Compact(true);
        ASSERT_TRUE(s.ok()) << s.error().ToString();
        writer->reset();
        Reopen();
      } else if (cmd == "query") {
        std::string sql;
        size_t j = i + 1;
        for (; j < lines.size() && lines[j] != "----"; ++j) sql += lines[j] + "\n";
        std::vector<std::string> expected;
        for (++j; j < lines.size() && !lines[j].empty(); ++j) expected.push_back(lines[j]);
        Query(sql, expected);
        i = j;
      } else {
        FAIL() << "unknown directive";
      }
      if (::testing::Test::HasFatalFailure()) return;
    }
  }

 private:
  void Open() {
    auto lake = Lake::Open(dir_, 1);
    ASSERT_TRUE(lake.ok()) << lake.error().ToString();
    lake_ = *lake;
    options_.writer.dir = dir_;
    options_.commit_interval = std::chrono::milliseconds(3600000);  // publish only on Flush
    Reopen();
  }

  void Reopen() {
    sink_.reset();
    auto sink = LakeSink::Open(options_, lake_);
    ASSERT_TRUE(sink.ok()) << sink.error().ToString();
    sink_ = std::move(*sink);
  }

  // Rewrites the change log and dimension files of the latest manifest without changed_by and
  // origin, as the writer wrote them before it recorded actors, then opens the lake again.
  void StripActors() {
    sink_.reset();
    lake_.reset();
    auto manifest = LoadLatestManifest(dir_);
    ASSERT_TRUE(manifest.ok() && manifest->has_value());
    auto db = duck::Database::Open(":memory:", {});
    ASSERT_TRUE(db.ok());
    auto conn = duck::Connection::Open(*db);
    ASSERT_TRUE(conn.ok());
    size_t stripped = 0;
    for (const auto& [dataset, files] : (*manifest)->datasets) {
      if (!dataset.ends_with("_changes") && !dataset.ends_with("_dim")) continue;
      for (const auto& f : files) {
        const std::string path = (fs::path(dir_) / f.path).string();
        Status copied =
            conn->Execute("COPY (SELECT * EXCLUDE (changed_by, origin) FROM read_parquet(" +
                          duck::QuoteString(path) + ")) TO " + duck::QuoteString(path + ".old") +
                          " (FORMAT parquet)");
        ASSERT_TRUE(copied.ok()) << copied.error().ToString();
        fs::rename(path + ".old", path);
        ++stripped;
      }
    }
    ASSERT_GT(stripped, 0u);
    Open();
  }

  std::shared_ptr<const events::TableSchema> Schema(const std::string& table) {
    auto it = schemas_.find(table);
    if (it != schemas_.end()) return it->second;
    auto schema = std::make_shared<events::TableSchema>();
    schema->schema = "public";
    schema->name = table;
    for (const auto& c : FindKnownTable(table)->columns) {
      schema->columns.push_back(ColumnFromDuckType(c.name, c.duck_type));
    }
    schemas_[table] = schema;
    return schema;
  }

  events::Row ParseRow(const events::TableSchema& schema, const std::vector<std::string>& words,
                       size_t from, size_t to) {
    events::Row row(schema.columns.size());
    for (size_t w = from; w < to; ++w) {
      auto eq = words[w].find('=');
      std::string name = words[w].substr(0, eq);
      std::string value = words[w].substr(eq + 1);
      std::replace(value.begin(), value.end(), '_', ' ');
      int i = schema.ColumnIndex(name);
      EXPECT_GE(i, 0) << "no column " << name;
      if (i < 0) continue;
      switch (schema.columns[i].type) {
        case events::ValueType::kInt32:
        case events::ValueType::kDate:
          row[i] = events::Value::Integer(std::stoll(value));
          break;
        default:
          row[i] = events::Value::Text(value);
      }
    }
    return row;
  }

  Status ApplyChange(const std::vector<std::string>& words, bool expect_ok = true) {
    events::ChangeEvent e;
    e.op = words[0] == "insert"   ? events::Operation::kInsert
           : words[0] == "read"   ? events::Operation::kRead
           : words[0] == "update" ? events::Operation::kUpdate
           : words[0] == "delete" ? events::Operation::kDelete
                                  : events::Operation::kTruncate;
    e.table = Schema(words[1]);
    e.commit_lsn = tx_.commit_lsn;
    e.lsn = tx_.commit_lsn;
    e.position = position_++;
    e.xid = tx_.xid;
    e.commit_time_us = tx_.commit_time_us;
    e.actor = actor_;
    size_t arrow = std::find(words.begin(), words.end(), "<-") - words.begin();
    if (e.op == events::Operation::kDelete) {
      e.before = ParseRow(*e.table, words, 2, words.size());
    } else if (e.op != events::Operation::kTruncate) {
      e.after = ParseRow(*e.table, words, 2, std::min(arrow, words.size()));
      if (arrow < words.size()) e.before = ParseRow(*e.table, words, arrow + 1, words.size());
    }
    Status s = sink_->Apply(e);
    if (expect_ok) EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s;
  }

  void Query(const std::string& sql, const std::vector<std::string>& expected) {
    auto flushed = sink_->Flush();
    ASSERT_TRUE(flushed.ok()) << flushed.error().ToString();
    auto conn = lake_->Connect();
    ASSERT_TRUE(conn.ok()) << conn.error().ToString();
    auto rows = conn->connection.Query(sql);
    ASSERT_TRUE(rows.ok()) << rows.error().ToString();
    std::vector<std::string> actual;
    for (uint64_t r = 0; r < rows->RowCount(); ++r) {
      std::string line;
      for (uint64_t c = 0; c < rows->ColumnCount(); ++c) {
        if (c) line += "|";
        line += rows->IsNull(c, r) ? "NULL" : rows->GetString(c, r);
      }
      actual.push_back(line);
    }
    EXPECT_EQ(actual, expected) << "query:\n" << sql;
  }

  std::string file_;
  std::string dir_;
  size_t line_no_ = 0;
  std::shared_ptr<Lake> lake_;
  LakeSinkOptions options_;
  std::unique_ptr<LakeSink> sink_;
  events::TransactionInfo tx_;
  uint64_t position_ = 0;
  Actor actor_;
  std::map<std::string, std::shared_ptr<const events::TableSchema>> schemas_;
};

TEST(ScdOptionTest, TrackedColumnsAddUpPerTable) {
  TrackedColumns tracked;
  ASSERT_TRUE(AddScdOption("rooms:track=capacity", &tracked).ok());
  ASSERT_TRUE(AddScdOption("rooms:track=note,capacity", &tracked).ok());
  ASSERT_TRUE(AddScdOption("students:track=gpa", &tracked).ok());
  EXPECT_EQ(tracked, (TrackedColumns{{"rooms", {"capacity", "note"}}, {"students", {"gpa"}}}));
}

TEST(ScdOptionTest, MalformedValuesAreRefusedNamingThemAndChangeNothing) {
  TrackedColumns tracked{{"rooms", {"capacity"}}};
  for (const char* bad : {"rooms", "rooms:track", "rooms:track=", "rooms:track=a,", "Rooms:track=a",
                          "rooms:track=a;b", "rooms:type2=a", ":track=a", "rooms:track=a,,b"}) {
    Status s = AddScdOption(bad, &tracked);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(s.error().message().find(bad), std::string::npos) << s.error().message();
  }
  EXPECT_EQ(tracked, (TrackedColumns{{"rooms", {"capacity"}}}));
}

TEST(ScdOptionTest, AConfigFileGivesOneValuePerLineAndNamesABadLine) {
  const std::string path =
      (fs::temp_directory_path() / ("scd_config_" + std::to_string(getpid()))).string();
  {
    std::ofstream out(path);
    out << "# rooms: capacity is history\n\n  rooms:track=capacity\r\nstudents:track=gpa,major\n";
  }
  TrackedColumns tracked;
  ASSERT_TRUE(LoadScdConfig(path, &tracked).ok());
  EXPECT_EQ(tracked, (TrackedColumns{{"rooms", {"capacity"}}, {"students", {"gpa", "major"}}}));
  {
    std::ofstream out(path);
    out << "rooms:track=note\nrooms:track=bad name\n";
  }
  Status bad = LoadScdConfig(path, &tracked);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find(path + ":2"), std::string::npos) << bad.error().message();
  EXPECT_EQ(tracked, (TrackedColumns{{"rooms", {"capacity"}}, {"students", {"gpa", "major"}}}));
  fs::remove(path);
  EXPECT_EQ(LoadScdConfig(path, &tracked).error().code(), ErrorCode::kNotFound);
}

class ScdFileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScdFileTest, GivesExpectedRows) { ScdCase(GetParam()).Run(); }

std::vector<std::string> CaseFiles() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(MIGSBYU_SCD_TESTDATA)) {
    if (e.path().extension() == ".test") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

INSTANTIATE_TEST_SUITE_P(Cases, ScdFileTest, ::testing::ValuesIn(CaseFiles()),
                         [](const auto& info) {
                           std::string name = fs::path(info.param).stem().string();
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace migsbyu::lake
