#include "analytics/worker_process.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "analytics/fixture_lake.h"

namespace migsbyu::analytics {
namespace {

// testdata/confinement.txt against what the probe reports from inside its confinement.
TEST(WorkerProcessTest, AConfinedWorkerCanDoOnlyWhatItsWorkNeeds) {
  WorkerLimits limits;
  limits.address_space_bytes = uint64_t{1} << 30;
  auto worker = WorkerProcess::Start(MIGSBYU_CONFINEMENT_PROBE,
                                     {"--parent", std::to_string(getpid())}, limits);
  ASSERT_TRUE(worker.ok()) << worker.error().ToString();
  // The limits are set once Start returns; the probe starts its attempts on this frame.
  ASSERT_EQ(worker->Send("go", WorkerProcess::Clock::now() + std::chrono::seconds(30)),
            WorkerProcess::Outcome::kDone);
  std::string report;
  auto outcome =
      worker->Receive(&report, 1 << 20, WorkerProcess::Clock::now() + std::chrono::seconds(30));
  ASSERT_EQ(outcome, WorkerProcess::Outcome::kDone);
  worker->Finish();
  auto outcomes = nlohmann::json::parse(report);
  std::istringstream lines(
      testing::ReadFileOrDie(std::string(MIGSBYU_ANALYTICS_TESTDATA) + "/confinement.txt"));
  int checked = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string attempt, expected;
    fields >> attempt >> expected;
    ASSERT_TRUE(outcomes.contains(attempt)) << "the probe does not try " << attempt;
    EXPECT_EQ(outcomes[attempt], expected) << attempt;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(outcomes.size())) << "attempts without an expectation";
}

TEST(WorkerProcessTest, FinishKillsAWorkerThatWillNotEndAndReapsIt) {
  auto worker = WorkerProcess::Start("/bin/sh", {"-c", "exec /bin/sleep 60"}, WorkerLimits{});
  ASSERT_TRUE(worker.ok()) << worker.error().ToString();
  pid_t pid = worker->pid();
  std::string nothing;
  EXPECT_EQ(worker->Receive(&nothing, 16, WorkerProcess::Clock::now()),
            WorkerProcess::Outcome::kDeadline);
  WorkerExit exit = worker->Finish();
  EXPECT_TRUE(exit.killed_by_us);
  EXPECT_FALSE(exit.exited);
  EXPECT_EQ(exit.signal, SIGKILL);
  EXPECT_NE(kill(pid, 0), 0) << "the worker is still there (or was not reaped)";
  EXPECT_EQ(worker->Finish().signal, SIGKILL) << "Finish is idempotent";
}

TEST(WorkerProcessTest, AProgramThatCannotStartIsUnavailable) {
  auto worker = WorkerProcess::Start("/nonexistent/worker", {}, WorkerLimits{});
  ASSERT_FALSE(worker.ok());
  EXPECT_EQ(worker.error().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace migsbyu::analytics
