#include "app/commands.h"

namespace migsbyu::app {

void AddLakeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("lake", "(not built yet)");
  cmd->callback([] { throw CLI::RuntimeError("migsbyu lake: not built yet", 1); });
}

}  // namespace migsbyu::app
