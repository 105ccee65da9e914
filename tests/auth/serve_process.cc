#include "serve_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <regex>
#include <string_view>

namespace migsbyu::auth::testing {
namespace {

std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

// Reads everything from both descriptors until both close.
void Drain(int out, int err, std::string* out_text, std::string* err_text) {
  pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
  std::string* texts[2] = {out_text, err_text};
  int open = 2;
  char buf[4096];
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        texts[i]->append(buf, static_cast<size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
}

}  // namespace

bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

CommandResult RunMigsbyu(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> full = {MIGSBYU_BINARY};
  full.insert(full.end(), args.begin(), args.end());
  int in[2], out[2], err[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0 || ::pipe(err) != 0) return {};
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();  // no controlling terminal: a prompt cannot reach the developer's
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) ::close(fd);
    auto argv = Argv(full);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  std::string written = input;
  std::thread feeder([fd = in[1], written] {
    size_t done = 0;
    while (done < written.size()) {
      ssize_t n = ::write(fd, written.data() + done, written.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(fd);
  });
  CommandResult r;
  Drain(out[0], err[0], &r.out, &r.err);
  feeder.join();
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

ServeProcess::ServeProcess(const std::string& url, const std::string& slot, bool pipeline,
                           std::vector<std::string> extra, bool url_in_environment) {
  static std::mt19937_64 rng(std::random_device{}());
  lake_dir_ =
      (std::filesystem::temp_directory_path() /
       ("migsbyu-auth-lake-" + std::to_string(::getpid()) + "-" + std::to_string(rng() % 1000000)))
          .string();
  std::vector<std::string> args = {
      MIGSBYU_BINARY, "serve",   "--api-address", "127.0.0.1:0", "--web-address", "127.0.0.1:0",
      "--lake-dir",   lake_dir_, "--slot",        slot,          "--threads",     "8",
      "--pool-size",  "4"};
  if (!url_in_environment) args.insert(args.end(), {"--database-url", url});
  if (std::find(extra.begin(), extra.end(), "--web-dir") == extra.end()) {
    args.insert(args.end(), {"--web-dir", "/nonexistent"});
  }
  if (std::find(extra.begin(), extra.end(), "--publication") == extra.end()) {
    args.insert(args.end(), {"--publication", slot});
  }
  if (!pipeline) args.push_back("--no-pipeline");
  args.insert(args.end(), extra.begin(), extra.end());
  // The child's environment, made before fork: after it only async-signal-safe calls are safe.
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with("DATABASE_URL=")) environment.emplace_back(*e);
  }
  if (url_in_environment) environment.push_back("DATABASE_URL=" + url);
  auto argv = Argv(args);
  auto envp = Argv(environment);
  int out[2];
  if (::pipe(out) != 0) return;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close(out[0]);
    ::close(out[1]);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  ::close(out[1]);
  out_fd_ = out[0];
  reader_ = std::thread([this] {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(out_fd_, buf, sizeof buf);
      if (n <= 0) break;
      std::lock_guard lock(mu_);
      output_.append(buf, static_cast<size_t>(n));
    }
  });
  const std::regex api(R"(API: http://[\d.]+:(\d+))"), web(R"(UI:  http://[\d.]+:(\d+))");
  bool up = Eventually(
      [&] {
        std::smatch m;
        std::string text = Output();
        if (std::regex_search(text, m, web)) web_port_ = std::stoi(m[1]);
        if (!std::regex_search(text, m, api)) return false;
        int port = std::stoi(m[1]);
        return HttpClient(port).Call("GET", "/health").status == 200 && (api_port_ = port) != 0;
      },
      std::chrono::seconds(60));
  if (!up) ADD_FAILURE() << "migsbyu serve did not come up:\n" << Output();
}

ServeProcess::~ServeProcess() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(lake_dir_, ec);
}

int ServeProcess::Stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGINT);
    ::waitpid(pid_, &status_, 0);
    pid_ = -1;
    if (reader_.joinable()) reader_.join();
    ::close(out_fd_);
  }
  return status_;
}

std::string ServeProcess::Output() const {
  std::lock_guard lock(mu_);
  return output_;
}

std::string ServeProcess::FirstPassword() const {
  std::smatch m;
  std::string text = Output();
  static const std::regex password(R"(password: (\S+))");
  return std::regex_search(text, m, password) ? std::string(m[1]) : "";
}

}  // namespace migsbyu::auth::testing
