#include "oltp/generator.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>
#include <unordered_set>

#include "oltp/actor_stamp.h"
#include "oltp/data/embedded.h"
#include "oltp/entity.h"

namespace migsbyu::oltp {

namespace {

// ---- word lists -------------------------------------------------------------------------------

using Line = std::vector<std::string>;  // the tab-separated fields of one line

// The non-empty lines of an embedded data file, split at tabs. A missing or empty file is a build
// defect, not an expected failure.
std::vector<Line> ReadData(std::string_view name) {
  std::string_view text = data::File(name);
  std::vector<Line> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    Line fields;
    size_t start = 0;
    for (size_t tab; (tab = line.find('\t', start)) != std::string_view::npos; start = tab + 1) {
      fields.emplace_back(line.substr(start, tab - start));
    }
    fields.emplace_back(line.substr(start));
    lines.push_back(std::move(fields));
  }
  if (lines.empty())
    throw std::logic_error("generator: data file " + std::string(name) + " is empty or missing");
  return lines;
}

std::vector<std::string> ReadWords(std::string_view name) {
  std::vector<std::string> words;
  for (auto& line : ReadData(name)) words.push_back(std::move(line[0]));
  return words;
}

struct City {
  std::string name, state, zip_prefix;
};

struct WordLists {
  std::vector<std::string> male_names = ReadWords("first_names_male.txt");
  std::vector<std::string> female_names = ReadWords("first_names_female.txt");
  std::vector<std::string> last_names = ReadWords("last_names.txt");
  std::vector<std::string> streets = ReadWords("street_names.txt");
  std::vector<std::string> street_suffixes = ReadWords("street_suffixes.txt");
  std::vector<std::string> words = ReadWords("words.txt");
  std::vector<City> cities = ReadCities();

  static std::vector<City> ReadCities() {
    std::vector<City> cities;
    for (auto& line : ReadData("cities.tsv")) {
      if (line.size() != 3) throw std::logic_error("generator: cities.tsv: bad line " + line[0]);
      cities.push_back({line[0], line[1], line[2]});
    }
    return cities;
  }
};

const WordLists& Lists() {
  static const WordLists lists;
  return lists;
}

std::string Format(const char* format, auto... args) {
  char buffer[64];
  int n = std::snprintf(buffer, sizeof buffer, format, args...);
  return std::string(buffer, static_cast<size_t>(std::clamp(n, 0, int{sizeof buffer} - 1)));
}

std::string FormatDate(std::chrono::year_month_day date) {
  return Format("%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
}

// ---- bulk insert -------------------------------------------------------------------------------

// One text value per column, named. The generator says which value goes in which column; the
// entity description (oltp/entity.h) says the table, its columns' order and types, and its key.
using NamedRow = std::vector<std::pair<std::string_view, std::string>>;

NamedRow ToRow(const StudentRecord& s) {
  return {{"id", s.id},
          {"first_name", s.first_name},
          {"last_name", s.last_name},
          {"gender", s.gender},
          {"address", s.address},
          {"date_of_birth", s.date_of_birth},
          {"major", s.major},
          {"year_of_study", std::to_string(s.year_of_study)},
          {"gpa", FormatGpa(s.gpa_hundredths)},
          {"enrollment_status", s.enrollment_status}};
}
NamedRow ToRow(const ProfessorRecord& p) {
  return {{"id", p.id},
          {"title", p.title},
          {"first_name", p.first_name},
          {"last_name", p.last_name},
          {"gender", p.gender},
          {"address", p.address},
          {"department", p.department},
          {"date_of_birth", p.date_of_birth},
          {"annual_salary", std::to_string(p.annual_salary)}};
}
NamedRow ToRow(const CourseRecord& c) {
  return {{"id", c.id},
          {"name", c.name},
          {"units", std::to_string(c.units)},
          {"department", c.department}};
}
// An enrollment or an assignment: `person` is student_id or professor_id.
NamedRow LinkRow(std::string_view person, std::string person_id, std::string course_id,
                 std::string semester) {
  return {{person, std::move(person_id)},
          {"course_id", std::move(course_id)},
          {"semester", std::move(semester)}};
}

const char* SqlType(FieldType type) {
  switch (type) {
    case FieldType::kText:
      return "text";
    case FieldType::kInteger:
      return "integer";
    case FieldType::kDecimal2:
      return "numeric";
    case FieldType::kDate:
      return "date";
  }
  return "text";
}

// Rows per statement: large enough to amortize the round trip, small enough to bound memory.
constexpr size_t kBatchRows = 10'000;

// A PostgreSQL array literal with every element quoted: {"a","b \"c\""}.
void AppendArrayElement(std::string& array, const std::string& value) {
  array += array.size() == 1 ? "\"" : ",\"";
  for (char ch : value) {
    if (ch == '"' || ch == '\\') array += '\\';
    array += ch;
  }
  array += '"';
}

// Writes rows of one shape into an entity's table, many per statement:
//   INSERT INTO t (c1, c2) SELECT * FROM unnest($1::text[], $2::date[]) ON CONFLICT DO NOTHING
class TableWriter {
 public:
  // Lays out rows shaped like `sample`. kInternal when the row and the entity do not have the
  // same columns: the generator and the schema disagree.
  static Result<TableWriter> For(const Entity& entity, const NamedRow& sample) {
    TableWriter writer;
    writer.entity_ = &entity;
    std::string names, arrays;
    for (const Field& field : entity.fields) {
      size_t source = 0;
      while (source < sample.size() && sample[source].first != field.name) ++source;
      if (source == sample.size()) {
        return Error::Internal("generate: no value for column " + field.name + " of " +
                               entity.table);
      }
      writer.sources_.push_back(source);
      if (field.key) writer.key_sources_.push_back(source);
      const std::string separator = names.empty() ? "" : ", ";
      names += separator + field.name;
      arrays += separator + "$" + std::to_string(writer.sources_.size()) +
                "::" + SqlType(field.type) + "[]";
    }
    if (sample.size() != entity.fields.size()) {
      return Error::Internal("generate: " + std::to_string(sample.size()) + " values for the " +
                             std::to_string(entity.fields.size()) + " columns of " + entity.table);
    }
    writer.sql_ = "INSERT INTO " + entity.table + " (" + names + ") SELECT * FROM unnest(" +
                  arrays + ") ON CONFLICT DO NOTHING";
    return writer;
  }

  // The row's primary key, as one string.
  std::string Key(const NamedRow& row) const {
    std::string key;
    for (size_t source : key_sources_) key += row[source].second + '\t';
    return key;
  }

  // Inserts `rows` in one statement; returns how many were new (the rest had existing keys).
  Result<int64_t> Insert(pg::Connection& conn, const std::vector<NamedRow>& rows) const {
    pg::Params params;
    for (size_t source : sources_) {
      std::string array = "{";
      for (const NamedRow& row : rows) AppendArrayElement(array, row[source].second);
      array += '}';
      params.emplace_back(std::move(array));
    }
    auto inserted = conn.ExecParams(sql_, params);
    if (!inserted.ok()) {
      return inserted.error().WithContext("generate: inserting " + std::to_string(rows.size()) +
                                          " rows into " + entity_->table);
    }
    return inserted->AffectedRows();
  }

 private:
  const Entity* entity_ = nullptr;
  std::string sql_;
  std::vector<size_t> sources_;      // per column of the entity: its index in a NamedRow
  std::vector<size_t> key_sources_;  // the same for the key columns
};

// Inserts up to `wanted` rows drawn by `draw` into `entity`'s table, skipping keys drawn before in
// this call and keys the table holds already. Gives up after a bounded number of draws (when the
// key space is nearly full). Returns how many rows it inserted.
Result<int64_t> Fill(pg::Connection& conn, const Entity& entity, int64_t wanted,
                     const std::function<NamedRow()>& draw) {
  std::optional<TableWriter> writer;
  std::unordered_set<std::string> drawn_keys;
  int64_t draws_left = wanted * 8 + 1024;
  int64_t inserted = 0;
  std::vector<NamedRow> batch;
  while (inserted < wanted && draws_left > 0) {
    const auto batch_size = static_cast<size_t>(std::min<int64_t>(wanted - inserted, kBatchRows));
    batch.clear();
    while (batch.size() < batch_size && draws_left-- > 0) {
      NamedRow row = draw();
      if (!writer) {
        MIGSBYU_ASSIGN(auto laid_out, TableWriter::For(entity, row));
        writer.emplace(std::move(laid_out));
      }
      if (drawn_keys.insert(writer->Key(row)).second) batch.push_back(std::move(row));
    }
    if (batch.empty()) break;
    MIGSBYU_ASSIGN(int64_t n, writer->Insert(conn, batch));
    inserted += n;
  }
  return inserted;
}

// Inserts one record drawn by `draw_record`, redrawing on a key collision.
template <typename Record>
Result<Record> InsertOne(pg::Connection& conn, const Entity& entity,
                         const std::function<Record()>& draw_record) {
  Record last;
  MIGSBYU_ASSIGN(int64_t n, Fill(conn, entity, 1, [&] {
                   last = draw_record();
                   return ToRow(last);
                 }));
  // With one row wanted, Fill stops right after the batch (of one) that got in: the last draw.
  if (n != 1) return Error::Conflict("generate: no free id for a new row of " + entity.table);
  return last;
}

// The first column of the rows `sql` selects. Callers order them by bytes (COLLATE "C"), so that
// picks among them are the same whatever the database's collation.
Result<std::vector<std::string>> ReadColumn(pg::Connection& conn, const std::string& sql) {
  MIGSBYU_ASSIGN(auto result, conn.Exec(sql));
  std::vector<std::string> values;
  values.reserve(static_cast<size_t>(result.rows()));
  for (int row = 0; row < result.rows(); ++row) values.emplace_back(result.Get(row, 0));
  return values;
}

constexpr double kYearWeights[] = {20, 20, 20, 20, 2, 1};
struct GpaBand {
  int low, high;  // hundredths
};
constexpr GpaBand kGpaBands[] = {{0, 200}, {200, 300}, {300, 350}, {350, 400}};
constexpr double kGpaBandWeights[] = {2, 4, 6, 8};
constexpr double kUnitWeights[] = {2, 3, 4, 5};  // for 1, 2, 3, 4 units
constexpr const char* kTerms[] = {"Fall", "Spring", "Summer"};
constexpr double kTermWeights[] = {10, 10, 2};
constexpr int kCourseWords = 6;

void CheckCount(const char* field, int64_t count, std::vector<FieldError>& errors) {
  if (count < 0 || count > kMaxGenerateCount) {
    errors.push_back({field, "must be between 0 and " + std::to_string(kMaxGenerateCount) +
                                 ", got " + std::to_string(count)});
  }
}

}  // namespace

// ---- Random -------------------------------------------------------------------------------------

int64_t Random::Uniform(int64_t lo, int64_t hi) {
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  if (span == 0) return static_cast<int64_t>(Next());  // the whole 64-bit range
  // Rejection keeps every value equally likely: draws in the final partial span are retried.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  uint64_t draw;
  do {
    draw = Next();
  } while (draw >= limit);
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + draw % span);
}

size_t Random::Weighted(std::span<const double> weights) {
  double total = 0;
  for (double w : weights) total += w;
  const double unit = static_cast<double>(Next() >> 11) * 0x1.0p-53;  // [0, 1), 53 bits
  double point = unit * total;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (point < weights[i]) return i;
    point -= weights[i];
  }
  return weights.size() - 1;  // rounding at the very top
}

// ---- records ------------------------------------------------------------------------------------

const std::vector<std::string>& Majors() {
  static const std::vector<std::string> majors = {
      "Computer Science",  "Data Science", "Engineering",
      "Psychology",        "Biology",      "Chemistry",
      "Business",          "Art History",  "English Literature",
      "Mathematics",       "Economics",    "Sociology",
      "Political Science", "Physics",      "Undeclared"};
  return majors;
}

const std::vector<Department>& Departments() {
  static const std::vector<Department> departments = [] {
    std::map<std::string, std::string> names;
    for (auto& line : ReadData("department_names.tsv")) {
      if (line.size() != 2)
        throw std::logic_error("generator: department_names.tsv: bad line " + line[0]);
      names[line[0]] = line[1];
    }
    std::vector<Department> list;
    for (auto& line : ReadData("department_codes.txt")) {
      auto name = names.find(line[0]);
      if (name == names.end())
        throw std::logic_error("generator: no name for department " + line[0]);
      list.push_back({line[0], name->second});
    }
    return list;
  }();
  return departments;
}

std::string FormatGpa(int hundredths) {
  return Format("%d.%02d", hundredths / 100, hundredths % 100);
}

std::string RecordFactory::HexId() {
  return Format("%010llX", static_cast<unsigned long long>(rng_.Next() >> 24));
}

std::string RecordFactory::FirstName(std::string_view gender) {
  return rng_.Pick(gender == "Male" ? Lists().male_names : Lists().female_names);
}

std::string RecordFactory::DateOfBirth(int min_age, int max_age) {
  using namespace std::chrono;
  // Born on the reference date `min_age` years back: just `min_age` old. One day after the
  // reference date `max_age + 1` years back: the oldest still `max_age`.
  const sys_days youngest{kReferenceDate - years{min_age}};
  const sys_days oldest = sys_days{kReferenceDate - years{max_age + 1}} + days{1};
  const auto offset = rng_.Uniform(0, (youngest - oldest).count());
  return FormatDate(year_month_day{oldest + days{offset}});
}

std::string RecordFactory::Address() {
  const auto& lists = Lists();
  // One draw a statement: the operands of + are evaluated in an unspecified order.
  const int digits = static_cast<int>(rng_.Uniform(3, 5));
  const int64_t low = digits == 3 ? 100 : digits == 4 ? 1000 : 10000;
  std::string address = std::to_string(rng_.Uniform(low, low * 10 - 1));
  address += " " + rng_.Pick(lists.streets);
  address += " " + rng_.Pick(lists.street_suffixes);
  if (rng_.Chance(1, 5)) address += " Apt. " + std::to_string(rng_.Uniform(1, 999));
  const City& city = rng_.Pick(lists.cities);
  address += ", " + city.name + ", " + city.state + " " + city.zip_prefix;
  return address + Format("%02d", static_cast<int>(rng_.Uniform(0, 99)));
}

int RecordFactory::GpaHundredths() {
  const GpaBand& band = kGpaBands[rng_.Weighted(kGpaBandWeights)];
  return static_cast<int>(rng_.Uniform(band.low, band.high));
}

std::string RecordFactory::Semester() {
  const auto year = rng_.Uniform(kFirstYear, kLastYear);
  return std::string(kTerms[rng_.Weighted(kTermWeights)]) + " " + std::to_string(year);
}

StudentRecord RecordFactory::Student() {
  StudentRecord s;
  s.id = HexId();
  s.gender = rng_.Chance(1, 2) ? "Male" : "Female";
  s.first_name = FirstName(s.gender);
  s.last_name = rng_.Pick(Lists().last_names);
  s.address = Address();
  s.date_of_birth = DateOfBirth(18, 26);
  s.major = rng_.Pick(Majors());
  s.year_of_study = static_cast<int>(rng_.Weighted(kYearWeights)) + 1;
  s.gpa_hundredths = GpaHundredths();
  s.enrollment_status = rng_.Chance(40, 41) ? "Full-time" : "Part-time";
  return s;
}

ProfessorRecord RecordFactory::Professor() {
  ProfessorRecord p;
  p.id = HexId();
  p.gender = rng_.Chance(1, 2) ? "Male" : "Female";
  if (p.gender == "Male") {
    constexpr double kWeights[] = {10, 1};
    p.title = rng_.Weighted(kWeights) == 0 ? "Dr." : "Mr.";
  } else {
    constexpr double kWeights[] = {10, 0.5, 0.5};
    constexpr const char* kTitles[] = {"Dr.", "Mrs.", "Ms."};
    p.title = kTitles[rng_.Weighted(kWeights)];
  }
  p.first_name = FirstName(p.gender);
  p.last_name = rng_.Pick(Lists().last_names);
  p.address = Address();
  p.department = rng_.Pick(Departments()).name;
  p.date_of_birth = DateOfBirth(30, 70);
  p.annual_salary = static_cast<int>((rng_.Uniform(60'000, 200'000) + 2'500) / 5'000 * 5'000);
  return p;
}

CourseRecord RecordFactory::Course() {
  CourseRecord c;
  const Department& department = rng_.Pick(Departments());
  c.id = department.code + std::to_string(rng_.Uniform(100, 1200));
  for (int i = 0; i < kCourseWords; ++i) {
    std::string word = rng_.Pick(Lists().words);
    if (i == 0) word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
    c.name += (i == 0 ? "" : " ") + word;
  }
  c.name += '.';
  c.units = static_cast<int>(rng_.Weighted(kUnitWeights)) + 1;
  c.department = department.name;
  return c;
}

// ---- Generate -----------------------------------------------------------------------------------

std::string ToString(const GenerateCounts& c) {
  return "students=" + std::to_string(c.students) + " professors=" + std::to_string(c.professors) +
         " courses=" + std::to_string(c.courses) + " enrollments=" + std::to_string(c.enrollments) +
         " assignments=" + std::to_string(c.assignments);
}

Status RunInTransaction(pg::Connection& conn, const Actor& actor,
                        const std::function<Status()>& body) {
  MIGSBYU_TRY(conn.Exec("BEGIN"));
  Status status = StampTransaction(conn, actor);
  if (status.ok()) status = body();
  if (status.ok()) {
    auto committed = conn.Exec("COMMIT");
    if (!committed.ok()) status = std::move(committed).error();
  }
  if (!status.ok() && conn.InTransaction()) (void)conn.Exec("ROLLBACK");
  return status;
}

Result<StudentRecord> InsertStudent(pg::Connection& conn, RecordFactory& factory) {
  return InsertOne<StudentRecord>(conn, Students(), [&] { return factory.Student(); });
}
Result<ProfessorRecord> InsertProfessor(pg::Connection& conn, RecordFactory& factory) {
  return InsertOne<ProfessorRecord>(conn, Professors(), [&] { return factory.Professor(); });
}
Result<CourseRecord> InsertCourse(pg::Connection& conn, RecordFactory& factory) {
  return InsertOne<CourseRecord>(conn, Courses(), [&] { return factory.Course(); });
}

Result<GenerateCounts> Generate(pg::Connection& conn, const GenerateCounts& wanted, uint64_t seed,
                                const Actor& actor) {
  std::vector<FieldError> errors;
  CheckCount("students", wanted.students, errors);
  CheckCount("professors", wanted.professors, errors);
  CheckCount("courses", wanted.courses, errors);
  CheckCount("enrollments", wanted.enrollments, errors);
  CheckCount("assignments", wanted.assignments, errors);
  if (!errors.empty()) return Error::Validation(std::move(errors));

  Random rng(seed);
  RecordFactory factory(rng);
  GenerateCounts done;
  Status status = RunInTransaction(conn, actor, [&]() -> Status {
    MIGSBYU_ASSIGN(done.students, Fill(conn, Students(), wanted.students,
                                       [&] { return ToRow(factory.Student()); }));
    MIGSBYU_ASSIGN(done.professors, Fill(conn, Professors(), wanted.professors,
                                         [&] { return ToRow(factory.Professor()); }));
    MIGSBYU_ASSIGN(done.courses,
                   Fill(conn, Courses(), wanted.courses, [&] { return ToRow(factory.Course()); }));
    if (wanted.enrollments > 0) {
      MIGSBYU_ASSIGN(auto students,
                     ReadColumn(conn, "SELECT id FROM students ORDER BY id COLLATE \"C\""));
      MIGSBYU_ASSIGN(auto courses,
                     ReadColumn(conn, "SELECT id FROM courses ORDER BY id COLLATE \"C\""));
      if (students.empty() || courses.empty()) {
        return Error::Validation({{"enrollments", "needs at least one student and one course"}});
      }
      MIGSBYU_ASSIGN(done.enrollments, Fill(conn, Enrollments(), wanted.enrollments, [&] {
                       // One draw a statement: argument evaluation order is unspecified.
                       auto student = rng.Pick(students);
                       auto course = rng.Pick(courses);
                       auto semester = factory.Semester();
                       return LinkRow("student_id", std::move(student), std::move(course),
                                      std::move(semester));
                     }));
    }
    if (wanted.assignments > 0) {
      MIGSBYU_ASSIGN(auto professors,
                     conn.Exec("SELECT id, department FROM professors ORDER BY id COLLATE \"C\""));
      MIGSBYU_ASSIGN(auto courses,
                     conn.Exec("SELECT id, department FROM courses ORDER BY id COLLATE \"C\""));
      if (professors.rows() == 0 || courses.rows() == 0) {
        return Error::Validation({{"assignments", "needs at least one professor and one course"}});
      }
      std::vector<std::string> course_ids;
      std::map<std::string, std::vector<std::string>, std::less<>> courses_by_department;
      for (int row = 0; row < courses.rows(); ++row) {
        course_ids.emplace_back(courses.Get(row, 0));
        courses_by_department[std::string(courses.Get(row, 1))].emplace_back(courses.Get(row, 0));
      }
      MIGSBYU_ASSIGN(done.assignments, Fill(conn, Assignments(), wanted.assignments, [&] {
                       const auto row = static_cast<int>(rng.Uniform(0, professors.rows() - 1));
                       auto own = courses_by_department.find(professors.Get(row, 1));
                       const bool in_department =
                           own != courses_by_department.end() && rng.Chance(3, 4);
                       auto course = rng.Pick(in_department ? own->second : course_ids);
                       auto semester = factory.Semester();
                       return LinkRow("professor_id", std::string(professors.Get(row, 0)),
                                      std::move(course), std::move(semester));
                     }));
    }
    return OkStatus();
  });
  if (!status.ok()) return std::move(status).error();
  return done;
}

}  // namespace migsbyu::oltp
