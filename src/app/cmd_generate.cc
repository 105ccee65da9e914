#include "app/commands.h"

namespace migsbyu::app {

void AddGenerateCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("generate", "(not built yet)");
  cmd->callback([] { throw CLI::RuntimeError("migsbyu generate: not built yet", 1); });
}

}  // namespace migsbyu::app
