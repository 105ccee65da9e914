#include "oltp/repository.h"

#include <gtest/gtest.h>

#include "oltp/migrations.h"
#include "support/test_database.h"

namespace migsbyu::oltp {
namespace {

using nlohmann::json;

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

  testing::TestDatabase db_{"repo"};
  std::unique_ptr<pg::Connection> conn_;
};

TEST_F(RepositoryTest, InsertReturnsTheStoredRowAndRefusesDuplicates) {
  Repository courses(Courses());
  auto row = courses.Insert(*conn_, Valid(Courses(), Course("PHY1")));
  ASSERT_TRUE(row.ok()) << row.error().ToString();
  EXPECT_EQ(*row, Course("PHY1"));
  auto dup = courses.Insert(*conn_, Valid(Courses(), Course("PHY1")));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(dup.error().message(), "Course already registered");
  EXPECT_FALSE(conn_->InTransaction());
}

TEST_F(RepositoryTest, UpdateAndGetSeeTheSameRowAndMissingKeysAreNotFound) {
  Repository courses(Courses());
  ASSERT_TRUE(courses.Insert(*conn_, Valid(Courses(), Course("PHY1"))).ok());
  auto changes = ValidateBody(Courses(), {{"units", 4}}, BodyMode::kPatch, {"PHY1"});
  ASSERT_TRUE(changes.ok());
  auto updated = courses.Update(*conn_, {"PHY1"}, *changes);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ((*updated)["units"], 4);
  EXPECT_EQ(*courses.Get(*conn_, {"PHY1"}), *updated);
  auto missing = courses.Update(*conn_, {"NOPE"}, *changes);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "Course 'NOPE' not found");
  EXPECT_EQ(courses.Get(*conn_, {"NOPE"}).error().code(), ErrorCode::kNotFound);
}

TEST_F(RepositoryTest, DeleteNamesTheReferrersAndCascadesAtomically) {
  Repository courses(Courses());
  Repository students(Students());
  Repository takes(Enrollments());
  ASSERT_TRUE(courses.Insert(*conn_, Valid(Courses(), Course("PHY1"))).ok());
  json student = {{"id", "S1"},         {"first_name", "A"},
                  {"last_name", "B"},   {"gender", "Male"},
                  {"address", "X"},     {"date_of_birth", "2001-01-01"},
                  {"major", "Physics"}, {"year_of_study", 1},
                  {"gpa", 3},           {"enrollment_status", "Part-time"}};
  ASSERT_TRUE(students.Insert(*conn_, Valid(Students(), student)).ok());
  for (const char* semester : {"Fall 2024", "Spring 2025"}) {
    ASSERT_TRUE(takes
                    .Insert(*conn_, Valid(Enrollments(), {{"student_id", "S1"},
                                                          {"course_id", "PHY1"},
                                                          {"semester", semester}}))
                    .ok());
  }
  auto refused = courses.Delete(*conn_, {"PHY1"}, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kConflict);
  EXPECT_TRUE(refused.error().message().starts_with("course 'PHY1' has 2 enrollments"))
      << refused.error().message();
  EXPECT_FALSE(conn_->InTransaction()) << "a refused delete must not leave a transaction open";
  ASSERT_TRUE(courses.Delete(*conn_, {"PHY1"}, true).ok());
  EXPECT_EQ(courses.Get(*conn_, {"PHY1"}).error().code(), ErrorCode::kNotFound);
  ListQuery all;
  auto left = takes.List(*conn_, all);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->total, 0);
  EXPECT_EQ(students.Delete(*conn_, {"S9"}, true).error().code(), ErrorCode::kNotFound);
}

TEST_F(RepositoryTest, DanglingReferenceNamesTheField) {
  Repository takes(Enrollments());
  auto r = takes.Insert(
      *conn_, Valid(Enrollments(),
                    {{"student_id", "S404"}, {"course_id", "C404"}, {"semester", "Fall 2024"}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kValidation);
  ASSERT_EQ(r.error().fields().size(), 1u);
  EXPECT_TRUE(r.error().fields()[0].field == "body.student_id" ||
              r.error().fields()[0].field == "body.course_id");
}

}  // namespace
}  // namespace migsbyu::oltp
