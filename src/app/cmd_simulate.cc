#include "app/commands.h"

namespace migsbyu::app {

void AddSimulateCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("simulate", "(not built yet)");
  cmd->callback([] { throw CLI::RuntimeError("migsbyu simulate: not built yet", 1); });
}

}  // namespace migsbyu::app
