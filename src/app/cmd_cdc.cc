#include "app/commands.h"

namespace migsbyu::app {

void AddCdcCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("cdc", "(not built yet)");
  cmd->callback([] { throw CLI::RuntimeError("migsbyu cdc: not built yet", 1); });
}

}  // namespace migsbyu::app
