// api_bench: POST /students/ and GET /students/{id} through the REST API, beside pgbench running
// the equivalent single-row INSERT and SELECT on the same server, at the same concurrency.
//
// Each cell runs for --seconds. The API side is a closed-loop load generator on one thread and
// an epoll set (load_generator.h): N keep-alive connections, each sending the next request when
// the last one is answered, so that the client takes as little of the machine's CPU as pgbench's
// own client does.
// pgbench runs N clients (-c N -j N) twice per cell: -M extended (parse, bind, execute per
// statement, what a client of parameterized statements does) and -M prepared (each statement
// prepared once per connection, as the API now keeps its fixed statements). Each gives a row and
// a ratio; -M prepared is the stronger reference, the like-for-like one since the API prepares.
// Latencies of pgbench come from its per-transaction log (-l). The table shows requests per
// second, p50 and p99, and the ratio API / pgbench of the throughputs.
#include <httplib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "load_generator.h"

namespace {

namespace fs = std::filesystem;

struct Figures {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  int64_t errors = 0;
  int64_t count = 0;
};

double Percentile(std::vector<double>& sorted_us, double p) {
  if (sorted_us.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(sorted_us.size() - 1));
  return sorted_us[i] / 1000.0;
}

Figures Summarize(std::vector<double> latencies_us, double seconds, int64_t errors) {
  std::sort(latencies_us.begin(), latencies_us.end());
  return {static_cast<double>(latencies_us.size()) / seconds, Percentile(latencies_us, 0.50),
          Percentile(latencies_us, 0.99), errors, static_cast<int64_t>(latencies_us.size())};
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

// CPU seconds (user + system) of a process, and with `children` also of its live children and
// of the children it has reaped: PostgreSQL's postmaster reaps every backend, so the total covers
// backends that come and go (pgbench's) as well as those that stay (the API's pool). 0 when the
// pid is 0 or gone.
double ProcessCpuSeconds(pid_t pid, bool children) {
  if (pid <= 0) return 0;
  static const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  // Fields after the command's closing parenthesis, from field 3 (state) on.
  auto fields = [](const fs::path& stat) {
    std::ifstream in(stat);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::vector<std::string> out;
    auto close = text.rfind(')');
    if (close == std::string::npos) return out;
    std::istringstream rest(text.substr(close + 1));
    for (std::string f; rest >> f;) out.push_back(f);
    return out;
  };
  auto own = fields("/proc/" + std::to_string(pid) + "/stat");
  if (own.size() < 15) return 0;
  // utime, stime, cutime, cstime are fields 14-17: indices 11-14 here; ppid is field 4.
  double ticks = std::stod(own[11]) + std::stod(own[12]);
  if (children) {
    ticks += std::stod(own[13]) + std::stod(own[14]);
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      auto f = fields(entry.path() / "stat");
      if (f.size() < 13 || f[1] != std::to_string(pid)) continue;
      ticks += std::stod(f[11]) + std::stod(f[12]);
    }
  }
  return ticks / tick;
}

// CPU seconds of this process's reaped children (pgbench, through std::system).
double ChildrenCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

Figures RunPgbench(const std::string& pgbench, const std::string& protocol, const std::string& url,
                   const std::string& script, int clients, double seconds, const fs::path& work) {
  fs::path dir = work / ("pgbench-" + std::to_string(clients) + "-" +
                         std::to_string(std::hash<std::string>{}(script) % 100000));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "script.sql") << script;
  std::string cmd = "cd '" + dir.string() + "' && '" + pgbench + "' -n -M " + protocol + " -c " +
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
  std::set<std::string> operations = {"post", "get"};
  std::vector<std::string> pgbench_protocols = {"extended", "prepared"};
  pid_t server_pid = 0;
  pid_t postgres_pid = 0;
  std::vector<std::string> tokens;
  app.add_option("--api", api, "host:port of `migsbyu serve`")->capture_default_str();
  app.add_option("--database-url", url, "The PostgreSQL URL the server uses (for pgbench)")
      ->required();
  app.add_option("--pgbench", pgbench, "pgbench binary")->capture_default_str();
  app.add_option("--seconds", seconds, "Duration of each cell")->capture_default_str();
  app.add_option("--concurrency", concurrency, "Client counts")->capture_default_str();
  app.add_option("--seed-rows", seed_rows, "Students inserted first, read by the GET cells")
      ->capture_default_str();
  app.add_option("--operations", operations, "Cells to run: post, get")
      ->check(CLI::IsMember({"post", "get"}))
      ->capture_default_str();
  app.add_option("--pgbench-protocol", pgbench_protocols,
                 "pgbench -M modes, each a reference row: extended, prepared")
      ->check(CLI::IsMember({"extended", "prepared"}))
      ->capture_default_str();
  app.add_option("--server-pid", server_pid, "pid of `migsbyu serve`, for its CPU time");
  app.add_option("--postgres-pid", postgres_pid,
                 "pid of the postmaster, for the CPU time of PostgreSQL and its backends");
  app.add_option("--tokens", tokens,
                 "Bearer tokens, comma-separated: client i sends the (i mod n)-th, as scripts call "
                 "the API; none for a server run with --no-auth")
      ->delimiter(',');
  CLI11_PARSE(app, argc, argv);
  auto token_of = [&](int client) -> const std::string& {
    static const std::string none;
    return tokens.empty() ? none : tokens[static_cast<size_t>(client) % tokens.size()];
  };

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
    for (const auto& token : tokens) {
      httplib::Headers auth = {{"Authorization", "Bearer " + token}};
      auto me = client.Get("/auth/me", auth);
      if (!me || me->status != 200) {
        std::fprintf(stderr, "api_bench: a token is refused: GET /auth/me answers %s\n",
                     me ? std::to_string(me->status).c_str() : "nothing");
        return 1;
      }
    }
  }

  // The rows both GET and SELECT read: seed-0 .. seed-(n-1).
  {
    httplib::Client client(host, port);
    client.set_keep_alive(true);
    if (!tokens.empty()) client.set_bearer_token_auth(tokens.front());
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

  if (tokens.empty()) {
    std::printf("API calls carry no credential (a server run with --no-auth)\n");
  } else {
    std::printf("API calls carry a bearer token per client (%zu tokens), checked by the gate\n",
                tokens.size());
  }
  std::printf("%-22s %5s | %10s %8s %8s | %-8s %10s %8s %8s | %6s\n", "operation", "conc",
              "API req/s", "p50 ms", "p99 ms", "pgbench", "/s", "p50 ms", "p99 ms", "ratio");
  std::printf("%s\n", std::string(114, '-').c_str());
  int64_t total_errors = 0;
  // CPU microseconds per request of each party, for the second table.
  struct CpuRow {
    std::string name;
    int concurrency;
    std::string protocol;
    double generator, server, api_postgres, pgbench, pgbench_postgres;
  };
  std::vector<CpuRow> cpu_rows;
  const std::string run = std::to_string(getpid());
  const std::string host_header = host + ":" + std::to_string(port);
  const migsbyu::bench::LoadGenerator generator(host, port);

  // One cell: the API under `write_request`, then pgbench under `script`, and the table's row.
  auto cell = [&](const char* name, int c,
                  const migsbyu::bench::LoadGenerator::RequestWriter& write_request,
                  const std::string& script) {
    const double server_before = ProcessCpuSeconds(server_pid, false);
    double postgres_before = ProcessCpuSeconds(postgres_pid, true);
    auto load = generator.Run(c, std::chrono::duration<double>(seconds), write_request);
    const double server_cpu = ProcessCpuSeconds(server_pid, false) - server_before;
    const double api_postgres_cpu = ProcessCpuSeconds(postgres_pid, true) - postgres_before;
    if (!load.first_error.empty()) {
      std::fprintf(stderr, "api_bench: %lld errors, the first: %s\n",
                   static_cast<long long>(load.errors), load.first_error.c_str());
    }
    const double generator_cpu = load.cpu_seconds;
    Figures api_figures =
        Summarize(std::move(load.latencies_us), std::max(load.seconds, 1e-9), load.errors);

    for (const auto& protocol : pgbench_protocols) {
      postgres_before = ProcessCpuSeconds(postgres_pid, true);
      const double pgbench_before = ChildrenCpuSeconds();
      Figures pg_figures = RunPgbench(pgbench, protocol, url, script, c, seconds, work);
      const double pgbench_cpu = ChildrenCpuSeconds() - pgbench_before;
      const double pg_postgres_cpu = ProcessCpuSeconds(postgres_pid, true) - postgres_before;

      std::printf("%-22s %5d | %10.0f %8.2f %8.2f | -M %-5.5s %10.0f %8.2f %8.2f | %6.2f\n", name,
                  c, api_figures.per_second, api_figures.p50_ms, api_figures.p99_ms,
                  protocol.c_str(), pg_figures.per_second, pg_figures.p50_ms, pg_figures.p99_ms,
                  pg_figures.per_second > 0 ? api_figures.per_second / pg_figures.per_second : 0.0);
      std::fflush(stdout);
      total_errors += pg_figures.errors;
      auto per = [](double cpu, int64_t n) {
        return n > 0 ? cpu * 1e6 / static_cast<double>(n) : 0;
      };
      cpu_rows.push_back(
          {name, c, protocol, per(generator_cpu, api_figures.count),
           per(server_cpu, api_figures.count), per(api_postgres_cpu, api_figures.count),
           per(pgbench_cpu, pg_figures.count), per(pg_postgres_cpu, pg_figures.count)});
    }
    total_errors += api_figures.errors;
  };

  // The request body is the seed row's with another id: the id is spliced between two halves.
  const std::string kIdMark = "@ID@";
  const std::string body = Student(kIdMark).dump();
  const std::string body_before = body.substr(0, body.find(kIdMark));
  const std::string body_after = body.substr(body.find(kIdMark) + kIdMark.size());
  for (int c : concurrency) {
    if (operations.contains("post")) {
      const std::string prefix = "b" + run + "-" + std::to_string(c) + "-";
      cell(
          "POST /students/", c,
          [&](int t, int64_t i, std::string* out) {
            std::string id = prefix + std::to_string(t) + "-" + std::to_string(i);
            migsbyu::bench::WriteJsonRequest("POST", "/students/", host_header,
                                             body_before + id + body_after, out, token_of(t));
          },
          kInsertScript);
    }
    if (operations.contains("get")) {
      std::vector<std::mt19937> rngs;
      for (int t = 0; t < c; ++t) rngs.emplace_back(static_cast<unsigned>(t * 7919 + 1));
      std::uniform_int_distribution<int> pick(0, seed_rows - 1);
      cell(
          "GET /students/{id}", c,
          [&](int t, int64_t, std::string* out) {
            migsbyu::bench::WriteJsonRequest("GET",
                                             "/students/seed-" + std::to_string(pick(rngs[t])),
                                             host_header, "", out, token_of(t));
          },
          SelectScript(seed_rows));
    }
  }

  std::printf("\nCPU per request, us (user + system, from /proc; %s)\n",
              server_pid > 0 && postgres_pid > 0 ? "all processes of each side"
                                                 : "no --server-pid/--postgres-pid: partial");
  std::printf("%-22s %5s | %9s %9s %10s %9s | %-8s %9s %10s %9s\n", "operation", "conc",
              "generator", "server", "PostgreSQL", "total", "pgbench", "client", "PostgreSQL",
              "total");
  std::printf("%s\n", std::string(114, '-').c_str());
  for (const auto& r : cpu_rows) {
    std::printf("%-22s %5d | %9.1f %9.1f %10.1f %9.1f | -M %-5.5s %9.1f %10.1f %9.1f\n",
                r.name.c_str(), r.concurrency, r.generator, r.server, r.api_postgres,
                r.generator + r.server + r.api_postgres, r.protocol.c_str(), r.pgbench,
                r.pgbench_postgres, r.pgbench + r.pgbench_postgres);
  }
  fs::remove_all(work);
  if (total_errors > 0) {
    std::printf("errors: %lld failed requests or transactions\n",
                static_cast<long long>(total_errors));
    return 1;
  }
  return 0;
}
