#include <cstdio>
#include <cstdlib>

#include "app/commands.h"
#include "common/log.h"

namespace migsbyu::app {

std::string DefaultDatabaseUrl() {
  const char* url = std::getenv("DATABASE_URL");
  return url && *url ? url : "postgresql://migsbyu@127.0.0.1:54320/migsbyu";
}

}  // namespace migsbyu::app

int main(int argc, char** argv) {
  CLI::App app{"MigsbyU: a university course portal whose every change flows, by change data "
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
