#include <execinfo.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "app/commands.h"
#include "common/log.h"
#include "pg/connection.h"

namespace migsbyu::app {

std::string DefaultDatabaseUrl() {
  const char* url = std::getenv("DATABASE_URL");
  if (url && *url) return url;
  std::string embedded = "postgresql://migsbyu@127.0.0.1:54320/migsbyu";
  // The embedded cluster's password file (scripts/pg.sh), unless PGPASSFILE names one.
  std::error_code ec;
  auto passfile = std::filesystem::absolute("var/pg.pgpass", ec);
  const char* env_passfile = std::getenv("PGPASSFILE");
  if (!ec && (env_passfile == nullptr || *env_passfile == '\0') &&
      std::filesystem::exists(passfile, ec)) {
    embedded += "?passfile=" + passfile.string();
  }
  return embedded;
}

CLI::Option* AddDatabaseUrlOption(CLI::App* command, std::string* url) {
  *url = DefaultDatabaseUrl();
  return command
      ->add_option("--database-url", *url,
                   "PostgreSQL URL (default: DATABASE_URL or the embedded cluster)")
      ->default_str(pg::RedactedConninfo(*url));
}

}  // namespace migsbyu::app

namespace {

// A crash of any subcommand leaves its stack in the log (stderr): a test that sees a process die
// of a signal then has more to go on than the last log line. The default action follows (the
// handler is reset on entry), so the exit status and the core dump are what they would have been.
void OnFatalSignal(int sig) {
  char head[] = "migsbyu: fatal signal 00; stack:\n";
  head[22] = static_cast<char>('0' + sig / 10 % 10);
  head[23] = static_cast<char>('0' + sig % 10);
  (void)!write(STDERR_FILENO, head, sizeof head - 1);
  void* frames[64];
  backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
  raise(sig);
}

void InstallFatalSignalHandlers() {
  void* warm[1];
  backtrace(warm, 1);  // loads libgcc's unwinder now rather than inside the handler
  struct sigaction action {};
  action.sa_handler = OnFatalSignal;
  action.sa_flags = SA_RESETHAND | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &action, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  InstallFatalSignalHandlers();
  // The lake, change files and spools hold personal data: whatever this process creates is its
  // owner's only.
  ::umask(0077);
  CLI::App app{
      "MigsbyU: a university course portal whose every change flows, by change data "
      "capture, into an analytics lake of SCD Type 2 dimensions."};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  app.parse_complete_callback([&] { migsbyu::SetLogLevel(log_level); });
  migsbyu::app::AddMigrateCommand(app);
  migsbyu::app::AddServeCommand(app);
  migsbyu::app::AddGenerateCommand(app);
  migsbyu::app::AddSimulateCommand(app);
  migsbyu::app::AddCdcCommand(app);
  migsbyu::app::AddLakeCommand(app);
  migsbyu::app::AddUserCommand(app);
  migsbyu::app::AddTokenCommand(app);
  migsbyu::app::AddConsoleWorkerCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    // A subcommand's failure: CLI11 would exit with its code but print nothing.
    if (*e.what() != '\0') std::fprintf(stderr, "migsbyu: %s\n", e.what());
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
