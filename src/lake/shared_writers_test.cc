// Several writers of one lake directory (docs/LAKE.md "Several writers"), in one process:
// table owners merge what they own into one manifest, refuse tables they do not own, and a
// deriver builds the same fact, keys included, as a single writer given the same changes.
#include <gtest/gtest.h>

#include <filesystem>

#include "lake/catalog.h"
#include "lake/lake.h"
#include "lake/testing.h"
#include "lake/writer.h"

namespace migsbyu::lake {
namespace {
namespace fs = std::filesystem;
using events::Value;

using testing::ChangeIn;
using testing::ContractSchema;

struct Change {
  std::string table;
  char op;
  std::optional<events::Row> before, after;
};

struct Tx {
  events::TransactionInfo info;
  std::vector<events::ChangeEvent> changes;
};

class SharedWritersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = (fs::temp_directory_path() /
             (std::string("lake_shared_") +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
              std::to_string(getpid())))
                .string();
    fs::remove_all(base_);
    for (const auto& t : KnownTables()) schemas_[t.name] = ContractSchema(t.name);
  }
  void TearDown() override { fs::remove_all(base_); }

  std::unique_ptr<LakeWriter> Open(const std::string& dir, WriterRole role) {
    WriterOptions o;
    o.dir = dir;
    o.role = role;
    auto w = LakeWriter::Open(o, nullptr);
    EXPECT_TRUE(w.ok()) << w.error().ToString();
    return w.ok() ? std::move(*w) : nullptr;
  }

  Tx Make(uint64_t n, std::vector<Change> rows) {
    Tx tx;
    tx.info = {static_cast<uint32_t>(n), Lsn(100 * n), Lsn(100 * n + 8),
               1700000000000000 + static_cast<int64_t>(n) * 1000, false};
    for (auto& r : rows) {
      tx.changes.push_back(ChangeIn(tx.info, tx.changes.size(), schemas_.at(r.table),
                                    static_cast<events::Operation>(r.op), r.before, r.after));
    }
    return tx;
  }

  // Hands `w` the changes of `tx` in tables it writes (all of them for a single writer), as one
  // transaction, the way the Kafka source hands over each topic's part.
  static void Feed(LakeWriter& w, const Tx& tx, bool all_tables) {
    std::vector<const events::ChangeEvent*> mine;
    for (const auto& c : tx.changes) {
      if (all_tables || w.OwnsTable(c.table->name)) mine.push_back(&c);
    }
    if (mine.empty()) return;
    ASSERT_TRUE(w.Begin(tx.info).ok());
    for (const auto* c : mine) {
      Status s = w.Apply(*c);
      ASSERT_TRUE(s.ok()) << s.error().ToString();
    }
    ASSERT_TRUE(w.Commit(tx.info).ok());
  }

  static std::string Rows(const std::string& dir, const std::string& sql) {
    return testing::QueryText(dir, sql);
  }

  static events::Row Student(const std::string& id, const std::string& gpa) {
    return {Value::Text(id),         Value::Text("Ada"),      Value::Text("L"),
            Value::Text("Female"),   Value::Text("Street 1"), Value::Integer(12000),
            Value::Text("Physics"),  Value::Integer(2),       Value::Text(gpa),
            Value::Text("Full-time")};
  }
  static events::Row Professor(const std::string& id, int salary) {
    return {Value::Text(id),        Value::Text("Dr"),     Value::Text("Grace"),
            Value::Text("H"),       Value::Text("Female"), Value::Text("Street 2"),
            Value::Text("Physics"), Value::Integer(10000), Value::Integer(salary)};
  }
  static events::Row Course(const std::string& id, const std::string& name) {
    return {Value::Text(id), Value::Text(name), Value::Integer(3), Value::Text("Physics")};
  }
  static events::Row Link(const std::string& person, const std::string& course) {
    return {Value::Text(person), Value::Text(course), Value::Text("Fall 2024")};
  }

  // Transactions where the order across tables matters for the fact: a student changes in the
  // same transaction as an enrollment, a professor is assigned after enrollments.
  std::vector<Tx> Workload() {
    return {
        Make(1, {{"students", 'c', std::nullopt, Student("S1", "3.10")},
                 {"students", 'c', std::nullopt, Student("S2", "2.50")},
                 {"courses", 'c', std::nullopt, Course("C1", "Intro")},
                 {"professors", 'c', std::nullopt, Professor("P1", 50000)}}),
        Make(2, {{"takes", 'c', std::nullopt, Link("S1", "C1")},
                 {"students", 'u', Student("S1", "3.10"), Student("S1", "3.90")},
                 {"takes", 'c', std::nullopt, Link("S2", "C1")}}),
        Make(3, {{"courses", 'u', Course("C1", "Intro"), Course("C1", "Intro II")},
                 {"teaches", 'c', std::nullopt, Link("P1", "C1")}}),
        Make(4, {{"students", 'd', Student("S2", "2.50"), std::nullopt},
                 {"takes", 'd', Link("S2", "C1"), std::nullopt}}),
        Make(5, {{"professors", 'u', Professor("P1", 50000), Professor("P1", 60000)},
                 {"teaches", 'd', Link("P1", "C1"), std::nullopt},
                 {"takes", 'c', std::nullopt, Link("S1", "C1")}}),
    };
  }

  std::string base_;
  std::map<std::string, std::shared_ptr<const events::TableSchema>> schemas_;
};

TEST_F(SharedWritersTest, OwnersMergeTheirTablesIntoOneManifestAndRefuseOthers) {
  const std::string dir = base_ + "/lake";
  auto a = Open(dir, WriterRole::kTableOwner);
  auto b = Open(dir, WriterRole::kTableOwner);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->AcquireTable("students").ok());
  ASSERT_TRUE(b->AcquireTable("courses").ok());
  auto txs = Workload();
  for (const auto& tx : txs) {
    Feed(*a, tx, false);
    Feed(*b, tx, false);
    ASSERT_TRUE(a->Publish().ok());
    ASSERT_TRUE(b->Publish().ok());
  }
  auto latest = LoadLatestManifest(dir);
  ASSERT_TRUE(latest.ok() && *latest);
  const Manifest& m = **latest;
  EXPECT_EQ(m.Rows("students_changes"), 4u);
  EXPECT_EQ(m.Rows("courses_changes"), 2u);
  EXPECT_EQ(m.Rows("students_dim"), 3u);
  EXPECT_EQ(m.Rows("courses_dim"), 2u);
  EXPECT_EQ(m.watermarks.at("students"), (Watermark{400, 0}));
  EXPECT_EQ(m.watermarks.at("courses"), (Watermark{300, 0}));
  EXPECT_EQ(m.next_keys.at("student"), 4);
  EXPECT_EQ(m.next_keys.at("course"), 3);
  EXPECT_EQ(Rows(dir, "SELECT id, gpa FROM students_dim WHERE current_row_indicator = 'yes'"),
            "S1|3.90\n");

  // A table another writer owns is refused, and nothing of it is stored.
  Tx other = Make(6, {{"courses", 'c', std::nullopt, Course("C2", "Other")}});
  ASSERT_TRUE(a->Begin(other.info).ok());
  Status refused = a->Apply(other.changes[0]);
  EXPECT_EQ(refused.error().code(), ErrorCode::kConflict);

  // A single writer cannot open the lake while owners write it, nor can a second owner take a
  // table until its owner releases it.
  WriterOptions single;
  single.dir = dir;
  auto exclusive = LakeWriter::Open(single, nullptr);
  ASSERT_FALSE(exclusive.ok());
  EXPECT_EQ(exclusive.error().code(), ErrorCode::kConflict);
  auto held = FileLock::TryAcquire(LakeLockPath(dir, "table-courses"), FileLock::Mode::kExclusive);
  ASSERT_TRUE(held.ok());
  EXPECT_FALSE(held->has_value());
  ASSERT_TRUE(b->ReleaseTable("courses").ok());
  ASSERT_TRUE(a->Begin(other.info).ok());  // drops the failed transaction
  ASSERT_TRUE(a->Commit(other.info).ok());
  ASSERT_TRUE(a->AcquireTable("courses").ok());
  Feed(*a, other, false);
  ASSERT_TRUE(a->Publish().ok());
  EXPECT_EQ(Rows(dir, "SELECT count(*), max(course_key) FROM courses_dim"), "3|3\n");
}

TEST_F(SharedWritersTest, TheDeriverGivesTheSingleWritersFactKeysIncluded) {
  const std::string single_dir = base_ + "/single", shared_dir = base_ + "/shared";
  auto txs = Workload();
  {
    auto single = Open(single_dir, WriterRole::kExclusive);
    ASSERT_TRUE(single);
    for (const auto& tx : txs) Feed(*single, tx, true);
    ASSERT_TRUE(single->Publish().ok());
  }
  {
    // Two owners; the one with takes and teaches runs ahead of the other.
    auto dims = Open(shared_dir, WriterRole::kTableOwner);
    auto links = Open(shared_dir, WriterRole::kTableOwner);
    auto deriver = Open(shared_dir, WriterRole::kDeriver);
    ASSERT_TRUE(dims && links && deriver);
    for (const char* t : {"students", "professors", "courses"}) {
      ASSERT_TRUE(dims->AcquireTable(t).ok());
    }
    for (const char* t : {"takes", "teaches"}) ASSERT_TRUE(links->AcquireTable(t).ok());
    for (const auto& tx : txs) Feed(*links, tx, false);
    ASSERT_TRUE(links->Publish().ok());
    for (size_t i = 0; i < 2; ++i) Feed(*dims, txs[i], false);
    ASSERT_TRUE(dims->Publish().ok());
    // Derived only up to where every table is complete.
    ASSERT_TRUE(deriver->Derive().ok());
    auto m = LoadLatestManifest(shared_dir);
    ASSERT_TRUE(m.ok() && *m);
    EXPECT_EQ(LakeWriter::SafePoint(**m), (Watermark{100, 2}));  // courses' last change
    EXPECT_EQ((*m)->derived.at("students"), (Watermark{100, 1}));
    EXPECT_EQ((*m)->derived.count("takes"), 0u);
    for (size_t i = 2; i < txs.size(); ++i) Feed(*dims, txs[i], false);
    ASSERT_TRUE(dims->Publish().ok());
    // professors and courses are idle after their last change: their owner says so.
    for (const char* t : {"students", "professors", "courses"}) dims->MarkCaughtUp(t, 500);
    for (const char* t : {"takes", "teaches"}) links->MarkCaughtUp(t, 500);
    ASSERT_TRUE(dims->Publish().ok());
    ASSERT_TRUE(links->Publish().ok());
    // A new deriver restores the first one's state from the lake and finishes.
    deriver.reset();
    deriver = Open(shared_dir, WriterRole::kDeriver);
    ASSERT_TRUE(deriver);
    auto derived = deriver->Derive();
    ASSERT_TRUE(derived.ok()) << derived.error().ToString();
    EXPECT_TRUE(*derived);
  }
  const std::string fact =
      "SELECT student_key, professor_key, course_key, course_enrollment_count, source_lsn, "
      "source_position, student_id, professor_id FROM course_enrollment_fact ORDER BY ALL";
  EXPECT_EQ(Rows(shared_dir, fact), Rows(single_dir, fact));
  EXPECT_NE(Rows(single_dir, fact), "");
  const std::string dims =
      "SELECT student_key, id, gpa, row_effective_end FROM students_dim ORDER BY ALL";
  EXPECT_EQ(Rows(shared_dir, dims), Rows(single_dir, dims));
}

}  // namespace
}  // namespace migsbyu::lake
