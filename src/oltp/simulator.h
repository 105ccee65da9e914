// The activity simulator: a stream of realistic university life events applied to the
// operational database at a given rate, so that change data capture and the lake's history have
// something to show.
//
// Each event is one transaction on a connection leased from the pool, stamped with the actor
// "simulator" (user and origin: common/actor.h). Kinds and their weights:
//   gpa_change 24          a student's GPA moves by up to +-0.50 (kept within 0.00-4.00)
//   address_move 10        a student (4 in 5) or a professor moves to a new address
//   year_advance 8         a student below year 6 moves up a year
//   status_change 4        a student switches between Full-time and Part-time
//   salary_raise 6         a professor's salary rises by 5,000-20,000
//   course_drop 10         one enrollment is deleted
//   new_enrollment 18      a student enrolls in a course for a semester
//   registration 6         a student enrolls in 2-4 courses and their GPA is updated: one
//                          transaction with several changes
//   new_student 5          a new student, enrolled in 1-3 courses in the same transaction
//   new_assignment 5       a professor is assigned a course for a semester
//   new_course 2           a new course and a professor assigned to it, in one transaction
//   new_professor 1        a new professor
//   student_departure 2    a student is deleted with all their enrollments, in one transaction
// Rows are picked at random among those in the database at the time (the first key at or after a
// random probe, in the primary key's index order), so the simulator works alongside other writers;
// an event with nothing to act on (no students yet) becomes a new_student (new_course,
// new_professor) event instead. New records come from the generator's RecordFactory
// (oltp/generator.h), with its distributions.
//
// Events are spread evenly: event k starts k / rate_per_second seconds after Start, or as soon
// as the previous one ends when the database is slower than the rate. The run ends after
// duration_seconds, after max_events events when that is set, or on Stop().
//
// Threading: every public method is thread-safe. Events run on one thread the simulator owns.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "pg/pool.h"

namespace migsbyu::oltp {

struct SimulatorOptions {
  double rate_per_second = 10;   // events per second: > 0, at most kMaxSimulatorRate
  double duration_seconds = 60;  // > 0, at most kMaxSimulatorDuration
  uint64_t seed = 0;             // the same seed on the same database state applies the same events
  int64_t max_events = 0;        // stop after this many events; 0: no limit but the duration
};

inline constexpr double kMaxSimulatorRate = 10'000;
inline constexpr double kMaxSimulatorDuration = 7 * 24 * 3600.0;

struct SimulatorStatus {
  bool running = false;
  int64_t events = 0;                      // events applied (committed) in the current/last run
  std::map<std::string, int64_t> by_kind;  // committed events per kind; "failed" for failures
  std::string last_error;                  // the last failed event's error, empty if none
  SimulatorOptions options;                // the current/last run's
  double elapsed_seconds = 0;              // since the current/last run started, to its end
};

class Simulator {
 public:
  // REQUIRES: `pool` outlives the simulator.
  explicit Simulator(pg::Pool& pool);
  // Stops the run, if any, and waits for its thread.
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Starts a run with `options` on a new thread and returns at once; counts start again from 0.
  // Errors: kValidation naming the field for options out of range; kConflict when a run is in
  // progress (Stop it first): a running simulation is never silently replaced.
  Status Start(const SimulatorOptions& options);

  // Ends the current run, if any, after the event in flight; returns when its thread has ended.
  void Stop();

  // A snapshot of the current or last run.
  SimulatorStatus GetStatus() const;

  // Waits until no run is in progress or `timeout` passes; true if no run is in progress.
  bool WaitUntilStopped(std::chrono::milliseconds timeout) const;

 private:
  void Run(SimulatorOptions options);

  pg::Pool& pool_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // signals stop_requested_ and the end of a run
  bool stop_requested_ = false;
  SimulatorStatus status_;
  std::chrono::steady_clock::time_point started_at_, ended_at_;
  std::thread thread_;
};

}  // namespace migsbyu::oltp
