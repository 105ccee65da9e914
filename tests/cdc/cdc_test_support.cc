#include "cdc_test_support.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

namespace migsbyu::cdc::testing {

FileContents ReadCommitted(const std::string& path) {
  FileContents out;
  std::ifstream in(path);
  std::vector<nlohmann::json> pending;
  for (std::string line; std::getline(in, line);) {
    if (in.eof()) break;  // no newline: torn
    auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_discarded()) break;
    const std::string type = json["type"];
    if (type == "begin") {
      pending.clear();
    } else if (type == "change") {
      pending.push_back(std::move(json));
    } else if (type == "commit") {
      for (auto& c : pending) out.changes.push_back(std::move(c));
      pending.clear();
      out.commits.push_back(std::move(json));
    }
  }
  return out;
}

bool PollUntil(const std::function<bool()>& done, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

namespace {

// Runs a shell command, failing the test when it exits non-zero; returns its output, trimmed.
std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  int status = pclose(p);
  EXPECT_EQ(status, 0) << command << ": " << out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

PrivateCluster::PrivateCluster(std::string pg_script) : script_(std::move(pg_script)) {
  port_ = RunCommand(script_ + " free-port");
  Start();
}

PrivateCluster::~PrivateCluster() { Stop(); }

void PrivateCluster::Start() {
  RunCommand("MIGSBYU_PG_FAST=1 " + script_ + " start " + dir_.path() + "/data " + port_ + " 2>&1");
}

void PrivateCluster::Stop() { RunCommand(script_ + " stop " + dir_.path() + "/data 2>&1"); }

std::string PrivateCluster::url() const {
  return "postgresql://migsbyu@127.0.0.1:" + port_ + "/migsbyu?passfile=" + dir_.path() +
         "/data.pgpass";
}

TempDir::TempDir() {
  static std::mt19937_64 rng(std::random_device{}());
  path_ = (std::filesystem::temp_directory_path() /
           ("migsbyu-cdc-test-" + std::to_string(getpid()) + "-" + std::to_string(rng() % 1000000)))
              .string();
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

InProcessConnector::InProcessConnector(ConnectorOptions options, const std::string& file) {
  auto sink = transport::FileSink::Open(file);
  if (!sink.ok()) {
    ADD_FAILURE() << sink.error().ToString();
    return;
  }
  sink_ = std::move(sink).value();
  connector_ = std::make_unique<Connector>(std::move(options), sink_.get());
  thread_ = std::jthread([this](std::stop_token stop) { result_ = connector_->Run(stop); });
}

Status InProcessConnector::Stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
  return result_;
}

ChildConnector::ChildConnector(const std::string& database_url, const std::string& file,
                               std::vector<std::string> extra_args) {
  std::vector<std::string> args = {MIGSBYU_BINARY,
                                   "--log-level",
                                   "warn",
                                   "cdc",
                                   "--database-url",
                                   database_url,
                                   "--sink",
                                   file.find(':') == std::string::npos ? "file:" + file : file,
                                   "--status-interval-ms",
                                   "100"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  pid_ = fork();
  if (pid_ == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
}

ChildConnector::~ChildConnector() {
  if (pid_ > 0) Kill9();
}

long ChildConnector::PeakRssKb() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void ChildConnector::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int ChildConnector::Terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

pg::Connection Connect(const std::string& url) {
  auto conn = pg::Connection::Open(url);
  if (!conn.ok()) {
    ADD_FAILURE() << conn.error().ToString();
    std::abort();
  }
  return std::move(conn).value();
}

void Exec(pg::Connection& conn, const std::string& sql) {
  auto r = conn.Exec(sql);
  ASSERT_TRUE(r.ok()) << sql << ": " << r.error().ToString();
}

void CreateCapturedTable(pg::Connection& conn, const std::string& table,
                         const std::string& columns) {
  const std::string name = pg::QuoteIdentifier(table);
  Exec(conn, "CREATE TABLE " + name + " (" + columns + "); ALTER TABLE " + name +
                 " REPLICA IDENTITY FULL");
}

void SetDecodingWorkMem(pg::Connection& conn, const std::string& database,
                        const std::string& amount) {
  Exec(conn, "ALTER DATABASE " + pg::QuoteIdentifier(database) +
                 " SET logical_decoding_work_mem = '" + amount + "'");
}

bool WaitUntilStreaming(const InProcessConnector& connector, std::chrono::seconds limit) {
  return PollUntil([&] { return connector.GetMetrics().state == ConnectorState::kStreaming; },
                   limit);
}

}  // namespace migsbyu::cdc::testing
