#include "oltp/simulator.h"

#include <cmath>
#include <optional>
#include <vector>

#include "common/log.h"
#include "oltp/generator.h"

namespace migsbyu::oltp {

namespace {

// What one event works with: the transaction's connection and the run's random source.
struct EventContext {
  pg::Connection& conn;
  Random& rng;
  RecordFactory& factory;
};

// An event applies its changes inside the caller's transaction and returns the kind it applied
// (another kind's name when it fell back, having nothing to act on).
using EventFn = Result<std::string> (*)(EventContext&);

// ---- picking rows ------------------------------------------------------------------------------

// A random key of `table` among rows meeting `condition` (fixed SQL), or nullopt if there is
// none: the first key at or after a random probe, wrapping around. Keys are random strings of the
// probe's format, so this is close to uniform and costs one index lookup.
Result<std::optional<std::string>> PickKey(EventContext& ctx, const std::string& table,
                                           const std::string& probe,
                                           const std::string& condition = "true") {
  const std::string sql = "(SELECT id FROM " + table + " WHERE id >= $1 AND (" + condition +
                          ") ORDER BY id LIMIT 1) UNION ALL (SELECT id FROM " + table + " WHERE " +
                          condition + " ORDER BY id LIMIT 1) LIMIT 1";
  MIGSBYU_ASSIGN(auto picked, ctx.conn.ExecParams(sql, {probe}));
  if (picked.rows() == 0) return std::optional<std::string>{};
  return std::optional<std::string>{std::string(picked.Get(0, 0))};
}

Result<std::optional<std::string>> PickStudent(EventContext& ctx,
                                               const std::string& condition = "true") {
  return PickKey(ctx, "students", ctx.factory.StudentId(), condition);
}
Result<std::optional<std::string>> PickProfessor(EventContext& ctx) {
  return PickKey(ctx, "professors", ctx.factory.ProfessorId());
}
Result<std::optional<std::string>> PickCourse(EventContext& ctx) {
  return PickKey(ctx, "courses", ctx.factory.Course().id);
}

// An enrollment / assignment ($1 student / professor, $2 course, $3 semester); one that exists
// already is left as it is.
constexpr const char* kEnroll =
    "INSERT INTO takes (student_id, course_id, semester) VALUES ($1, $2, $3) "
    "ON CONFLICT DO NOTHING";
constexpr const char* kAssign =
    "INSERT INTO teaches (professor_id, course_id, semester) VALUES ($1, $2, $3) "
    "ON CONFLICT DO NOTHING";

// Runs `sql` with `params` and discards the rows.
Status Run(EventContext& ctx, const std::string& sql, const pg::Params& params) {
  MIGSBYU_TRY(ctx.conn.ExecParams(sql, params));
  return OkStatus();
}

// Enrolls `student` in up to `count` random courses for `semester`; an enrollment that exists
// already is left as it is.
Status Enroll(EventContext& ctx, const std::string& student, int count,
              const std::string& semester) {
  for (int i = 0; i < count; ++i) {
    MIGSBYU_ASSIGN(auto course, PickCourse(ctx));
    if (!course) return OkStatus();
    MIGSBYU_TRY(Run(ctx, kEnroll, {student, *course, semester}));
  }
  return OkStatus();
}

// "+0.12" / "-0.40": a GPA change in hundredths.
std::string SignedGpa(int hundredths) {
  return (hundredths < 0 ? "-" : "+") + FormatGpa(std::abs(hundredths));
}

// ---- the events --------------------------------------------------------------------------------

Result<std::string> NewStudent(EventContext& ctx) {
  MIGSBYU_ASSIGN(auto student, InsertStudent(ctx.conn, ctx.factory));
  const int courses = static_cast<int>(ctx.rng.Uniform(1, 3));
  MIGSBYU_TRY(Enroll(ctx, student.id, courses, ctx.factory.Semester()));
  return std::string("new_student");
}

Result<std::string> NewProfessor(EventContext& ctx) {
  MIGSBYU_TRY(InsertProfessor(ctx.conn, ctx.factory));
  return std::string("new_professor");
}

Result<std::string> NewCourse(EventContext& ctx) {
  MIGSBYU_ASSIGN(auto course, InsertCourse(ctx.conn, ctx.factory));
  MIGSBYU_ASSIGN(auto professor, PickProfessor(ctx));
  if (professor) {
    MIGSBYU_TRY(Run(ctx, kAssign, {*professor, course.id, ctx.factory.Semester()}));
  }
  return std::string("new_course");
}

// Updates one random student (meeting `condition`) with `sql`, whose $1 is the student's id and
// $2.. are `values`; falls back to a new student when there is none.
Result<std::string> UpdateStudent(EventContext& ctx, const char* kind, const std::string& sql,
                                  std::vector<std::string> values,
                                  const std::string& condition = "true") {
  MIGSBYU_ASSIGN(auto student, PickStudent(ctx, condition));
  if (!student) return NewStudent(ctx);
  pg::Params params{*student};
  for (auto& value : values) params.emplace_back(std::move(value));
  MIGSBYU_TRY(Run(ctx, sql, params));
  return std::string(kind);
}

int GpaStep(Random& rng) {
  const int step = static_cast<int>(rng.Uniform(1, 50));
  return rng.Chance(1, 2) ? step : -step;
}

constexpr const char* kChangeGpa =
    "UPDATE students SET gpa = least(4, greatest(0, gpa + $2::numeric)) WHERE id = $1";

Result<std::string> GpaChange(EventContext& ctx) {
  return UpdateStudent(ctx, "gpa_change", kChangeGpa, {SignedGpa(GpaStep(ctx.rng))});
}

Result<std::string> AddressMove(EventContext& ctx) {
  if (ctx.rng.Chance(4, 5)) {
    return UpdateStudent(ctx, "address_move", "UPDATE students SET address = $2 WHERE id = $1",
                         {ctx.factory.Address()});
  }
  MIGSBYU_ASSIGN(auto professor, PickProfessor(ctx));
  if (!professor) return NewProfessor(ctx);
  MIGSBYU_TRY(Run(ctx, "UPDATE professors SET address = $2 WHERE id = $1",
                  {*professor, ctx.factory.Address()}));
  return std::string("address_move");
}

Result<std::string> YearAdvance(EventContext& ctx) {
  return UpdateStudent(ctx, "year_advance",
                       "UPDATE students SET year_of_study = year_of_study + 1 WHERE id = $1", {},
                       "year_of_study < 6");
}

Result<std::string> StatusChange(EventContext& ctx) {
  return UpdateStudent(ctx, "status_change",
                       "UPDATE students SET enrollment_status = CASE enrollment_status "
                       "WHEN 'Full-time' THEN 'Part-time' ELSE 'Full-time' END WHERE id = $1",
                       {});
}

Result<std::string> SalaryRaise(EventContext& ctx) {
  MIGSBYU_ASSIGN(auto professor, PickProfessor(ctx));
  if (!professor) return NewProfessor(ctx);
  const auto raise = 5'000 * ctx.rng.Uniform(1, 4);
  MIGSBYU_TRY(Run(ctx, "UPDATE professors SET annual_salary = annual_salary + $2 WHERE id = $1",
                  {*professor, std::to_string(raise)}));
  return std::string("salary_raise");
}

Result<std::string> CourseDrop(EventContext& ctx) {
  MIGSBYU_ASSIGN(auto student,
                 PickStudent(ctx, "EXISTS (SELECT 1 FROM takes WHERE student_id = students.id)"));
  if (!student) return NewStudent(ctx);
  MIGSBYU_ASSIGN(auto taken, ctx.conn.ExecParams("SELECT course_id, semester FROM takes WHERE "
                                                 "student_id = $1 ORDER BY course_id, semester",
                                                 {*student}));
  if (taken.rows() == 0) return std::string("course_drop");  // dropped meanwhile by another writer
  const auto row = static_cast<int>(ctx.rng.Uniform(0, taken.rows() - 1));
  MIGSBYU_TRY(Run(ctx,
                  "DELETE FROM takes WHERE student_id = $1 AND course_id = $2 AND semester = $3",
                  {*student, std::string(taken.Get(row, 0)), std::string(taken.Get(row, 1))}));
  return std::string("course_drop");
}

Result<std::string> NewEnrollment(EventContext& ctx) {
  MIGSBYU_ASSIGN(auto student, PickStudent(ctx));
  if (!student) return NewStudent(ctx);
  MIGSBYU_ASSIGN(auto course, PickCourse(ctx));
  if (!course) return NewCourse(ctx);
  MIGSBYU_TRY(Run(ctx, kEnroll, {*student, *course, ctx.factory.Semester()}));
  return std::string("new_enrollment");
}

Result<std::string> Registration(EventContext& ctx) {
  MIGSBYU_ASSIGN(auto student, PickStudent(ctx));
  if (!student) return NewStudent(ctx);
  const int courses = static_cast<int>(ctx.rng.Uniform(2, 4));
  MIGSBYU_TRY(Enroll(ctx, *student, courses, ctx.factory.Semester()));
  MIGSBYU_TRY(Run(ctx, kChangeGpa, {*student, SignedGpa(GpaStep(ctx.rng))}));
  return std::string("registration");
}

Result<std::string> NewAssignment(EventContext& ctx) {
  MIGSBYU_ASSIGN(auto professor, PickProfessor(ctx));
  if (!professor) return NewProfessor(ctx);
  MIGSBYU_ASSIGN(auto course, PickCourse(ctx));
  if (!course) return NewCourse(ctx);
  MIGSBYU_TRY(Run(ctx, kAssign, {*professor, *course, ctx.factory.Semester()}));
  return std::string("new_assignment");
}

Result<std::string> StudentDeparture(EventContext& ctx) {
  MIGSBYU_ASSIGN(auto student, PickStudent(ctx));
  if (!student) return NewStudent(ctx);
  // The enrollments go first, in the same transaction: the foreign key forbids the reverse.
  MIGSBYU_TRY(Run(ctx, "DELETE FROM takes WHERE student_id = $1", {*student}));
  MIGSBYU_TRY(Run(ctx, "DELETE FROM students WHERE id = $1", {*student}));
  return std::string("student_departure");
}

struct EventKind {
  EventFn apply;
  double weight;
};

// The weights documented in simulator.h.
constexpr EventKind kEvents[] = {
    {GpaChange, 24},   {AddressMove, 10},  {YearAdvance, 8},    {StatusChange, 4},
    {SalaryRaise, 6},  {CourseDrop, 10},   {NewEnrollment, 18}, {Registration, 6},
    {NewStudent, 5},   {NewAssignment, 5}, {NewCourse, 2},      {StudentDeparture, 2},
    {NewProfessor, 1},
};

std::vector<double> EventWeights() {
  std::vector<double> weights;
  for (const auto& kind : kEvents) weights.push_back(kind.weight);
  return weights;
}

// Draws an event and applies it in one transaction on a pooled connection.
Result<std::string> ApplyRandomEvent(pg::Pool& pool, Random& rng, RecordFactory& factory) {
  static const std::vector<double> weights = EventWeights();
  const EventKind& kind = kEvents[rng.Weighted(weights)];
  MIGSBYU_ASSIGN(auto lease, pool.Acquire());
  EventContext ctx{*lease, rng, factory};
  std::string applied;
  MIGSBYU_TRY(RunInTransaction(*lease, Actor::Simulator(), [&]() -> Status {
    MIGSBYU_ASSIGN(applied, kind.apply(ctx));
    return OkStatus();
  }));
  return applied;
}

Status CheckOptions(const SimulatorOptions& options) {
  std::vector<FieldError> errors;
  if (!std::isfinite(options.rate_per_second) || options.rate_per_second <= 0 ||
      options.rate_per_second > kMaxSimulatorRate) {
    errors.push_back({"rate_per_second", "must be above 0 and at most " +
                                             std::to_string(static_cast<int>(kMaxSimulatorRate))});
  }
  if (!std::isfinite(options.duration_seconds) || options.duration_seconds <= 0 ||
      options.duration_seconds > kMaxSimulatorDuration) {
    errors.push_back(
        {"duration_seconds",
         "must be above 0 and at most " + std::to_string(static_cast<int>(kMaxSimulatorDuration))});
  }
  if (options.max_events < 0) errors.push_back({"max_events", "must be 0 (no limit) or more"});
  if (!errors.empty()) return Error::Validation(std::move(errors));
  return OkStatus();
}

}  // namespace

Simulator::Simulator(pg::Pool& pool) : pool_(pool) {}

Simulator::~Simulator() { Stop(); }

Status Simulator::Start(const SimulatorOptions& options) {
  MIGSBYU_TRY(CheckOptions(options));
  std::lock_guard lock(mu_);
  if (status_.running) {
    return Error::Conflict("simulation already running (" + std::to_string(status_.events) +
                           " events so far): stop it first");
  }
  // A run that ended by itself has cleared `running` as its last locked step; its thread only
  // returns after that, so joining here is short and never needs mu_.
  if (thread_.joinable()) thread_.join();
  status_ = SimulatorStatus{};
  status_.running = true;
  status_.options = options;
  started_at_ = std::chrono::steady_clock::now();
  stop_requested_ = false;
  thread_ = std::thread(&Simulator::Run, this, options);
  return OkStatus();
}

void Simulator::Stop() {
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
    thread = std::move(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) {
    thread.join();
  } else {
    std::unique_lock lock(mu_);  // another Stop is joining the run: wait for its end
    cv_.wait(lock, [&] { return !status_.running; });
  }
}

SimulatorStatus Simulator::GetStatus() const {
  std::lock_guard lock(mu_);
  SimulatorStatus status = status_;
  const auto until = status.running ? std::chrono::steady_clock::now() : ended_at_;
  status.elapsed_seconds = std::chrono::duration<double>(until - started_at_).count();
  return status;
}

bool Simulator::WaitUntilStopped(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return !status_.running; });
}

void Simulator::Run(SimulatorOptions options) {
  using Clock = std::chrono::steady_clock;
  Random rng(options.seed);
  RecordFactory factory(rng);
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(options.duration_seconds));
  MIGSBYU_LOG_INFO("simulate: {} events/s for {} s (seed {})", options.rate_per_second,
                   options.duration_seconds, options.seed);
  for (int64_t k = 0; options.max_events == 0 || k < options.max_events; ++k) {
    const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(k / options.rate_per_second));
    if (due >= end) break;
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_until(lock, due, [&] { return stop_requested_; })) break;
    }
    auto applied = ApplyRandomEvent(pool_, rng, factory);
    std::lock_guard lock(mu_);
    if (applied.ok()) {
      ++status_.events;
      ++status_.by_kind[*applied];
    } else {
      const int64_t failures = ++status_.by_kind["failed"];
      std::string error = applied.error().ToString();
      // A server that is down fails every event alike: log new errors, and repeats sparingly.
      if (error != status_.last_error || failures % 100 == 0) {
        MIGSBYU_LOG_WARN("simulate: event failed ({} failures so far): {}", failures, error);
      }
      status_.last_error = std::move(error);
    }
  }
  std::lock_guard lock(mu_);
  status_.running = false;
  ended_at_ = std::chrono::steady_clock::now();
  MIGSBYU_LOG_INFO("simulate: done, {} events", status_.events);
  cv_.notify_all();
}

}  // namespace migsbyu::oltp
