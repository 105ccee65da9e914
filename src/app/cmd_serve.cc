#include "app/commands.h"

namespace migsbyu::app {

void AddServeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "(not built yet)");
  cmd->callback([] { throw CLI::RuntimeError("migsbyu serve: not built yet", 1); });
}

}  // namespace migsbyu::app
