#include "oltp/entity.h"

#include <set>

namespace migsbyu::oltp {
namespace {

constexpr const char* kSemesterPattern = "^(Fall|Spring|Summer) [0-9]{4}$";

Field Text(std::string name, std::string description, nlohmann::json example) {
  Field f;
  f.name = std::move(name);
  f.description = std::move(description);
  f.example = std::move(example);
  return f;
}

Field Key(std::string name, std::string description, nlohmann::json example) {
  Field f = Text(std::move(name), std::move(description), std::move(example));
  f.key = true;
  f.searchable = true;
  f.max_length = 64;
  return f;
}

Field Searchable(Field f) {
  f.searchable = true;
  return f;
}

Field Personal(Field f) {
  f.pii = true;
  return f;
}

Field Long(Field f, int64_t max_length) {
  f.max_length = max_length;
  return f;
}

Field OneOf(Field f, std::vector<std::string> values) {
  f.one_of = std::move(values);
  return f;
}

Field Number(std::string name, FieldType type, std::string description, std::optional<double> min,
             std::optional<double> max, nlohmann::json example) {
  Field f = Text(std::move(name), std::move(description), std::move(example));
  f.type = type;
  f.minimum = min;
  f.maximum = max;
  return f;
}

Field Date(std::string name, std::string description, nlohmann::json example) {
  Field f = Text(std::move(name), std::move(description), std::move(example));
  f.type = FieldType::kDate;
  return f;
}

Field Semester() {
  Field f = Key("semester", "Fall, Spring or Summer and a four-digit year", "Fall 2024");
  f.searchable = false;
  f.pattern = kSemesterPattern;
  return f;
}

}  // namespace

const Field* Entity::Find(std::string_view name) const {
  for (const auto& f : fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<const Field*> Entity::KeyFields() const {
  std::vector<const Field*> out;
  for (const auto& f : fields) {
    if (f.key) out.push_back(&f);
  }
  return out;
}

std::vector<const Field*> Entity::ValueFields() const {
  std::vector<const Field*> out;
  for (const auto& f : fields) {
    if (!f.key) out.push_back(&f);
  }
  return out;
}

const Entity& Students() {
  static const Entity e{
      "students",
      "students",
      "student",
      "students",
      "Student",
      {Key("id", "Student number", "1A2B3C4D5E"),
       Searchable(Text("first_name", "Given name", "Ada")),
       Searchable(Text("last_name", "Family name", "Lovelace")), Text("gender", "Gender", "Female"),
       Personal(Searchable(
           Long(Text("address", "Postal address", "12 St James's Square, London"), 500))),
       Personal(Date("date_of_birth", "Date of birth, YYYY-MM-DD", "2004-12-10")),
       Searchable(Text("major", "Major subject", "Mathematics")),
       Number("year_of_study", FieldType::kInteger, "Year of study, from 1", 1, 2147483647, 2),
       Number("gpa", FieldType::kDecimal2, "Grade point average, 0.00 to 4.00", 0, 4, 3.85),
       OneOf(Text("enrollment_status", "Full-time or Part-time", "Full-time"),
             {"Full-time", "Part-time"})},
      {},
      {"first_name", "last_name"}};
  return e;
}

const Entity& Professors() {
  static const Entity e{
      "professors",
      "professors",
      "professor",
      "professors",
      "Professor",
      {Key("id", "Staff number", "P00042"), Text("title", "Title", "Dr."),
       Searchable(Text("first_name", "Given name", "Grace")),
       Searchable(Text("last_name", "Family name", "Hopper")), Text("gender", "Gender", "Female"),
       Personal(Searchable(Long(Text("address", "Postal address", "1 Navy Way, Arlington"), 500))),
       Searchable(Text("department", "Department name", "Computer Science")),
       Personal(Date("date_of_birth", "Date of birth, YYYY-MM-DD", "1966-12-09")),
       Number("annual_salary", FieldType::kInteger, "Annual salary, from 0", 0, 2147483647,
              125000)},
      {},
      {"first_name", "last_name"}};
  return e;
}

const Entity& Courses() {
  static const Entity e{
      "courses",
      "courses",
      "course",
      "courses",
      "Course",
      {Key("id", "Course code", "CS101"),
       Searchable(Long(Text("name", "Course name", "Introduction to Programming"), 300)),
       Number("units", FieldType::kInteger, "Units, 1 to 4", 1, 4, 4),
       Searchable(Text("department", "Department name", "Computer Science"))},
      {},
      {"name"}};
  return e;
}

const Entity& Enrollments() {
  static const Entity e{
      "takes",
      "enrollments",
      "enrollment",
      "enrollments",
      "Enrollment",
      {Key("student_id", "The enrolled student", "1A2B3C4D5E"),
       Key("course_id", "The course taken", "CS101"), Semester()},
      {{"student_id", "students", "student_name"}, {"course_id", "courses", "course_name"}}};
  return e;
}

const Entity& Assignments() {
  static const Entity e{
      "teaches",
      "assignments",
      "assignment",
      "assignments",
      "Assignment",
      {Key("professor_id", "The teaching professor", "P00042"),
       Key("course_id", "The course taught", "CS101"), Semester()},
      {{"professor_id", "professors", "professor_name"}, {"course_id", "courses", "course_name"}}};
  return e;
}

const std::vector<const Entity*>& AllEntities() {
  static const std::vector<const Entity*> all = {&Students(), &Professors(), &Courses(),
                                                 &Enrollments(), &Assignments()};
  return all;
}

const std::vector<std::string>& PiiColumnNames() {
  static const std::vector<std::string> names = [] {
    std::set<std::string> found;
    for (const auto* e : AllEntities()) {
      for (const auto& f : e->fields) {
        if (f.pii) found.insert(f.name);
      }
    }
    return std::vector<std::string>(found.begin(), found.end());
  }();
  return names;
}

const Entity* FindEntityByTable(std::string_view table) {
  for (const auto* e : AllEntities()) {
    if (e->table == table) return e;
  }
  return nullptr;
}

std::vector<Reference> ReferencesTo(const Entity& entity) {
  std::vector<Reference> out;
  for (const auto* relation : AllEntities()) {
    for (const auto& fk : relation->foreign_keys) {
      if (fk.table == entity.table) out.push_back({relation, relation->Find(fk.column)});
    }
  }
  return out;
}

}  // namespace migsbyu::oltp
