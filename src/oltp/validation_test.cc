#include "oltp/validation.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace migsbyu::oltp {
namespace {

using nlohmann::json;

json Student() {
  return {{"id", "S1"},
          {"first_name", "Ada"},
          {"last_name", "Lovelace"},
          {"gender", "Female"},
          {"address", "London"},
          {"date_of_birth", "2004-12-10"},
          {"major", "Physics"},
          {"year_of_study", 2},
          {"gpa", 3.456},
          {"enrollment_status", "Full-time"}};
}

// The messages per location of a failed validation.
std::map<std::string, std::string> Errors(const Result<Record>& r) {
  std::map<std::string, std::string> out;
  if (r.ok()) return out;
  for (const auto& f : r.error().fields()) out[f.field] = f.message;
  return out;
}

std::string Text(const Record& r, const std::string& name) {
  for (const auto& v : r) {
    if (v.field->name == name) return v.text;
  }
  return "<absent>";
}

TEST(ValidationTest, ValidStudentGivesTextForms) {
  auto r = ValidateBody(Students(), Student(), BodyMode::kCreate);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->size(), Students().fields.size());
  EXPECT_EQ(Text(*r, "gpa"), "3.46");
  EXPECT_EQ(Text(*r, "year_of_study"), "2");
  EXPECT_EQ(Text(*r, "date_of_birth"), "2004-12-10");
}

TEST(ValidationTest, EachFieldRuleNamesItsField) {
  struct Case {
    std::string field;
    json value;
    std::string message_start;
  };
  const std::vector<Case> cases = {
      {"id", "", "ensure this value has at least 1"},
      {"id", std::string(65, 'x'), "ensure this value has at most 64"},
      {"first_name", 42, "str type expected"},
      {"first_name", nullptr, "none is not an allowed value"},
      {"last_name", "tab\there", "control characters"},
      {"date_of_birth", "2004-02-30", "invalid date"},
      {"date_of_birth", "10/12/2004", "invalid date format"},
      {"date_of_birth", "2999-01-01", "date is in the future"},
      {"year_of_study", 0, "ensure this value is greater than or equal to 1"},
      {"year_of_study", "2", "value is not a valid integer"},
      {"year_of_study", 2.5, "value is not a valid integer"},
      {"year_of_study", 99999999999LL, "ensure this value is less than or equal to"},
      {"year_of_study", true, "value is not a valid integer"},
      {"gpa", 4.01, "ensure this value is less than or equal to 4"},
      {"gpa", -0.5, "ensure this value is greater than or equal to 0"},
      {"gpa", "3.5", "value is not a valid decimal"},
      {"enrollment_status", "full-time", "unexpected value; permitted: 'Full-time', 'Part-time'"},
  };
  for (const auto& c : cases) {
    json body = Student();
    body[c.field] = c.value;
    auto errors = Errors(ValidateBody(Students(), body, BodyMode::kCreate));
    ASSERT_EQ(errors.size(), 1u) << c.field << " = " << c.value.dump();
    EXPECT_EQ(errors.begin()->first, "body." + c.field);
    EXPECT_TRUE(errors.begin()->second.starts_with(c.message_start))
        << c.field << " = " << c.value.dump() << ": " << errors.begin()->second;
  }
}

TEST(ValidationTest, MissingAndUnknownFieldsAreEachReported) {
  json body = Student();
  body.erase("gpa");
  body.erase("major");
  body["nickname"] = "Ada";
  auto errors = Errors(ValidateBody(Students(), body, BodyMode::kCreate));
  EXPECT_EQ(errors["body.gpa"], "field required");
  EXPECT_EQ(errors["body.major"], "field required");
  EXPECT_EQ(errors["body.nickname"], "extra fields not permitted");
  EXPECT_EQ(errors.size(), 3u);
}

TEST(ValidationTest, NonObjectBodyIsRejected) {
  auto errors = Errors(ValidateBody(Students(), json::array(), BodyMode::kCreate));
  EXPECT_EQ(errors["body"], "value is not a valid dict");
}

TEST(ValidationTest, PatchTakesAnySubsetAndRefusesKeyChanges) {
  auto ok = ValidateBody(Students(), {{"gpa", 2}}, BodyMode::kPatch, {"S1"});
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ(ok->front().text, "2.00");
  auto same_key = ValidateBody(Students(), {{"id", "S1"}, {"gpa", 2}}, BodyMode::kPatch, {"S1"});
  EXPECT_TRUE(same_key.ok());
  auto errors = Errors(ValidateBody(Students(), {{"id", "S2"}}, BodyMode::kPatch, {"S1"}));
  EXPECT_TRUE(errors["body.id"].starts_with("does not match")) << errors["body.id"];
}

TEST(ValidationTest, ReplaceRequiresEveryValueButNotTheKey) {
  json body = Student();
  body.erase("id");
  auto r = ValidateBody(Students(), body, BodyMode::kReplace, {"S1"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), Students().ValueFields().size());
  body.erase("units");
  body.erase("address");
  EXPECT_EQ(Errors(ValidateBody(Students(), body, BodyMode::kReplace, {"S1"}))["body.address"],
            "field required");
}

TEST(ValidationTest, SemesterFollowsThePattern) {
  json good = {{"student_id", "S1"}, {"course_id", "C1"}, {"semester", "Summer 2025"}};
  EXPECT_TRUE(ValidateBody(Enrollments(), good, BodyMode::kCreate).ok());
  for (const char* bad : {"Winter 2025", "Fall 25", "fall 2025", "Fall 2025 ", "Fall\n2025"}) {
    json body = good;
    body["semester"] = bad;
    EXPECT_EQ(Errors(ValidateBody(Enrollments(), body, BodyMode::kCreate)).count("body.semester"),
              1u)
        << bad;
  }
}

TEST(ValidationTest, ListQueryChecksEveryParameter) {
  std::map<std::string, std::string> params = {
      {"skip", "-1"}, {"limit", "abc"}, {"sort", "password"}, {"order", "sideways"}};
  auto lookup = [&](const std::string& name) -> std::optional<std::string> {
    auto it = params.find(name);
    if (it == params.end()) return std::nullopt;
    return it->second;
  };
  auto r = ParseListQuery(Students(), lookup);
  ASSERT_FALSE(r.ok());
  std::map<std::string, std::string> errors;
  for (const auto& f : r.error().fields()) errors[f.field] = f.message;
  EXPECT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors["query.limit"], "value is not a valid integer");
  params = {{"skip", "5"}, {"limit", "7"}, {"sort", "gpa"}, {"order", "desc"}, {"q", "50%"}};
  auto ok = ParseListQuery(Students(), lookup);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->skip, 5);
  EXPECT_EQ(ok->limit, 7);
  EXPECT_EQ(ok->sort->name, "gpa");
  EXPECT_TRUE(ok->descending);
  EXPECT_EQ(ok->search, "50%");
}

TEST(ValidationTest, EveryEntityHasAKeyAndUniqueFieldNames) {
  for (const auto* e : AllEntities()) {
    EXPECT_FALSE(e->KeyFields().empty()) << e->table;
    std::set<std::string> names;
    for (const auto& f : e->fields) EXPECT_TRUE(names.insert(f.name).second) << f.name;
  }
}

}  // namespace
}  // namespace migsbyu::oltp
