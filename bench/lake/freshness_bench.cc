// bench/lake (a): freshness through the portal. Clients PATCH students through the REST API of a
// running `migsbyu serve` (capture and lake in that process) at a fixed total rate (default
// 1,000 transactions/s, open loop: each request is sent at its scheduled time, whatever the
// previous one took). For each request, freshness is the time from its 200 response (the
// transaction has committed) to the portal announcing, on its live stream
// GET /analytics/events, a lake commit that holds it. Prints p50 and p99 beside the targets
// (200 ms and 1 s).
//
// Which lake commit holds a request: the API does not tell a transaction's LSN, so a sampler
// thread reads pg_current_wal_insert_lsn() in a loop on its own connection. The first sample
// taken after a response is at or past that transaction's commit record; the transaction is in
// the lake once a `commit` event reports end_lsn ≥ that sample. This can only overstate the
// latency (by the sampling gap and by waiting for a later transaction's end), never understate it.
//
// Usage: lake_freshness_bench --api HOST:PORT --database-url URL [--rate 1000] [--seconds 10]
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "pg/connection.h"

using namespace migsbyu;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "freshness: %s: %s\n", what, r.error().ToString().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "freshness: %s\n", what.c_str());
  std::exit(1);
}

std::pair<std::string, int> HostPort(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) Fail("--api wants HOST:PORT, got " + address);
  return {address.substr(0, colon), std::stoi(address.substr(colon + 1))};
}

struct Sample {  // an LSN at or past every commit that finished before `taken`
  Clock::time_point taken;
  uint64_t lsn;
};

struct Announcement {  // a `commit` event of the live stream
  Clock::time_point received;
  uint64_t end_lsn;
};

uint64_t ParseLsn(const std::string& text) {  // "X/Y"
  auto slash = text.find('/');
  if (slash == std::string::npos) Fail("bad LSN in a commit event: " + text);
  return (std::stoull(text.substr(0, slash), nullptr, 16) << 32) |
         std::stoull(text.substr(slash + 1), nullptr, 16);
}

json Student(const std::string& id) {
  return {{"id", id},
          {"first_name", "Fresh"},
          {"last_name", "Student"},
          {"gender", "Female"},
          {"address", "1 Street"},
          {"date_of_birth", "2005-01-01"},
          {"major", "Physics"},
          {"year_of_study", 1},
          {"gpa", 2.0},
          {"enrollment_status", "Full-time"}};
}

// Listens to GET /analytics/events and records every `commit` event with its arrival time.
class CommitListener {
 public:
  CommitListener(const std::string& host, int port) : client_(host, port) {
    client_.set_read_timeout(std::chrono::seconds(5));
    thread_ = std::thread([this] { Run(); });
  }
  ~CommitListener() {
    stop_ = true;
    thread_.join();
  }

  std::vector<Announcement> Take() {
    std::lock_guard lock(mu_);
    return announcements_;
  }
  bool connected() const { return connected_; }

 private:
  void Run() {
    std::string buffer;
    while (!stop_) {
      auto result = client_.Get("/analytics/events", [&](const char* data, size_t size) {
        connected_ = true;
        buffer.append(data, size);
        for (size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
          Parse(buffer.substr(0, end), Clock::now());
          buffer.erase(0, end + 2);
        }
        return !stop_.load();
      });
      (void)result;  // a read timeout between events reconnects; stop_ ends the loop
    }
  }

  void Parse(const std::string& event, Clock::time_point received) {
    if (event.rfind("event: commit", 0) != 0) return;
    auto data = event.find("data: ");
    if (data == std::string::npos) return;
    auto body = json::parse(event.substr(data + 6), nullptr, false);
    if (!body.is_object() || !body.contains("end_lsn")) return;
    std::lock_guard lock(mu_);
    announcements_.push_back({received, ParseLsn(body["end_lsn"].get<std::string>())});
  }

  httplib::Client client_;
  std::thread thread_;
  std::atomic<bool> stop_{false}, connected_{false};
  std::mutex mu_;
  std::vector<Announcement> announcements_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench/lake (a): a change through the portal → announced by the portal's lake"};
  std::string api, url;
  int rate = 1000, seconds = 10, clients = 8;
  app.add_option("--api", api, "host:port of a running `migsbyu serve` with its pipeline")
      ->required();
  app.add_option("--database-url", url, "The portal's PostgreSQL, for the LSN sampler")->required();
  app.add_option("--rate", rate, "Transactions per second, all clients together")
      ->capture_default_str();
  app.add_option("--seconds", seconds, "Measured duration")->capture_default_str();
  app.add_option("--clients", clients, "HTTP connections sharing the rate")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  auto [host, port] = HostPort(api);
  constexpr int kStudents = 1000;

  {  // Wait for the portal, then seed the students the clients will update.
    httplib::Client client(host, port);
    client.set_tcp_nodelay(true);
    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (true) {
      auto health = client.Get("/health");
      if (health && health->status == 200) break;
      if (Clock::now() > deadline) Fail("the portal at " + api + " did not answer /health");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (int i = 0; i < kStudents; ++i) {
      auto r =
          client.Post("/students/", Student("F" + std::to_string(i)).dump(), "application/json");
      if (!r || (r->status != 200 && r->status != 409)) Fail("seeding POST /students/ failed");
    }
  }

  CommitListener listener(host, port);
  auto sampler_conn = Must(pg::Connection::Open(url), "connect the LSN sampler");
  std::vector<Sample> samples;
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling) {
      auto taken = Clock::now();
      auto row = Must(
          sampler_conn.ExecParams("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::text", {}),
          "sample the WAL position");
      samples.push_back({taken, std::stoull(std::string(row.Get(0, 0)))});
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  for (auto deadline = Clock::now() + std::chrono::seconds(30); !listener.connected();) {
    if (Clock::now() > deadline) Fail("the analytics event stream of " + api + " did not connect");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  // Open loop: request i of the run is due at start + i / rate; client c sends i ≡ c (mod clients).
  const int total = rate * seconds;
  std::vector<std::vector<Clock::time_point>> answered(clients);
  std::atomic<int64_t> errors{0};
  auto start = Clock::now() + std::chrono::milliseconds(100);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client(host, port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);  // headers and body go in two writes: no Nagle wait
      for (int i = c; i < total; i += clients) {
        std::this_thread::sleep_until(start + std::chrono::microseconds(1000000LL * i / rate));
        json patch = {{"gpa", (i % 400) / 100.0}};
        auto r = client.Patch("/students/F" + std::to_string(i % kStudents), patch.dump(),
                              "application/json");
        if (!r || r->status != 200) {
          ++errors;
          continue;
        }
        answered[c].push_back(Clock::now());
      }
    });
  }
  for (auto& t : threads) t.join();
  double achieved = total / std::chrono::duration<double>(Clock::now() - start).count();

  // One more transaction after the last sample, so that every sample has a commit at or past it.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  sampling = false;
  sampler.join();
  {
    httplib::Client client(host, port);
    (void)client.Patch("/students/F0", json{{"gpa", 3.99}}.dump(), "application/json");
  }
  uint64_t last_sample = samples.empty() ? 0 : samples.back().lsn;
  auto drain_deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < drain_deadline) {
    auto seen = listener.Take();
    if (!seen.empty() && seen.back().end_lsn >= last_sample) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto announcements = listener.Take();

  std::vector<double> latencies;
  int64_t unresolved = 0;
  for (const auto& times : answered) {
    for (auto answered_at : times) {
      auto sample = std::find_if(samples.begin(), samples.end(),
                                 [&](const Sample& s) { return s.taken >= answered_at; });
      if (sample == samples.end()) {
        ++unresolved;
        continue;
      }
      auto seen = std::find_if(announcements.begin(), announcements.end(),
                               [&](const Announcement& a) { return a.end_lsn >= sample->lsn; });
      if (seen == announcements.end()) {
        ++unresolved;
        continue;
      }
      latencies.push_back(
          std::chrono::duration<double, std::milli>(seen->received - answered_at).count());
    }
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty()
               ? -1.0
               : latencies[std::min(latencies.size() - 1, size_t(p * latencies.size()))];
  };
  std::printf(
      "\n(a) freshness through the portal: %d PATCH /students/{id} at %.0f/s (asked %d/s, %d "
      "clients), %zu measured, %lld failed, %lld unresolved, %zu lake commits announced\n",
      total, achieved, rate, clients, latencies.size(), static_cast<long long>(errors.load()),
      static_cast<long long>(unresolved), announcements.size());
  std::printf("%-10s %12s %12s %8s\n", "", "lake ms", "target ms", "ratio");
  std::printf("%-10s %12.1f %12.1f %7.2fx\n", "p50", pct(0.50), 200.0, pct(0.50) / 200.0);
  std::printf("%-10s %12.1f %12.1f %7.2fx\n", "p99", pct(0.99), 1000.0, pct(0.99) / 1000.0);
  std::printf("%-10s %12.1f\n", "max", latencies.empty() ? -1 : latencies.back());
  return errors > 0 || latencies.empty() ? 1 : 0;
}
