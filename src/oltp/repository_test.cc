#include "oltp/repository.h"

#include <gtest/gtest.h>

#include "oltp/migrations.h"
#include "support/test_database.h"

namespace migsbyu::oltp {
namespace {

using nlohmann::json;

const Actor kActor = Actor::Portal("tester");

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = pg::Connection::Open(db_.url());
    ASSERT_TRUE(conn.ok()) << conn.error().ToString();
    conn_ = std::make_unique<pg::Connection>(std::move(conn).value());
    ASSERT_TRUE(ApplyMigrations(*conn_).ok());
  }

  Record Valid(const Entity& e, json body) {
    auto r = ValidateBody(e, body, BodyMode::kCreate);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? *r : Record{};
  }

  json Course(const std::string& id) {
    return {{"id", id}, {"name", "Optics"}, {"units", 3}, {"department", "Physics"}};
  }

  // The enrollment of S1 in PHY1 for `semester`.
  json Enrollment(const std::string& semester) {
    return {{"student_id", "S1"}, {"course_id", "PHY1"}, {"semester", semester}};
  }

  json Student(const std::string& id) {
    return {{"id", id},           {"first_name", "A"},
            {"last_name", "B"},   {"gender", "Male"},
            {"address", "X"},     {"date_of_birth", "2001-01-01"},
            {"major", "Physics"}, {"year_of_study", 1},
            {"gpa", 3},           {"enrollment_status", "Part-time"}};
  }

  testing::TestDatabase db_{"repo"};
  std::unique_ptr<pg::Connection> conn_;
};

TEST_F(RepositoryTest, InsertReturnsTheStoredRowAndRefusesDuplicates) {
  Repository courses(Courses());
  auto row = courses.Insert(*conn_, Valid(Courses(), Course("PHY1")), kActor);
  ASSERT_TRUE(row.ok()) << row.error().ToString();
  EXPECT_EQ(*row, Course("PHY1"));
  auto dup = courses.Insert(*conn_, Valid(Courses(), Course("PHY1")), kActor);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(dup.error().message(), "Course already registered");
  EXPECT_FALSE(conn_->InTransaction());
}

TEST_F(RepositoryTest, UpdateAndGetSeeTheSameRowAndMissingKeysAreNotFound) {
  Repository courses(Courses());
  ASSERT_TRUE(courses.Insert(*conn_, Valid(Courses(), Course("PHY1")), kActor).ok());
  auto changes = ValidateBody(Courses(), {{"units", 4}}, BodyMode::kPatch, {"PHY1"});
  ASSERT_TRUE(changes.ok());
  auto updated = courses.Update(*conn_, {"PHY1"}, *changes, kActor);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ((*updated)["units"], 4);
  EXPECT_EQ(*courses.Get(*conn_, {"PHY1"}), *updated);
  auto missing = courses.Update(*conn_, {"NOPE"}, *changes, kActor);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "Course 'NOPE' not found");
  EXPECT_EQ(courses.Get(*conn_, {"NOPE"}).error().code(), ErrorCode::kNotFound);
}

TEST_F(RepositoryTest, DeleteNamesTheReferrersAndCascadesAtomically) {
  Repository courses(Courses());
  Repository students(Students());
  Repository takes(Enrollments());
  ASSERT_TRUE(courses.Insert(*conn_, Valid(Courses(), Course("PHY1")), kActor).ok());
  ASSERT_TRUE(students.Insert(*conn_, Valid(Students(), Student("S1")), kActor).ok());
  for (const char* semester : {"Fall 2024", "Spring 2025"}) {
    ASSERT_TRUE(takes.Insert(*conn_, Valid(Enrollments(), Enrollment(semester)), kActor).ok());
  }
  auto refused = courses.Delete(*conn_, {"PHY1"}, false, kActor);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kConflict);
  EXPECT_TRUE(refused.error().message().starts_with("course 'PHY1' has 2 enrollments"))
      << refused.error().message();
  EXPECT_FALSE(conn_->InTransaction()) << "a refused delete must not leave a transaction open";
  ASSERT_TRUE(courses.Delete(*conn_, {"PHY1"}, true, kActor).ok());
  EXPECT_EQ(courses.Get(*conn_, {"PHY1"}).error().code(), ErrorCode::kNotFound);
  ListQuery all;
  auto left = takes.List(*conn_, all);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->total, 0);
  EXPECT_EQ(students.Delete(*conn_, {"S9"}, true, kActor).error().code(), ErrorCode::kNotFound);
}

TEST_F(RepositoryTest, DanglingReferenceNamesTheField) {
  Repository takes(Enrollments());
  auto r = takes.Insert(
      *conn_,
      Valid(Enrollments(),
            {{"student_id", "S404"}, {"course_id", "C404"}, {"semester", "Fall 2024"}}),
      kActor);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kValidation);
  ASSERT_EQ(r.error().fields().size(), 1u);
  EXPECT_TRUE(r.error().fields()[0].field == "body.student_id" ||
              r.error().fields()[0].field == "body.course_id");
}

// Reads what a logical slot (test_decoding, which prints transactional messages in order with
// the changes) received since the last call: one string per transaction, its lines joined by
// " | ", the message shown as "actor <payload>" and each change as "<table> <OP>".
class StampTest : public RepositoryTest {
 protected:
  void SetUp() override {
    RepositoryTest::SetUp();
    ASSERT_TRUE(conn_
                    ->ExecParams("SELECT pg_create_logical_replication_slot($1, 'test_decoding')",
                                 {db_.name()})
                    .ok());
  }

  std::vector<std::string> Transactions() {
    auto r = conn_->ExecParams("SELECT data FROM pg_logical_slot_get_changes($1, NULL, NULL)",
                               {db_.name()});
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    std::vector<std::string> out;
    for (int i = 0; r.ok() && i < r->rows(); ++i) {
      std::string line(r->Get(i, 0));
      if (line.starts_with("BEGIN")) {
        out.emplace_back();
        continue;
      }
      if (line.starts_with("COMMIT")) continue;
      std::string item;
      if (auto at = line.find("prefix: migsbyu.actor"); at != std::string::npos) {
        item = "actor " + line.substr(line.find("content:") + 8);
      } else if (line.starts_with("table public.")) {
        auto colon = line.find(':');
        item =
            line.substr(13, colon - 13) + line.substr(colon + 1, line.find(':', colon + 1) - colon);
      } else {
        item = line;
      }
      if (out.empty()) out.emplace_back();
      out.back() += (out.back().empty() ? "" : " | ") + item;
    }
    return out;
  }
};

TEST_F(StampTest, EveryWriteCarriesItsActorBeforeItsChangesInTheSameTransaction) {
  Repository courses(Courses());
  Repository takes(Enrollments());
  Repository students(Students());
  const std::string actor = R"(actor {"user":"tester","origin":"portal"})";
  ASSERT_TRUE(courses.Insert(*conn_, Valid(Courses(), Course("PHY1")), kActor).ok());
  auto changes = ValidateBody(Courses(), {{"units", 4}}, BodyMode::kPatch, {"PHY1"});
  ASSERT_TRUE(changes.ok());
  ASSERT_TRUE(courses.Update(*conn_, {"PHY1"}, *changes, Actor::Portal(std::nullopt)).ok());
  ASSERT_TRUE(students.Insert(*conn_, Valid(Students(), Student("S1")), kActor).ok());
  ASSERT_TRUE(takes.Insert(*conn_, Valid(Enrollments(), Enrollment("Fall 2024")), kActor).ok());
  ASSERT_TRUE(takes.Delete(*conn_, {"S1", "PHY1", "Fall 2024"}, false, Actor::Cli()).ok());
  ASSERT_TRUE(takes.Insert(*conn_, Valid(Enrollments(), Enrollment("Fall 2025")), kActor).ok());
  ASSERT_TRUE(courses.Delete(*conn_, {"PHY1"}, true, Actor::Portal("admin")).ok());
  EXPECT_EQ(Transactions(),
            (std::vector<std::string>{
                actor + " | courses INSERT:",
                R"(actor {"user":null,"origin":"portal"} | courses UPDATE:)",
                actor + " | students INSERT:",
                actor + " | takes INSERT:",
                R"(actor {"user":null,"origin":"cli"} | takes DELETE:)",
                actor + " | takes INSERT:",
                R"(actor {"user":"admin","origin":"portal"} | takes DELETE: | courses DELETE:)",
            }));
}

TEST_F(StampTest, AFailedWriteLeavesNeitherItsChangeNorItsActor) {
  Repository courses(Courses());
  ASSERT_TRUE(courses.Insert(*conn_, Valid(Courses(), Course("PHY1")), kActor).ok());
  ASSERT_EQ(Transactions().size(), 1u);
  EXPECT_EQ(courses.Insert(*conn_, Valid(Courses(), Course("PHY1")), kActor).error().code(),
            ErrorCode::kAlreadyExists);
  auto bad = ValidateBody(Courses(), {{"units", 4}}, BodyMode::kPatch, {"NOPE"});
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(courses.Update(*conn_, {"NOPE"}, *bad, kActor).error().code(), ErrorCode::kNotFound);
  Repository students(Students());
  ASSERT_TRUE(students.Insert(*conn_, Valid(Students(), Student("S1")), kActor).ok());
  ASSERT_EQ(Transactions().size(), 1u);
  Repository takes(Enrollments());
  ASSERT_TRUE(takes.Insert(*conn_, Valid(Enrollments(), Enrollment("Fall 2024")), kActor).ok());
  ASSERT_EQ(Transactions().size(), 1u);
  // Refused in its transaction after the stamp: rolled back with it.
  EXPECT_EQ(courses.Delete(*conn_, {"PHY1"}, false, Actor::Portal("admin")).error().code(),
            ErrorCode::kConflict);
  // Only committed transactions reach a slot: nothing of the refused writes is there, and the
  // next write carries its own actor alone.
  ASSERT_TRUE(takes.Delete(*conn_, {"S1", "PHY1", "Fall 2024"}, false, Actor::Cli()).ok());
  EXPECT_EQ(Transactions(),
            (std::vector<std::string>{R"(actor {"user":null,"origin":"cli"} | takes DELETE:)"}));
}

}  // namespace
}  // namespace migsbyu::oltp
