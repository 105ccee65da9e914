// bench/lake: the cost of writing Iceberg tables (src/lake/iceberg) beside DuckDB's own COPY.
//
// N commits, each appending M rows of a change-log-shaped table (the columns of
// students_changes) as one data file: the data file is copied by DuckDB with Iceberg's field ids
// and iceberg.schema (then fsynced), described from its footer (column statistics), and
// committed (a manifest, the manifest list, the metadata file, their fsyncs, the link, the
// version hint). Beside each commit, in the same loop so that machine noise hits both alike,
// DuckDB copies the same rows to Parquet with the same settings and nothing else: the limit.
//
// Prints the total and per-commit time of each part, the ratio of the limit to the whole Iceberg
// write, and the commit's cost over the first and last tenth of the commits (the bookkeeping
// must not grow with the table; what grows is the metadata file, which lists every snapshot).
//
// Usage: iceberg_bench [--commits N] [--rows M] [--threads T] [--dir DIR]
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_support.h"
#include "lake/duck.h"
#include "lake/iceberg/files.h"
#include "lake/iceberg/parquet.h"
#include "lake/iceberg/table.h"

namespace migsbyu::iceberg {
namespace {

namespace fs = std::filesystem;
using bench::Clock;
using bench::Ms;
using bench::Must;

// CPU time of the calling thread in ms: the commit runs on it, so this is its own work, without
// the time spent waiting for the disk.
double ThreadCpuMs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

// The change log of the students table: operation and position columns, then before_/after_
// images of the nine student columns.
const char* kBatchSql =
    "CREATE TABLE batch AS SELECT CASE WHEN i % 10 = 0 THEN 'c' ELSE 'u' END AS op, "
    "(1000000 + i // 7) AS commit_lsn, (1000000 + i) AS lsn, (i % 7) AS position, "
    "(5000 + i // 7) AS xid, TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_microseconds(i * 1000) AS "
    "commit_time, "
    "printf('S%07d', i % 100000) AS before_id, 'First' || i AS before_first_name, "
    "'Last' || (i % 9973) AS before_last_name, CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END AS "
    "before_gender, (i % 500) || ' Main Street' AS before_address, DATE '1999-01-01' + (i % "
    "3000)::INTEGER AS before_date_of_birth, 'Mathematics' AS before_major, (1 + i % 4)::INTEGER "
    "AS before_year_of_study, ((i % 401) / 100.0)::DECIMAL(3,2) AS before_gpa, "
    "printf('S%07d', i % 100000) AS after_id, 'First' || i AS after_first_name, "
    "'Last' || (i % 9973) AS after_last_name, CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END AS "
    "after_gender, (i % 500) || ' Main Street' AS after_address, DATE '1999-01-01' + (i % "
    "3000)::INTEGER AS after_date_of_birth, 'Physics' AS after_major, (1 + (i + 1) % "
    "4)::INTEGER AS after_year_of_study, (((i + 7) % 401) / 100.0)::DECIMAL(3,2) AS after_gpa "
    "FROM range(?) t(i)";

Schema BatchSchema(duck::Connection& conn) {
  auto columns = Must(conn.Query("SELECT * FROM batch LIMIT 0"));
  Schema schema;
  for (uint64_t c = 0; c < columns.ColumnCount(); ++c) {
    Type type = Must(TypeFromDuck(columns.ColumnTypeName(c)));
    schema.fields.push_back(
        Field{static_cast<int32_t>(c + 1), columns.ColumnName(c), type, false, ""});
  }
  return schema;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Run(int commits, int64_t rows, int threads, const std::string& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir + "/copy");
  auto db = Must(duck::Database::Open(":memory:", {{"threads", std::to_string(threads)}}));
  auto conn = Must(duck::Connection::Open(db));
  std::string create = kBatchSql;
  create.replace(create.find('?'), 1, std::to_string(rows));
  Must(conn.Execute(create));
  Schema schema = BatchSchema(conn);
  Table table = Must(Table::Create(dir + "/lake/students_changes", schema));
  ParquetOptions parquet;
  std::string options = Must(DataFileCopyOptions(schema, parquet));
  std::string query = DataFileQuery(schema, "batch");
  std::string plain_options = "FORMAT parquet, COMPRESSION " + parquet.compression +
                              ", ROW_GROUP_SIZE " + std::to_string(parquet.row_group_size);

  std::vector<double> limit, copy, describe, commit, commit_cpu;
  // The commit's phases, timed through its step hook: manifests and list written (with the
  // read of the previous manifest list), metadata serialized and written, linked, the
  // temporary name removed and the directory fsynced, the hint replaced.
  constexpr int kSteps = 5;
  std::vector<std::vector<double>> phases(kSteps);
  Clock::time_point phase_start;
  CommitOptions commit_options;
  commit_options.after_step = [&](CommitStep step) {
    auto now = Clock::now();
    phases[static_cast<int>(step)].push_back(Ms(now - phase_start));
    phase_start = now;
    return OkStatus();
  };
  for (int i = 0; i < commits; ++i) {
    // The limit: DuckDB's COPY of the same rows with the same settings, nothing more.
    auto start = Clock::now();
    Must(conn.Execute("COPY batch TO " +
                      duck::QuoteString(dir + "/copy/" + std::to_string(i) + ".parquet") + " (" +
                      plain_options + ")"));
    limit.push_back(Ms(Clock::now() - start));

    std::string uri = table.NewDataFileUri();
    std::string path = Must(LocalPath(uri));
    start = Clock::now();
    Must(conn.Execute("COPY (" + query + ") TO " + duck::QuoteString(path) + " (" + options + ")"));
    Must(SyncPath(path));
    auto copied = Clock::now();
    DataFile file = Must(DescribeParquetFile(conn, uri, schema, FileContent::kData, parquet));
    auto described = Clock::now();
    SnapshotUpdate update;
    update.added_files = {file};
    update.summary["migsbyu.commit"] = std::to_string(i);
    phase_start = Clock::now();
    double cpu_start = ThreadCpuMs();
    Must(table.Commit(update, commit_options));
    commit_cpu.push_back(ThreadCpuMs() - cpu_start);
    auto committed = Clock::now();
    copy.push_back(Ms(copied - start));
    describe.push_back(Ms(described - copied));
    commit.push_back(Ms(committed - described));
    fs::remove(dir + "/copy/" + std::to_string(i) + ".parquet");  // keep the disk footprint small
  }

  auto sum = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s;
  };
  double l = sum(limit), c = sum(copy), d = sum(describe), k = sum(commit), total = c + d + k;
  double total_rows = static_cast<double>(rows) * commits;
  std::printf("Iceberg appends: %d commits of %lld rows (%zu columns), DuckDB threads %d\n",
              commits, static_cast<long long>(rows), schema.fields.size(), threads);
  std::printf("%-52s %10s %12s %12s\n", "", "total ms", "median ms", "rows/s");
  auto row = [&](const char* name, double t, const std::vector<double>& v) {
    std::printf("%-52s %10.0f %12.2f %12.0f\n", name, t, Median(v), total_rows / (t / 1000));
  };
  row("DuckDB COPY of the same rows (the limit)", l, limit);
  row("Iceberg: COPY with field ids + fsync of the file", c, copy);
  std::printf("%-52s %10.0f %12.2f\n", "Iceberg: column statistics from the footer", d,
              Median(describe));
  std::printf("%-52s %10.0f %12.2f\n", "Iceberg: commit (Avro, metadata, fsyncs, link)", k,
              Median(commit));
  std::vector<double> whole;
  for (int i = 0; i < commits; ++i) whole.push_back(copy[i] + describe[i] + commit[i]);
  row("Iceberg write, all of it", total, whole);
  std::printf("%-52s %9.2fx (target >= 0.8)\n", "ratio: limit / Iceberg write", l / total);
  size_t tenth = std::max<size_t>(1, commit.size() / 10);
  std::vector<double> first(commit.begin(), commit.begin() + tenth),
      last(commit.end() - tenth, commit.end());
  std::printf("%-52s %10.2f -> %.2f ms\n", "commit, median of the first -> last tenth",
              Median(first), Median(last));
  std::vector<double> cpu_head(commit_cpu.begin(), commit_cpu.begin() + tenth),
      cpu_tail(commit_cpu.end() - tenth, commit_cpu.end());
  std::printf("  %-50s %10.2f -> %.2f ms\n", "CPU time of the commit (no I/O waits)",
              Median(cpu_head), Median(cpu_tail));
  const char* names[kSteps] = {"manifest + manifest list", "metadata JSON written + fsync", "link",
                               "tmp removed + dir fsync", "version hint"};
  for (int p = 0; p < kSteps; ++p) {
    std::vector<double> head(phases[p].begin(), phases[p].begin() + tenth),
        tail(phases[p].end() - tenth, phases[p].end());
    std::printf("  %-50s %10.2f -> %.2f ms\n", names[p], Median(head), Median(tail));
  }
  auto metadata = fs::file_size(dir + "/lake/students_changes/metadata/v" +
                                std::to_string(table.version()) + ".metadata.json");
  std::printf("%-52s %10.0f KiB (%zu snapshots)\n", "metadata file at the end",
              static_cast<double>(metadata) / 1024, table.metadata().snapshots.size());
  fs::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace migsbyu::iceberg

int main(int argc, char** argv) {
  migsbyu::bench::program_name = "iceberg_bench";
  CLI::App app{"Iceberg write cost beside DuckDB's COPY"};
  int commits = 100, threads = 2;
  int64_t rows = 100000;
  std::string dir = "var/bench-iceberg";
  app.add_option("--commits", commits, "appends to commit")->check(CLI::PositiveNumber);
  app.add_option("--rows", rows, "rows per append")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "DuckDB threads")->check(CLI::PositiveNumber);
  app.add_option("--dir", dir, "scratch directory (deleted)");
  CLI11_PARSE(app, argc, argv);
  dir = std::filesystem::absolute(dir).string();
  return migsbyu::iceberg::Run(commits, rows, threads, dir);
}
