#include <sys/types.h>

#include "analytics/console_worker.h"
#include "app/commands.h"

namespace migsbyu::app {

void AddConsoleWorkerCommand(CLI::App& app) {
  // Started by the portal's SQL console for each query, never by people: hidden from --help.
  auto* cmd = app.add_subcommand(analytics::kWorkerCommand,
                                 "Run one SQL console query (started by migsbyu serve)");
  cmd->group("");
  auto parent = std::make_shared<pid_t>(0);
  cmd->add_option("--parent", *parent, "The pid of the portal that started the worker");
  cmd->callback([parent] {
    int status = analytics::RunConsoleWorker(*parent);
    if (status != 0) throw CLI::RuntimeError("", status);
  });
}

}  // namespace migsbyu::app
