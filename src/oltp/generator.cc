#include "oltp/generator.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <unordered_set>

#include "oltp/data/embedded.h"

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

using Row = std::vector<std::string>;  // one value per column of a TableSpec, in text form

struct ColumnSpec {
  const char* name;
  const char* type;  // the SQL type of the unnest array's elements
};

// A table the generator fills; its first `key_columns` columns are the primary key.
struct TableSpec {
  const char* name;
  std::vector<ColumnSpec> columns;
  size_t key_columns;
};

const TableSpec kStudents{"students",
                          {{"id", "text"},
                           {"first_name", "text"},
                           {"last_name", "text"},
                           {"gender", "text"},
                           {"address", "text"},
                           {"date_of_birth", "date"},
                           {"major", "text"},
                           {"year_of_study", "integer"},
                           {"gpa", "numeric"},
                           {"enrollment_status", "text"}},
                          1};
const TableSpec kProfessors{"professors",
                            {{"id", "text"},
                             {"title", "text"},
                             {"first_name", "text"},
                             {"last_name", "text"},
                             {"gender", "text"},
                             {"address", "text"},
                             {"department", "text"},
                             {"date_of_birth", "date"},
                             {"annual_salary", "integer"}},
                            1};
const TableSpec kCourses{
    "courses", {{"id", "text"}, {"name", "text"}, {"units", "integer"}, {"department", "text"}}, 1};
const TableSpec kTakes{
    "takes", {{"student_id", "text"}, {"course_id", "text"}, {"semester", "text"}}, 3};
const TableSpec kTeaches{
    "teaches", {{"professor_id", "text"}, {"course_id", "text"}, {"semester", "text"}}, 3};

Row ToRow(const StudentRecord& s) {
  return {s.id,
          s.first_name,
          s.last_name,
          s.gender,
          s.address,
          s.date_of_birth,
          s.major,
          std::to_string(s.year_of_study),
          FormatGpa(s.gpa_hundredths),
          s.enrollment_status};
}
Row ToRow(const ProfessorRecord& p) {
  return {p.id,         p.title,         p.first_name,
          p.last_name,  p.gender,        p.address,
          p.department, p.date_of_birth, std::to_string(p.annual_salary)};
}
Row ToRow(const CourseRecord& c) { return {c.id, c.name, std::to_string(c.units), c.department}; }

// Rows per statement: large enough to amortize the round trip, small enough to bound memory.
constexpr size_t kBatchRows = 10'000;

// INSERT INTO t (c1, c2) SELECT * FROM unnest($1::text[], $2::date[]) ON CONFLICT DO NOTHING
std::string InsertSql(const TableSpec& table) {
  std::string names, arrays;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const char* separator = i == 0 ? "" : ", ";
    names += separator + std::string(table.columns[i].name);
    arrays += separator + ("$" + std::to_string(i + 1)) + "::" + table.columns[i].type + "[]";
  }
  return "INSERT INTO " + std::string(table.name) + " (" + names + ") SELECT * FROM unnest(" +
         arrays + ") ON CONFLICT DO NOTHING";
}

// A PostgreSQL array literal with every element quoted: {"a","b \"c\""}.
void AppendArrayElement(std::string& array, const std::string& value) {
  array += array.size() == 1 ? "\"" : ",\"";
  for (char ch : value) {
    if (ch == '"' || ch == '\\') array += '\\';
    array += ch;
  }
  array += '"';
}

// Inserts `rows` in one statement; returns how many were new (the rest had existing keys).
Result<int64_t> InsertRows(pg::Connection& conn, const TableSpec& table, const std::string& sql,
                           const std::vector<Row>& rows) {
  pg::Params params;
  for (size_t column = 0; column < table.columns.size(); ++column) {
    std::string array = "{";
    for (const Row& row : rows) AppendArrayElement(array, row[column]);
    array += '}';
    params.emplace_back(std::move(array));
  }
  auto inserted = conn.ExecParams(sql, params);
  if (!inserted.ok()) {
    return inserted.error().WithContext("generate: inserting " + std::to_string(rows.size()) +
                                        " rows into " + table.name);
  }
  return inserted->AffectedRows();
}

// Inserts up to `wanted` rows drawn by `draw`, skipping keys drawn before in this call and keys
// the table holds already. Gives up after a bounded number of draws (when the key space is nearly
// full). Returns how many rows it inserted.
Result<int64_t> Fill(pg::Connection& conn, const TableSpec& table, int64_t wanted,
                     const std::function<Row()>& draw) {
  const std::string sql = InsertSql(table);
  std::unordered_set<std::string> drawn_keys;
  int64_t draws_left = wanted * 8 + 1024;
  int64_t inserted = 0;
  std::vector<Row> batch;
  while (inserted < wanted && draws_left > 0) {
    const auto batch_size = static_cast<size_t>(std::min<int64_t>(wanted - inserted, kBatchRows));
    batch.clear();
    while (batch.size() < batch_size && draws_left-- > 0) {
      Row row = draw();
      std::string key = row[0];
      for (size_t i = 1; i < table.key_columns; ++i) key += '\t' + row[i];
      if (drawn_keys.insert(std::move(key)).second) batch.push_back(std::move(row));
    }
    if (batch.empty()) break;
    MIGSBYU_ASSIGN(int64_t n, InsertRows(conn, table, sql, batch));
    inserted += n;
  }
  return inserted;
}

// Inserts one record drawn by `draw_record`, redrawing on a key collision.
template <typename Record>
Result<Record> InsertOne(pg::Connection& conn, const TableSpec& table,
                         const std::function<Record()>& draw_record) {
  Record last;
  MIGSBYU_ASSIGN(int64_t n, Fill(conn, table, 1, [&] {
                   last = draw_record();
                   return ToRow(last);
                 }));
  // With one row wanted, Fill stops right after the batch (of one) that got in: the last draw.
  if (n != 1)
    return Error::Conflict(std::string("generate: no free id for a new row of ") + table.name);
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

Status RunInTransaction(pg::Connection& conn, const std::function<Status()>& body) {
  MIGSBYU_TRY(conn.Exec("BEGIN"));
  Status status = body();
  if (status.ok()) {
    auto committed = conn.Exec("COMMIT");
    if (!committed.ok()) status = std::move(committed).error();
  }
  if (!status.ok() && conn.InTransaction()) (void)conn.Exec("ROLLBACK");
  return status;
}

Result<StudentRecord> InsertStudent(pg::Connection& conn, RecordFactory& factory) {
  return InsertOne<StudentRecord>(conn, kStudents, [&] { return factory.Student(); });
}
Result<ProfessorRecord> InsertProfessor(pg::Connection& conn, RecordFactory& factory) {
  return InsertOne<ProfessorRecord>(conn, kProfessors, [&] { return factory.Professor(); });
}
Result<CourseRecord> InsertCourse(pg::Connection& conn, RecordFactory& factory) {
  return InsertOne<CourseRecord>(conn, kCourses, [&] { return factory.Course(); });
}

Result<GenerateCounts> Generate(pg::Connection& conn, const GenerateCounts& wanted, uint64_t seed) {
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
  Status status = RunInTransaction(conn, [&]() -> Status {
    MIGSBYU_ASSIGN(done.students, Fill(conn, kStudents, wanted.students,
                                       [&] { return ToRow(factory.Student()); }));
    MIGSBYU_ASSIGN(done.professors, Fill(conn, kProfessors, wanted.professors,
                                         [&] { return ToRow(factory.Professor()); }));
    MIGSBYU_ASSIGN(done.courses,
                   Fill(conn, kCourses, wanted.courses, [&] { return ToRow(factory.Course()); }));
    if (wanted.enrollments > 0) {
      MIGSBYU_ASSIGN(auto students,
                     ReadColumn(conn, "SELECT id FROM students ORDER BY id COLLATE \"C\""));
      MIGSBYU_ASSIGN(auto courses,
                     ReadColumn(conn, "SELECT id FROM courses ORDER BY id COLLATE \"C\""));
      if (students.empty() || courses.empty()) {
        return Error::Validation({{"enrollments", "needs at least one student and one course"}});
      }
      MIGSBYU_ASSIGN(done.enrollments, Fill(conn, kTakes, wanted.enrollments, [&]() -> Row {
                       auto student = rng.Pick(students);
                       auto course = rng.Pick(courses);
                       return {std::move(student), std::move(course), factory.Semester()};
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
      MIGSBYU_ASSIGN(
          done.assignments, Fill(conn, kTeaches, wanted.assignments, [&]() -> Row {
            const auto row = static_cast<int>(rng.Uniform(0, professors.rows() - 1));
            auto own = courses_by_department.find(professors.Get(row, 1));
            const bool in_department = own != courses_by_department.end() && rng.Chance(3, 4);
            auto course = rng.Pick(in_department ? own->second : course_ids);
            return {std::string(professors.Get(row, 0)), std::move(course), factory.Semester()};
          }));
    }
    return OkStatus();
  });
  if (!status.ok()) return std::move(status).error();
  return done;
}

}  // namespace migsbyu::oltp
