#include "app/commands.h"

namespace migsbyu::app {

void AddMigrateCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("migrate", "(not built yet)");
  cmd->callback([] { throw CLI::RuntimeError("migsbyu migrate: not built yet", 1); });
}

}  // namespace migsbyu::app
