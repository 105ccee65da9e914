// bench/lake (a): freshness. A client commits single-row transactions in PostgreSQL at a fixed
// rate (default 1,000/s) while the connector streams them into a LakeSink in this process; for
// each transaction, the time from its COMMIT returning to the lake publishing a manifest that
// holds it (what a query opened then sees). Prints p50 and p99 beside the targets (200 ms, 1 s).
// Usage: lake_freshness_bench --database-url URL [--rate 1000] [--seconds 10]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "cdc/connector.h"
#include "lake/lake.h"
#include "lake/lake_sink.h"
#include "oltp/migrations.h"
#include "pg/connection.h"

using namespace migsbyu;
using Clock = std::chrono::steady_clock;

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "freshness: %s: %s\n", what, r.error().ToString().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

int main(int argc, char** argv) {
  CLI::App app{"bench/lake (a): commit in PostgreSQL → visible in the lake"};
  std::string url, dir = "var/bench-lake-freshness";
  int rate = 1000, seconds = 10;
  app.add_option("--database-url", url, "PostgreSQL URL")->required();
  app.add_option("--rate", rate, "Transactions per second")->capture_default_str();
  app.add_option("--seconds", seconds, "Measured duration")->capture_default_str();
  app.add_option("--dir", dir, "Scratch lake directory (deleted first)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::filesystem::remove_all(dir);

  auto conn = Must(pg::Connection::Open(url), "connect");
  Must(oltp::ApplyMigrations(conn), "migrate");
  Must(conn.Exec("TRUNCATE takes, teaches, students, professors, courses; "
                 "INSERT INTO students SELECT 'F' || g, 'Fresh', 'Student', 'Female', 'Street 1', "
                 "'2005-01-01', 'Physics', 1, 2.00, 'Full-time' FROM generate_series(0, 999) g"),
       "seed");

  auto lake = Must(lake::Lake::Open(dir, 1), "open lake");
  lake::LakeSinkOptions options;
  options.writer.dir = dir;
  auto sink = Must(lake::LakeSink::Open(options, lake), "open sink");
  cdc::ConnectorOptions copts;
  copts.database_url = url;
  copts.slot_name = copts.publication_name = "bench_freshness";
  copts.status_interval = std::chrono::milliseconds(200);
  cdc::Connector connector(copts, sink.get());
  std::stop_source stop;
  std::thread capture([&] { (void)connector.Run(stop.get_token()); });

  // Wait for the initial snapshot to be in the lake.
  while (lake->Position().version == 0) lake->WaitForCommit(0, std::chrono::seconds(1));

  struct Pending {
    uint64_t lsn_before_commit;
    Clock::time_point committed;
  };
  std::mutex mu;
  std::deque<Pending> pending;
  std::vector<double> latencies;
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    uint64_t version = lake->Position().version;
    while (!done || !pending.empty()) {
      auto pos = lake->WaitForCommit(version, std::chrono::milliseconds(500));
      auto now = Clock::now();
      if (pos.version == version) {
        if (done) break;
        continue;
      }
      version = pos.version;
      std::lock_guard lock(mu);
      while (!pending.empty() && pending.front().lsn_before_commit < pos.end_lsn.value()) {
        latencies.push_back(
            std::chrono::duration<double, std::milli>(now - pending.front().committed).count());
        pending.pop_front();
      }
    }
  });

  auto start = Clock::now();
  const int total = rate * seconds;
  for (int i = 0; i < total; ++i) {
    std::this_thread::sleep_until(start + std::chrono::microseconds(1000000LL * i / rate));
    // One round trip: the update commits on its own; the LSN is read before its commit record,
    // so the transaction is in the lake once the lake's end_lsn passes it.
    auto lsn =
        Must(conn.ExecParams("WITH u AS (UPDATE students SET gpa = $2::numeric WHERE id = $1 "
                             "RETURNING 1) SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn "
                             "FROM u",
                             {"F" + std::to_string(i % 1000), std::to_string(i % 400 / 100.0)}),
             "update");
    uint64_t before = std::stoull(std::string(lsn.Get(0, 0)));
    std::lock_guard lock(mu);
    pending.push_back({before, Clock::now()});
  }
  double achieved = total / std::chrono::duration<double>(Clock::now() - start).count();
  auto drain_deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < drain_deadline) {
    {
      std::lock_guard lock(mu);
      if (pending.empty()) break;
    }
    lake->WaitForCommit(lake->Position().version, std::chrono::milliseconds(200));
  }
  done = true;
  watcher.join();
  stop.request_stop();
  capture.join();
  (void)conn.Exec("SELECT pg_drop_replication_slot('bench_freshness')");

  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty()
               ? -1
               : latencies[std::min(latencies.size() - 1, size_t(p * latencies.size()))];
  };
  std::printf("\n(a) freshness: %d transactions at %.0f/s (target %d/s), %zu measured\n", total,
              achieved, rate, latencies.size());
  std::printf("%-10s %12s %12s %8s\n", "", "lake ms", "target ms", "ratio");
  std::printf("%-10s %12.1f %12.1f %7.2fx\n", "p50", pct(0.50), 200.0, pct(0.50) / 200.0);
  std::printf("%-10s %12.1f %12.1f %7.2fx\n", "p99", pct(0.99), 1000.0, pct(0.99) / 1000.0);
  std::printf("%-10s %12.1f\n", "max", latencies.empty() ? -1 : latencies.back());
  std::filesystem::remove_all(dir);
  return 0;
}
