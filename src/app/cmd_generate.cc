#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>

#include "app/commands.h"
#include "oltp/generator.h"
#include "oltp/migrations.h"
#include "pg/connection.h"

namespace migsbyu::app {

namespace {

// CLI11 does not print a RuntimeError's message: say what failed, then exit with status 1.
[[noreturn]] void Fail(const Error& error) {
  std::fprintf(stderr, "generate: %s\n", error.ToString().c_str());
  throw CLI::RuntimeError(1);
}

}  // namespace

void AddGenerateCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "generate",
      "Insert random students, professors, courses, enrollments and assignments; the same --seed "
      "on the same database gives the same rows");
  struct Options {
    std::string url = DefaultDatabaseUrl();
    oltp::GenerateCounts counts;
    uint64_t seed = 0;
  };
  auto options = std::make_shared<Options>();
  cmd->add_option("--students", options->counts.students, "Students to insert")
      ->capture_default_str();
  cmd->add_option("--professors", options->counts.professors, "Professors to insert")
      ->capture_default_str();
  cmd->add_option("--courses", options->counts.courses, "Courses to insert")->capture_default_str();
  cmd->add_option("--enrollments", options->counts.enrollments,
                  "Enrollments (takes) among all students and courses in the database")
      ->capture_default_str();
  cmd->add_option("--assignments", options->counts.assignments,
                  "Assignments (teaches) among all professors and courses in the database")
      ->capture_default_str();
  auto* seed =
      cmd->add_option("--seed", options->seed, "Random seed (default: a fresh one, printed)");
  AddDatabaseUrlOption(cmd, &options->url);
  cmd->callback([options, seed] {
    if (seed->count() == 0) options->seed = std::random_device{}();
    auto conn = pg::Connection::Open(options->url);
    if (!conn.ok()) Fail(conn.error());
    auto migrated = oltp::ApplyMigrations(*conn);  // idempotent: a fresh cluster works too
    if (!migrated.ok()) Fail(migrated.error());
    const auto start = std::chrono::steady_clock::now();
    auto inserted = oltp::Generate(*conn, options->counts, options->seed, Actor::Cli());
    if (!inserted.ok()) Fail(inserted.error());
    const auto ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start);
    std::printf("generate: inserted %s in %.0f ms (seed %llu)\n", oltp::ToString(*inserted).c_str(),
                ms.count(), static_cast<unsigned long long>(options->seed));
  });
}

}  // namespace migsbyu::app
