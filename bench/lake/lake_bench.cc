// bench/lake: the lake's figures beside a limit measured in the same run.
//   queries: with N students and V versions each (default 1,000,000 × 10 = 10,000,000
//     versions), latency of a page of the current dimension, an as-of query, one entity's
//     history and the fact aggregation, beside the prototype's method (its dimension rebuilt
//     from the whole change log at query time, ../shared/seed/PROTOTYPE.md) on the same files.
//   write: change-log write throughput of LakeWriter beside DuckDB's own COPY of the same rows
//     to Parquet, alternating runs of each (--write-repeats); medians and the pairs' ratios.
// The change log, the folded dimension and the fact are generated with DuckDB straight into the
// lake's documented layout (docs/LAKE.md), then a few hundred live updates go through the
// LakeWriter so that the dimension view has delta files and closes to fix up, as between folds.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "lake/catalog.h"
#include "lake/lake.h"
#include "lake/manifest.h"
#include "lake/writer.h"

namespace migsbyu::lake {
namespace {
namespace fs = std::filesystem;
using bench::Clock;
using bench::Ms;
using bench::Must;

// CPU time of the whole process (every thread) so far, user and system.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

// Median wall time of `runs` executions of `sql` (the first run warms the file cache, not timed).
double TimeQuery(duck::Connection& conn, const std::string& sql, int runs = 3) {
  Must(conn.Query(sql));
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto start = Clock::now();
    Must(conn.Query(sql));
    t.push_back(Ms(Clock::now() - start));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// The student attribute expressions of version `v` of student `s` (SQL over columns s, v).
std::string StudentValues(const std::string& v) {
  return "printf('S%07d', s) AS id, 'First' || s AS first_name, 'Last' || (s % 9973) AS last_name, "
         "CASE WHEN s % 2 = 0 THEN 'Female' ELSE 'Male' END AS gender, "
         "(s % 500) || ' Main Street' AS address, DATE '1999-01-01' + (s % 3000)::INTEGER AS "
         "date_of_birth, (['Mathematics','Physics','Biology','Economics','Art History'])[1 + ((s "
         "+ " +
         v + ") % 5)::INTEGER] AS major, (1 + (" + v +
         ") % 4)::INTEGER AS year_of_study, "
         "(((s * 7 + " +
         v +
         " * 13) % 401) / 100.0)::DECIMAL(3,2) AS gpa, "
         "CASE WHEN s % 41 = 0 THEN 'Part-time' ELSE 'Full-time' END AS enrollment_status";
}

void GenerateLake(const std::string& dir, int64_t n, int64_t versions, duck::Connection& conn) {
  fs::remove_all(dir);
  for (const char* d : {"students_changes", "students_dim", "courses_changes", "courses_dim",
                        "takes_changes", "course_enrollment_fact", kManifestDir}) {
    fs::create_directories(fs::path(dir) / d);
  }
  const int64_t kCourses = 1000;
  const int64_t t0 = 1700000000000000;  // µs
  // Global order: courses first (commit_lsn 1..1000), then version v of student s at
  // commit_lsn = 1000 + (v*n + s + 1) * 10, one millisecond apart; enrollments (+5) follow the
  // student's first version.
  std::string n_s = std::to_string(n), k_s = std::to_string(kCourses), t0_s = std::to_string(t0);
  std::string lsn = "(" + k_s + " + (v * " + n_s + " + s + 1) * 10)";
  std::string time = "make_timestamp(" + t0_s + " + (v * " + n_s + " + s + 1) * 1000)::TIMESTAMPTZ";
  Manifest m;
  m.version = 1;
  for (int64_t v = 0; v < versions; ++v) {
    std::string file = "students_changes/part-00000001-" + std::to_string(v) + ".parquet";
    std::string before_cols, after_cols;
    for (const auto& c : FindKnownTable("students")->columns) {
      before_cols += ", CASE WHEN v > 0 THEN b." + c.name + " END AS before_" + c.name;
      after_cols += ", a." + c.name + " AS after_" + c.name;
    }
    Must(conn.Execute(
        "COPY (SELECT CASE WHEN v = 0 THEN 'c' ELSE 'u' END AS op, " + lsn +
        "::UBIGINT AS commit_lsn, " + lsn +
        "::UBIGINT AS lsn, 0::UBIGINT AS position, (1000 + v * " + n_s + " + s)::UBIGINT AS xid, " +
        time + " AS commit_time" + before_cols + after_cols + " FROM (SELECT s, " +
        std::to_string(v) + " AS v, " + StudentValues(std::to_string(v)) + " FROM range(" + n_s +
        ") r(s)) a JOIN (SELECT s, " + StudentValues(std::to_string(v - 1)) + " FROM range(" + n_s +
        ") r(s)) b USING (s) ORDER BY s) TO " + duck::QuoteString(dir + "/" + file) +
        " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)"));
    m.datasets["students_changes"].push_back({file, static_cast<uint64_t>(n)});
  }
  // The dimension as a fold writes it: one file sorted by key, ends computed.
  std::string dim_values = StudentValues("v");
  Must(conn.Execute(
      "COPY (SELECT (v * " + n_s + " + s + 1)::BIGINT AS student_key, " + dim_values + ", " + time +
      " AS row_effective_start, CASE WHEN v = " + std::to_string(versions - 1) +
      " THEN TIMESTAMPTZ '9999-12-31 00:00:00+00' ELSE make_timestamp(" + t0_s + " + ((v + 1) * " +
      n_s + " + s + 1) * 1000)::TIMESTAMPTZ END AS row_effective_end, CASE WHEN v = " +
      std::to_string(versions - 1) +
      " THEN 'yes' ELSE 'no' END AS current_row_indicator, "
      "false AS is_deleted, " +
      lsn +
      "::UBIGINT AS source_lsn, 0::UBIGINT AS source_position, "
      "(1000 + v * " +
      n_s + " + s)::UBIGINT AS source_xid FROM range(" + std::to_string(versions) +
      ") rv(v), range(" + n_s + ") r(s) ORDER BY id, student_key) TO " +
      duck::QuoteString(dir + "/students_dim/part-00000001-0.parquet") +
      " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)"));
  m.datasets["students_dim"].push_back(
      {"students_dim/part-00000001-0.parquet", static_cast<uint64_t>(n * versions)});
  // Courses (one version each) and two enrollments per student after its first version.
  std::string course_cols =
      "printf('C%04d', c) AS id, 'Course ' || c AS name, (1 + c % 4)::INTEGER AS units, "
      "(['Mathematics','Physics','Biology'])[1 + (c % 3)::INTEGER] AS department";
  Must(conn.Execute(
      "COPY (SELECT 'c' AS op, (c + 1)::UBIGINT AS commit_lsn, (c + 1)::UBIGINT AS lsn, "
      "0::UBIGINT AS position, (c + 1)::UBIGINT AS xid, make_timestamp(" +
      t0_s +
      " - 1000000 + c)::TIMESTAMPTZ AS commit_time, NULL::VARCHAR AS before_id, "
      "NULL::VARCHAR AS before_name, NULL::INTEGER AS before_units, NULL::VARCHAR AS "
      "before_department, id AS after_id, name AS after_name, units AS after_units, "
      "department AS after_department FROM (SELECT c, " +
      course_cols + " FROM range(" + k_s + ") r(c))) TO " +
      duck::QuoteString(dir + "/courses_changes/part-00000001-0.parquet") +
      " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)"));
  m.datasets["courses_changes"].push_back({"courses_changes/part-00000001-0.parquet", kCourses});
  Must(conn.Execute(
      "COPY (SELECT (c + 1)::BIGINT AS course_key, " + course_cols + ", make_timestamp(" + t0_s +
      " - 1000000 + c)::TIMESTAMPTZ AS row_effective_start, "
      "TIMESTAMPTZ '9999-12-31 00:00:00+00' AS row_effective_end, 'yes' AS "
      "current_row_indicator, false AS is_deleted, (c + 1)::UBIGINT AS source_lsn, "
      "0::UBIGINT AS source_position, (c + 1)::UBIGINT AS source_xid FROM range(" +
      k_s + ") r(c)) TO " + duck::QuoteString(dir + "/courses_dim/part-00000001-0.parquet") +
      " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)"));
  m.datasets["courses_dim"].push_back({"courses_dim/part-00000001-0.parquet", kCourses});
  std::string enroll = "FROM range(" + n_s + ") r(s), range(2) e(k)";
  std::string course = "printf('C%04d', (s * 31 + k * 17) % " + k_s + ")";
  std::string semester =
      "(['Fall 2024','Spring 2025','Fall 2025','Spring 2026'])[1 + ((s + k) % 4)::INTEGER]";
  std::string e_lsn = "(" + k_s + " + (s + 1) * 10 + 5)";
  std::string e_time = "make_timestamp(" + t0_s + " + (s + 1) * 1000 + 500)::TIMESTAMPTZ";
  Must(conn.Execute("COPY (SELECT 'c' AS op, " + e_lsn + "::UBIGINT AS commit_lsn, " + e_lsn +
                    "::UBIGINT AS lsn, k::UBIGINT AS position, s::UBIGINT AS xid, " + e_time +
                    " AS commit_time, NULL::VARCHAR AS before_student_id, NULL::VARCHAR AS "
                    "before_course_id, NULL::VARCHAR AS before_semester, printf('S%07d', s) AS "
                    "after_student_id, " +
                    course + " AS after_course_id, " + semester + " AS after_semester " + enroll +
                    " ORDER BY s, k) TO " +
                    duck::QuoteString(dir + "/takes_changes/part-00000001-0.parquet") +
                    " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)"));
  m.datasets["takes_changes"].push_back(
      {"takes_changes/part-00000001-0.parquet", static_cast<uint64_t>(2 * n)});
  Must(conn.Execute(
      "COPY (SELECT (s + 1)::BIGINT AS student_key, NULL::BIGINT AS professor_key, "
      "((s * 31 + k * 17) % " +
      k_s + " + 1)::BIGINT AS course_key, " + semester +
      " AS semester, 1 AS course_enrollment_count, " + e_time + " AS event_time, " + e_lsn +
      "::UBIGINT AS source_lsn, k::UBIGINT AS source_position, printf('S%07d', s) "
      "AS student_id, NULL::VARCHAR AS professor_id, " +
      course + " AS course_id " + enroll + " ORDER BY s, k) TO " +
      duck::QuoteString(dir + "/course_enrollment_fact/part-00000001-0.parquet") +
      " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)"));
  m.datasets["course_enrollment_fact"].push_back(
      {"course_enrollment_fact/part-00000001-0.parquet", static_cast<uint64_t>(2 * n)});
  uint64_t last = 1000 + (versions * n) * 10;
  m.end_lsn = Lsn(last + 1);
  m.commit_lsn = Lsn(last);
  m.commit_time_us = t0 + versions * n * 1000;
  m.watermarks["students"] = {last, 0};
  m.watermarks["courses"] = {static_cast<uint64_t>(kCourses), 0};
  m.watermarks["takes"] = {static_cast<uint64_t>(1000 + n * 10 + 5), 1};
  m.next_keys = {{"student", versions * n + 1}, {"course", kCourses + 1}, {"professor", 1}};
  Must(WriteManifest(dir, m));
}

// A few live transactions through the writer: updates of random students, so the dimension view
// joins delta files and closes as it does between folds.
void LiveUpdates(const std::string& dir, int64_t n, int64_t versions, int transactions,
                 int per_tx) {
  WriterOptions options;
  options.dir = dir;
  options.duckdb_threads = 2;
  // The queries read the lake's views (manifests); publishing the generated 10,000,000 versions
  // to Iceberg at open would only slow the setup.
  options.iceberg.enabled = false;
  auto writer = Must(LakeWriter::Open(options, nullptr));
  auto schema = std::make_shared<events::TableSchema>();
  schema->schema = "public";
  schema->name = "students";
  for (const auto& c : FindKnownTable("students")->columns) {
    schema->columns.push_back(ColumnFromDuckType(c.name, c.duck_type));
  }
  std::mt19937_64 rng(7);
  uint64_t lsn = writer->published().end_lsn.value() + 100;
  for (int t = 0; t < transactions; ++t, lsn += 100) {
    events::TransactionInfo tx{static_cast<uint32_t>(lsn), Lsn(lsn), Lsn(lsn + 1),
                               writer->published().commit_time_us + 1000, false};
    Must(writer->Begin(tx));
    for (int i = 0; i < per_tx; ++i) {
      int64_t s = static_cast<int64_t>(rng() % n);
      char id[16];
      snprintf(id, sizeof id, "S%07lld", static_cast<long long>(s));
      events::ChangeEvent e;
      e.op = events::Operation::kUpdate;
      e.table = schema;
      e.before = events::Row(schema->columns.size());
      e.after = events::Row(schema->columns.size());
      (*e.before)[0] = (*e.after)[0] = events::Value::Text(id);
      (*e.before)[8] = events::Value::Text("1.00");
      (*e.after)[8] = events::Value::Text(std::to_string(t % 4) + ".50");
      e.commit_lsn = tx.commit_lsn;
      e.lsn = tx.commit_lsn;
      e.position = i;
      e.xid = tx.xid;
      e.commit_time_us = tx.commit_time_us;
      Must(writer->Apply(e));
    }
    Must(writer->Commit(tx));
    Must(writer->Publish());
  }
  (void)versions;
}

// The prototype's dimension (PROTOTYPE.md "Analytics"), written again over our change log:
// every change row numbered afresh as the key, current = latest whole-second time of its id,
// end = next version's time minus one second, deletes as rows of nulls.
std::string PrototypeDim(const Manifest& m, const std::string& dir) {
  std::string files = "[";
  for (const auto& f : m.Files("students_changes")) {
    files += (files.size() > 1 ? ", " : "") + duck::QuoteString(dir + "/" + f.path);
  }
  files += "]";
  std::string cols;
  for (const auto& c : FindKnownTable("students")->columns)
    cols += "after_" + c.name + " AS " + c.name + ", ";
  return "(WITH log AS (SELECT " + cols +
         "date_trunc('second', commit_time) AS source_datetime FROM read_parquet(" + files +
         ", union_by_name = true)) SELECT row_number() OVER () AS student_key, *, CASE WHEN "
         "source_datetime = max(source_datetime) OVER (PARTITION BY id) THEN 'yes' ELSE 'no' END "
         "AS current_row_indicator, source_datetime AS effective_date_start, coalesce(lead("
         "source_datetime) OVER (PARTITION BY id ORDER BY source_datetime) - INTERVAL 1 SECOND, "
         "TIMESTAMPTZ '9999-12-30 00:00:00+00') AS effective_date_end FROM log)";
}

void RunQueries(const std::string& dir, int64_t n, int64_t versions, int threads) {
  auto lake = Must(Lake::Open(dir, threads));
  auto conn = Must(lake->Connect());
  auto& c = conn.connection;
  const Manifest& m = *conn.snapshot;
  std::string proto = PrototypeDim(m, dir);
  std::string instant = "TIMESTAMPTZ '2023-11-14 22:13:20+00' + INTERVAL (" +
                        std::to_string(versions * n / 2) + ") MILLISECOND";
  char id[16];
  snprintf(id, sizeof id, "S%07lld", static_cast<long long>(n / 3));
  struct Row {
    const char* name;
    std::string ours, prototype;
  };
  std::vector<Row> rows = {
      {"page of the current dimension",
       "SELECT * FROM students_dim WHERE current_row_indicator = 'yes' ORDER BY id LIMIT 50 OFFSET "
       "5000",
       "SELECT * FROM " + proto +
           " WHERE current_row_indicator = 'yes' ORDER BY id LIMIT 50 OFFSET 5000"},
      {"as-of instant (count, avg gpa)",
       "SELECT count(*), avg(gpa) FROM students_dim WHERE row_effective_start <= " + instant +
           " AND " + instant + " < row_effective_end",
       "SELECT count(*), avg(gpa) FROM " + proto + " WHERE effective_date_start <= " + instant +
           " AND " + instant + " <= effective_date_end"},
      {"one entity's history",
       std::string("SELECT * FROM students_dim WHERE id = '") + id + "' ORDER BY student_key",
       "SELECT * FROM " + proto + " WHERE id = '" + id + "' ORDER BY student_key"},
      {"fact: enrollments per semester",
       "SELECT semester, sum(course_enrollment_count) FROM course_enrollment_fact GROUP BY "
       "semester "
       "ORDER BY semester",
       // The prototype joined each enrollment change to the student version whose interval
       // held its whole-second time.
       "SELECT t.after_semester AS semester, count(*) FROM read_parquet(" +
           [&] {
             std::string f = "[";
             for (const auto& x : m.Files("takes_changes"))
               f += duck::QuoteString(dir + "/" + x.path);
             return f + "]";
           }() +
           ") t JOIN " + proto +
           " d ON d.id = t.after_student_id AND date_trunc('second', "
           "t.commit_time) BETWEEN d.effective_date_start AND d.effective_date_end "
           "GROUP BY 1 ORDER BY 1"},
  };
  std::printf(
      "\n(b) queries over %lld students × %lld versions = %lld versions (%d DuckDB threads)\n",
      static_cast<long long>(n), static_cast<long long>(versions),
      static_cast<long long>(n * versions), threads);
  std::printf("%-34s %12s %16s %8s\n", "query", "lake ms", "prototype ms", "ratio");
  for (auto& r : rows) {
    double ours = TimeQuery(c, r.ours);
    double theirs = TimeQuery(c, r.prototype, 1);
    std::printf("%-34s %12.1f %16.1f %7.1fx\n", r.name, ours, theirs, theirs / ours);
    std::fflush(stdout);
  }
}

void RunWrite(const std::string& dir, int64_t rows, int threads, int repeats, bool iceberg) {
  fs::remove_all(dir);
  auto schema = std::make_shared<events::TableSchema>();
  schema->schema = "public";
  schema->name = "students_bench";  // outside the contract: change log only
  for (const auto& c : FindKnownTable("students")->columns) {
    schema->columns.push_back(ColumnFromDuckType(c.name, c.duck_type));
  }
  const int per_tx = 1000;
  std::vector<events::ChangeEvent> events;
  events.reserve(rows);
  for (int64_t i = 0; i < rows; ++i) {
    events::ChangeEvent e;
    e.op = events::Operation::kInsert;
    e.table = schema;
    events::Row r(schema->columns.size());
    char id[16];
    snprintf(id, sizeof id, "S%07lld", static_cast<long long>(i));
    r[0] = events::Value::Text(id);
    r[1] = events::Value::Text("First" + std::to_string(i));
    r[2] = events::Value::Text("Last" + std::to_string(i % 9973));
    r[3] = events::Value::Text(i % 2 ? "Male" : "Female");
    r[4] = events::Value::Text(std::to_string(i % 500) + " Main Street");
    r[5] = events::Value::Integer(10000 + i % 3000);
    r[6] = events::Value::Text("Mathematics");
    r[7] = events::Value::Integer(1 + i % 4);
    r[8] = events::Value::Text(std::to_string(i % 4) + "." + std::to_string(10 + i % 90));
    r[9] = events::Value::Text("Full-time");
    e.after = std::move(r);
    e.commit_lsn = Lsn(100 + (i / per_tx) * 10);
    e.lsn = e.commit_lsn;
    e.position = i % per_tx;
    e.xid = static_cast<uint32_t>(i / per_tx);
    e.commit_time_us = 1700000000000000 + i;
    events.push_back(std::move(e));
  }
  // Writer and reference alternate, `repeats` times each, so that a change of the machine's load
  // (it is shared) hits both alike; the figures are the medians and the range of the ratios.
  auto db = Must(duck::Database::Open(":memory:", {{"threads", std::to_string(threads)}}));
  auto conn = Must(duck::Connection::Open(db));
  std::vector<double> ours_ms, limit_ms, ours_cpu, limit_cpu, publish_ms, iceberg_ms, ratios;
  for (int rep = 0; rep < repeats; ++rep) {
    WriterOptions options;
    options.dir = dir + "/lake-" + std::to_string(rep);
    options.duckdb_threads = threads;
    options.spill_rows = 200000;
    options.iceberg.enabled = iceberg;
    auto writer = Must(LakeWriter::Open(options, nullptr));
    double cpu_start = CpuSeconds();
    auto start = Clock::now();
    Clock::duration publishing{};
    for (int64_t i = 0; i < rows; i += per_tx) {
      events::TransactionInfo tx{events[i].xid, events[i].commit_lsn,
                                 Lsn(events[i].commit_lsn.value() + 1), events[i].commit_time_us,
                                 false};
      Must(writer->Begin(tx));
      for (int64_t j = i; j < std::min(rows, i + per_tx); ++j) Must(writer->Apply(events[j]));
      Must(writer->Commit(tx));
      if ((i / per_tx) % 100 == 99) {  // a commit every 100,000 rows
        auto publish_start = Clock::now();
        Must(writer->Publish());
        publishing += Clock::now() - publish_start;
      }
    }
    auto publish_start = Clock::now();
    Must(writer->Publish());
    publishing += Clock::now() - publish_start;
    ours_ms.push_back(Ms(Clock::now() - start));
    ours_cpu.push_back(CpuSeconds() - cpu_start);
    publish_ms.push_back(Ms(publishing));
    // The Iceberg tables follow the manifests in the background: how long after the last
    // publish they hold everything too.
    auto drain_start = Clock::now();
    Must(writer->FlushIceberg());
    iceberg_ms.push_back(Ms(Clock::now() - drain_start));
    writer.reset();
    if (rep == 0) {
      // The limit: the same rows, already in a DuckDB table, copied to Parquet by DuckDB itself.
      auto lake = Must(Lake::Open(options.dir, threads));
      auto lc = Must(lake->Connect());
      std::string files = "[";
      for (const auto& f : lc.snapshot->Files("students_bench_changes")) {
        files += (files.size() > 1 ? ", " : "") + duck::QuoteString(options.dir + "/" + f.path);
      }
      files += "]";
      Must(conn.Execute("CREATE TABLE same_rows AS SELECT * FROM read_parquet(" + files + ")"));
    }
    fs::remove_all(options.dir);
    cpu_start = CpuSeconds();
    auto copy_start = Clock::now();
    Must(conn.Execute("COPY same_rows TO " + duck::QuoteString(dir + "/duckdb_copy.parquet") +
                      " (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 16384)"));
    limit_ms.push_back(Ms(Clock::now() - copy_start));
    limit_cpu.push_back(CpuSeconds() - cpu_start);
    ratios.push_back(limit_ms.back() / ours_ms.back());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("\n(c) change-log write throughput, %lld rows in transactions of %d, %d runs each\n",
              static_cast<long long>(rows), per_tx, repeats);
  std::printf("%-44s %14s %10s %10s\n", "", "rows/s", "ms", "CPU s");
  for (int rep = 0; rep < repeats; ++rep) {
    std::printf(
        "run %d: LakeWriter %.0f ms (Publish %.0f ms, CPU %.2f s; Iceberg caught up %.0f ms "
        "later), COPY %.0f ms (CPU %.2f s), ratio %.2f\n",
        rep + 1, ours_ms[rep], publish_ms[rep], ours_cpu[rep], iceberg_ms[rep], limit_ms[rep],
        limit_cpu[rep], ratios[rep]);
  }
  double ours = median(ours_ms), limit = median(limit_ms);
  std::printf("%-44s %14.0f %10.0f %10.2f\n", "LakeWriter (Apply → Parquet, manifests)",
              rows / (ours / 1000), ours, median(ours_cpu));
  std::printf("%-44s %14.0f %10.0f %10.2f\n", "DuckDB COPY of the same rows (the limit)",
              rows / (limit / 1000), limit, median(limit_cpu));
  std::printf("%-44s %13.2fx (runs: %.2f - %.2f)\n", "ratio of medians (target >= 0.8)",
              limit / ours, *std::min_element(ratios.begin(), ratios.end()),
              *std::max_element(ratios.begin(), ratios.end()));
}

}  // namespace
}  // namespace migsbyu::lake

int main(int argc, char** argv) {
  migsbyu::bench::program_name = "lake_bench";
  CLI::App app{"bench/lake: lake query latency and write throughput beside their limits"};
  int64_t students = 1000000, versions = 10, write_rows = 1000000;
  int threads = 2, write_repeats = 5;
  std::string dir = "var/bench-lake";
  std::vector<std::string> parts = {"queries", "write"};
  app.add_option("--students", students, "Students (the dimension's ids)")->capture_default_str();
  app.add_option("--versions", versions, "Versions per student")->capture_default_str();
  app.add_option("--write-rows", write_rows, "Rows for the write benchmark")->capture_default_str();
  app.add_option("--write-repeats", write_repeats,
                 "Runs of the writer and of the reference, alternating (medians reported)")
      ->capture_default_str();
  app.add_option("--threads", threads, "DuckDB threads")->capture_default_str();
  app.add_option("--dir", dir, "Scratch folder (deleted first)")->capture_default_str();
  app.add_option("--part", parts, "queries and/or write")->capture_default_str();
  bool iceberg = true;
  app.add_flag("!--no-iceberg", iceberg, "Write without publishing Iceberg tables");
  CLI11_PARSE(app, argc, argv);
  using namespace migsbyu::lake;
  for (const auto& part : parts) {
    if (part == "queries") {
      auto db =
          Must(migsbyu::duck::Database::Open(":memory:", {{"threads", std::to_string(threads)}}));
      auto conn = Must(migsbyu::duck::Connection::Open(db));
      auto start = Clock::now();
      GenerateLake(dir + "/queries", students, versions, conn);
      LiveUpdates(dir + "/queries", students, versions, 20, 50);
      std::printf("generated %lld versions in %.1f s\n",
                  static_cast<long long>(students * versions), Ms(Clock::now() - start) / 1000);
      RunQueries(dir + "/queries", students, versions, threads);
    } else if (part == "write") {
      RunWrite(dir + "/write", write_rows, threads, std::max(write_repeats, 1), iceberg);
    }
  }
  return 0;
}
