// api_bench: POST /students/ and GET /students/{id} through the REST API, beside pgbench running
// the equivalent single-row INSERT and SELECT on the same server, at the same concurrency.
//
// Each cell runs for --seconds. The API side is a closed-loop load generator: N threads, each
// with its own keep-alive connection, sending the next request when the last one is answered.
// pgbench runs N clients (-c N -j N) in extended-protocol mode (-M extended), which is what the
// API's parameterized statements use (PQexecParams: parse, bind, execute per statement).
// Latencies of pgbench come from its per-transaction log (-l). The table shows requests per
// second, p50 and p99, and the ratio API / pgbench of the throughputs.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Figures {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t errors = 0;
};

double Percentile(std::vector<double>& sorted_us, double p) {
  if (sorted_us.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(sorted_us.size() - 1));
  return sorted_us[i] / 1000.0;
}

Figures Summarize(std::vector<double> latencies_us, double seconds, int64_t errors) {
  std::sort(latencies_us.begin(), latencies_us.end());
  return {static_cast<double>(latencies_us.size()) / seconds, Percentile(latencies_us, 0.50),
          Percentile(latencies_us, 0.99), errors};
}

nlohmann::json Student(const std::string& id) {
  return {{"id", id},
          {"first_name", "Ada"},
          {"last_name", "Lovelace"},
          {"gender", "Female"},
          {"address", "12 St James's Square, London"},
          {"date_of_birth", "2004-12-10"},
          {"major", "Mathematics"},
          {"year_of_study", 2},
          {"gpa", 3.85},
          {"enrollment_status", "Full-time"}};
}

constexpr const char* kInsertScript =
    "INSERT INTO students (id, first_name, last_name, gender, address, date_of_birth, major, "
    "year_of_study, gpa, enrollment_status) VALUES ('pg-' || gen_random_uuid(), 'Ada', "
    "'Lovelace', 'Female', '12 St James''s Square, London', '2004-12-10', 'Mathematics', 2, "
    "3.85, 'Full-time');\n";

std::string SelectScript(int rows) {
  return "\\set i random(0, " + std::to_string(rows - 1) +
         ")\nSELECT id, first_name, last_name, gender, address, date_of_birth, major, "
         "year_of_study, gpa, enrollment_status FROM students WHERE id = 'seed-' || :i;\n";
}

// Runs `threads` clients for `seconds`, each calling `request(client, thread, i)` in a loop.
template <typename Request>
Figures RunApi(const std::string& host, int port, int threads, double seconds, Request request) {
  std::vector<std::vector<double>> latencies(threads);
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> workers;
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      httplib::Client client(host, port);
      client.set_keep_alive(true);
      // httplib writes headers and body separately: without TCP_NODELAY, Nagle's algorithm and
      // the server's delayed ACK hold every POST body back for ~40 ms.
      client.set_tcp_nodelay(true);
      latencies[t].reserve(200000);
      for (int64_t i = 0; Clock::now() < deadline; ++i) {
        auto start = Clock::now();
        bool ok = request(client, t, i);
        auto us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
        if (ok) {
          latencies[t].push_back(us);
        } else {
          ++errors;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  return Summarize(std::move(all), seconds, errors.load());
}

Figures RunPgbench(const std::string& pgbench, const std::string& url, const std::string& script,
                   int clients, double seconds, const fs::path& work) {
  fs::path dir = work / ("pgbench-" + std::to_string(clients) + "-" +
                         std::to_string(std::hash<std::string>{}(script) % 100000));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "script.sql") << script;
  std::string cmd = "cd '" + dir.string() + "' && '" + pgbench + "' -n -M extended -c " +
                    std::to_string(clients) + " -j " + std::to_string(clients) + " -T " +
                    std::to_string(static_cast<int>(seconds)) + " -l -f script.sql '" + url +
                    "' > out.txt 2>&1";
  int rc = std::system(cmd.c_str());
  std::vector<double> latencies;
  int64_t failed = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.path().filename().string().starts_with("pgbench_log")) continue;
    std::ifstream log(entry.path());
    std::string line;
    while (std::getline(log, line)) {
      std::istringstream in(line);
      long client = 0, tx = 0;
      std::string time_us;
      in >> client >> tx >> time_us;
      if (time_us == "failed" || time_us == "skipped") {
        ++failed;
      } else {
        latencies.push_back(std::stod(time_us));
      }
    }
  }
  if (rc != 0) {
    std::ifstream out(dir / "out.txt");
    std::fprintf(stderr, "pgbench failed (%d):\n%s\n", rc,
                 std::string(std::istreambuf_iterator<char>(out), {}).c_str());
    failed = std::max<int64_t>(failed, 1);
  }
  fs::remove_all(dir);
  return Summarize(std::move(latencies), seconds, failed);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Benchmark of the REST API beside pgbench on the same PostgreSQL server"};
  std::string api = "127.0.0.1:8000";
  std::string url;
  std::string pgbench = "/usr/lib/postgresql/15/bin/pgbench";
  double seconds = 3;
  std::vector<int> concurrency = {1, 4, 16};
  int seed_rows = 1000;
  app.add_option("--api", api, "host:port of `migsbyu serve`")->capture_default_str();
  app.add_option("--database-url", url, "The PostgreSQL URL the server uses (for pgbench)")
      ->required();
  app.add_option("--pgbench", pgbench, "pgbench binary")->capture_default_str();
  app.add_option("--seconds", seconds, "Duration of each cell")->capture_default_str();
  app.add_option("--concurrency", concurrency, "Client counts")->capture_default_str();
  app.add_option("--seed-rows", seed_rows, "Students inserted first, read by the GET cells")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto colon = api.rfind(':');
  const std::string host = api.substr(0, colon);
  const int port = std::stoi(api.substr(colon + 1));
  const fs::path work =
      fs::temp_directory_path() / ("migsbyu-api-bench-" + std::to_string(getpid()));
  fs::create_directories(work);

  // Wait (bounded) for the server to answer.
  {
    httplib::Client client(host, port);
    bool up = false;
    for (int i = 0; i < 300 && !up; ++i) {
      auto r = client.Get("/health");
      up = r && r->status == 200;
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!up) {
      std::fprintf(stderr, "api_bench: %s/health does not answer 200\n", api.c_str());
      return 1;
    }
  }

  // The rows both GET and SELECT read: seed-0 .. seed-(n-1).
  {
    httplib::Client client(host, port);
    client.set_keep_alive(true);
    for (int i = 0; i < seed_rows; ++i) {
      auto r = client.Post("/students/", Student("seed-" + std::to_string(i)).dump(),
                           "application/json");
      if (!r || (r->status != 200 && r->status != 409)) {
        std::fprintf(stderr, "api_bench: cannot insert seed rows through %s (%s)\n", api.c_str(),
                     r ? std::to_string(r->status).c_str() : httplib::to_string(r.error()).c_str());
        return 1;
      }
    }
  }

  std::printf("%-22s %5s | %10s %8s %8s | %10s %8s %8s | %6s\n", "operation", "conc", "API req/s",
              "p50 ms", "p99 ms", "pgbench/s", "p50 ms", "p99 ms", "ratio");
  std::printf("%s\n", std::string(104, '-').c_str());
  int64_t total_errors = 0;
  auto row = [&](const char* name, int c, const Figures& a, const Figures& p) {
    std::printf("%-22s %5d | %10.0f %8.2f %8.2f | %10.0f %8.2f %8.2f | %6.2f\n", name, c,
                a.per_second, a.p50_ms, a.p99_ms, p.per_second, p.p50_ms, p.p99_ms,
                p.per_second > 0 ? a.per_second / p.per_second : 0.0);
    std::fflush(stdout);
    total_errors += a.errors + p.errors;
  };
  const std::string run = std::to_string(getpid());
  for (int c : concurrency) {
    auto post = RunApi(host, port, c, seconds, [&](httplib::Client& client, int t, int64_t i) {
      auto r = client.Post("/students/",
                           Student("b" + run + "-" + std::to_string(c) + "-" + std::to_string(t) +
                                   "-" + std::to_string(i))
                               .dump(),
                           "application/json");
      return r && r->status == 200;
    });
    auto insert = RunPgbench(pgbench, url, kInsertScript, c, seconds, work);
    row("POST /students/", c, post, insert);

    auto get = RunApi(host, port, c, seconds, [&](httplib::Client& client, int t, int64_t i) {
      thread_local std::mt19937 rng(static_cast<unsigned>(t * 7919 + 1));
      std::uniform_int_distribution<int> pick(0, seed_rows - 1);
      auto r = client.Get("/students/seed-" + std::to_string(pick(rng)));
      return r && r->status == 200;
    });
    auto select = RunPgbench(pgbench, url, SelectScript(seed_rows), c, seconds, work);
    row("GET /students/{id}", c, get, select);
  }
  fs::remove_all(work);
  if (total_errors > 0) {
    std::printf("errors: %lld failed requests or transactions\n",
                static_cast<long long>(total_errors));
    return 1;
  }
  return 0;
}
