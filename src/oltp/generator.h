// The random data generator: realistic, reproducible students, professors, courses, enrollments
// (takes) and assignments (teaches), inserted in bulk.
//
// Everything is drawn from Random, a seeded std::mt19937_64 (whose output the C++ standard fixes)
// with our own distributions (the std:: ones differ between library versions), and from the word
// lists built into the binary (oltp/data/embedded.h). The same seed therefore gives the same rows
// on every machine, and the generator never goes online.
//
// The distributions follow the prototype (../shared/seed/PROTOTYPE.md, "Random data"):
//   - student id: 10 upper-case hex characters (40 random bits). Professor id: the same format,
//     as the prototype's generator used for both; the tables are separate, so they never clash.
//   - gender Male/Female (1:1) with a first name of that gender; address
//     "<number> <street> <suffix>[ Apt. <n>], <city>, <state> <zip>".
//   - date_of_birth: an age of 18-26 (students) or 30-70 (professors) years on kReferenceDate,
//     uniform over the days that give such an age. The reference date is fixed rather than
//     today's, so that a seed keeps giving the same rows in later years.
//   - major: uniform over kMajors. year_of_study 1-6, weights 20,20,20,20,2,1. GPA: a band chosen
//     with weights 0-2: 2, 2-3: 4, 3-3.5: 6, 3.5-4: 8, then uniform over its hundredths.
//     enrollment_status Full-time : Part-time = 40 : 1.
//   - title: Dr./Mr. 10:1 for men, Dr./Mrs./Ms. 10:0.5:0.5 for women. Department: the name of a
//     uniformly drawn department code. annual_salary: uniform 60,000-200,000, rounded to the
//     nearest 5,000.
//   - course id: a department code and a number 100-1200 ("CSCI270"); name: six words, the first
//     capitalized, ending with a period; units 1-4 with weights 2,3,4,5; department: the name of
//     the code's department (the same names as professors' departments).
//   - semester: a year of kFirstYear..kLastYear, then Fall, Spring or Summer with weights 10,10,2.
//   - enrollment: a uniform student, course and semester. Assignment: a uniform professor and
//     semester, and a course of the professor's department when there is one (3 times in 4),
//     else a uniform course.
//
// Threading: Random and RecordFactory are used by one thread at a time; Generate uses only the
// caller's connection. The data they read is immutable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/actor.h"
#include "common/result.h"
#include "pg/connection.h"

namespace migsbyu::oltp {

// A seeded pseudo-random source whose every draw is defined here, so sequences are portable.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  // 64 uniformly distributed bits.
  uint64_t Next() { return engine_(); }
  // Uniform over [lo, hi]. REQUIRES: lo <= hi.
  int64_t Uniform(int64_t lo, int64_t hi);
  // An index drawn with probability weights[i] / sum(weights). REQUIRES: a positive sum.
  size_t Weighted(std::span<const double> weights);
  // True with probability `numerator / denominator`. REQUIRES: 0 < denominator.
  bool Chance(int64_t numerator, int64_t denominator) {
    return Uniform(0, denominator - 1) < numerator;
  }
  // A uniform element. REQUIRES: !items.empty().
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[static_cast<size_t>(Uniform(0, static_cast<int64_t>(items.size()) - 1))];
  }

 private:
  std::mt19937_64 engine_;
};

// Dates of birth are ages on this day: the start of the academic year the data portrays.
inline constexpr std::chrono::year_month_day kReferenceDate{
    std::chrono::year{2025}, std::chrono::September, std::chrono::day{1}};
// Semesters span these years (inclusive).
inline constexpr int kFirstYear = 2021;
inline constexpr int kLastYear = 2025;

struct StudentRecord {
  std::string id, first_name, last_name, gender, address;
  std::string date_of_birth;  // YYYY-MM-DD
  std::string major;
  int year_of_study = 1;
  int gpa_hundredths = 0;  // 0..400: 3.27 is 327
  std::string enrollment_status;
};

struct ProfessorRecord {
  std::string id, title, first_name, last_name, gender, address, department;
  std::string date_of_birth;  // YYYY-MM-DD
  int annual_salary = 0;
};

struct CourseRecord {
  std::string id, name;
  int units = 1;
  std::string department;
};

// A department code and the name MigsbyU gives it.
struct Department {
  std::string code, name;
};

// The majors students are drawn from, as in the prototype.
const std::vector<std::string>& Majors();
// Every department, in the order of data/department_codes.txt.
const std::vector<Department>& Departments();

// "3.27" from 327.
std::string FormatGpa(int hundredths);

// Draws realistic records following the distributions described at the top of this file.
// REQUIRES: `rng` outlives the factory.
class RecordFactory {
 public:
  explicit RecordFactory(Random& rng) : rng_(rng) {}

  StudentRecord Student();
  ProfessorRecord Professor();
  CourseRecord Course();
  // "Fall 2023", "Spring 2025", "Summer 2022".
  std::string Semester();
  std::string Address();
  std::string StudentId() { return HexId(); }
  std::string ProfessorId() { return HexId(); }
  // A GPA in hundredths, banded as above.
  int GpaHundredths();

 private:
  std::string HexId();
  std::string FirstName(std::string_view gender);
  std::string DateOfBirth(int min_age, int max_age);

  Random& rng_;
};

struct GenerateCounts {
  int64_t students = 0, professors = 0, courses = 0, enrollments = 0, assignments = 0;
  bool operator==(const GenerateCounts&) const = default;
};

// The most rows of each kind one call may ask for.
inline constexpr int64_t kMaxGenerateCount = 1'000'000;

// Inserts `wanted` random rows of each kind, drawn from `seed`, and returns how many it inserted.
//
// Students, professors and courses come first; enrollments and assignments then pick among all
// the students, professors and courses in the database (including those just inserted). A row
// whose primary key already exists is skipped and replaced by another draw, a bounded number of
// times, so the result equals `wanted` unless the key space is nearly exhausted (e.g. more
// enrollments than student x course x semester combinations left). On the same database state,
// the same seed inserts the same rows.
//
// Rows go in batches of multi-row INSERT ... SELECT FROM unnest(arrays) statements, every value
// a parameter, into the tables and columns the entity descriptions (oltp/entity.h) name. The
// whole call is one transaction, stamped with `actor` (oltp/actor_stamp.h): on error nothing is
// inserted.
//
// Errors: kValidation (naming the field) for a negative count or one above kMaxGenerateCount, or
// for enrollments/assignments when there are no students/professors/courses to pick; the
// database's error otherwise. REQUIRES: `conn` is not inside a transaction; the schema exists.
Result<GenerateCounts> Generate(pg::Connection& conn, const GenerateCounts& wanted, uint64_t seed,
                                const Actor& actor);

// "students=10 professors=2 courses=5 enrollments=30 assignments=4".
std::string ToString(const GenerateCounts& counts);

// Inserts one new random student / professor / course drawn from `factory`, drawing again when
// its id exists already (a bounded number of times), and returns what it inserted. For the
// simulator; the caller owns the transaction.
Result<StudentRecord> InsertStudent(pg::Connection& conn, RecordFactory& factory);
Result<ProfessorRecord> InsertProfessor(pg::Connection& conn, RecordFactory& factory);
Result<CourseRecord> InsertCourse(pg::Connection& conn, RecordFactory& factory);

// Runs `body` between BEGIN and COMMIT on `conn`, the transaction stamped with `actor` first,
// rolling back when it (or COMMIT) fails, and returns the first error. REQUIRES: `conn` is not
// inside a transaction.
Status RunInTransaction(pg::Connection& conn, const Actor& actor,
                        const std::function<Status()>& body);

}  // namespace migsbyu::oltp
