#include <signal.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <random>
#include <string>

#include "app/commands.h"
#include "oltp/migrations.h"
#include "oltp/simulator.h"
#include "pg/pool.h"

namespace migsbyu::app {

namespace {

// CLI11 does not print a RuntimeError's message: say what failed, then exit with status 1.
[[noreturn]] void Fail(const Error& error) {
  std::fprintf(stderr, "simulate: %s\n", error.ToString().c_str());
  throw CLI::RuntimeError(1);
}

void PrintSummary(const oltp::SimulatorStatus& status) {
  std::printf("simulate: %lld events in %.1f s\n", static_cast<long long>(status.events),
              status.elapsed_seconds);
  for (const auto& [kind, count] : status.by_kind) {
    std::printf("  %-18s %lld\n", kind.c_str(), static_cast<long long>(count));
  }
  if (!status.last_error.empty()) std::printf("  last error: %s\n", status.last_error.c_str());
}

// Runs the simulator until it ends by itself or SIGINT/SIGTERM arrives (then stops it cleanly).
void RunInForeground(oltp::Simulator& simulator, const oltp::SimulatorOptions& options) {
  // Blocked before the simulator's thread starts, so that it inherits the mask and only this
  // thread takes the signals, synchronously.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto started = simulator.Start(options);
  if (!started.ok()) Fail(started.error());
  auto last_report = std::chrono::steady_clock::now();
  while (!simulator.WaitUntilStopped(std::chrono::milliseconds(0))) {
    const timespec tick{0, 200'000'000};
    if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) {
      std::printf("simulate: stopping\n");
      simulator.Stop();
      break;
    }
    if (std::chrono::steady_clock::now() - last_report >= std::chrono::seconds(10)) {
      last_report = std::chrono::steady_clock::now();
      std::printf("simulate: %lld events so far\n",
                  static_cast<long long>(simulator.GetStatus().events));
      std::fflush(stdout);
    }
  }
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
}

}  // namespace

void AddSimulateCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "simulate",
      "Apply a stream of random life events (GPA changes, moves, year advances, raises, drops, "
      "enrollments, new and departing students) at a rate, in the foreground; Ctrl-C stops it");
  struct Options {
    std::string url = DefaultDatabaseUrl();
    oltp::SimulatorOptions simulator;
  };
  auto options = std::make_shared<Options>();
  cmd->add_option("--rate", options->simulator.rate_per_second, "Events per second")
      ->capture_default_str();
  cmd->add_option("--duration", options->simulator.duration_seconds, "Seconds to run")
      ->capture_default_str();
  auto* seed = cmd->add_option("--seed", options->simulator.seed,
                               "Random seed (default: a fresh one, printed)");
  cmd->add_option("--max-events", options->simulator.max_events,
                  "Stop after this many events (0: only the duration limits the run)")
      ->capture_default_str();
  AddDatabaseUrlOption(cmd, &options->url);
  cmd->callback([options, seed] {
    if (seed->count() == 0) options->simulator.seed = std::random_device{}();
    std::printf("simulate: %g events/s for %g s (seed %llu)\n", options->simulator.rate_per_second,
                options->simulator.duration_seconds,
                static_cast<unsigned long long>(options->simulator.seed));
    std::fflush(stdout);
    pg::Pool pool(options->url, 2);
    {
      auto conn = pool.Acquire();
      if (!conn.ok()) Fail(conn.error());
      auto migrated = oltp::ApplyMigrations(**conn);  // idempotent: a fresh cluster works too
      if (!migrated.ok()) Fail(migrated.error());
    }
    oltp::Simulator simulator(pool);
    RunInForeground(simulator, options->simulator);
    PrintSummary(simulator.GetStatus());
  });
}

}  // namespace migsbyu::app
