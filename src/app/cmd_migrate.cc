#include <string>

#include "app/commands.h"
#include "common/log.h"
#include "oltp/migrations.h"
#include "pg/connection.h"

namespace migsbyu::app {

void AddMigrateCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("migrate", "Apply the operational schema's pending migrations");
  auto url = std::make_shared<std::string>(DefaultDatabaseUrl());
  AddDatabaseUrlOption(cmd, url.get());
  cmd->callback([url] {
    auto conn = pg::Connection::Open(*url);
    if (!conn.ok()) throw CLI::RuntimeError("migrate: " + conn.error().ToString(), 1);
    auto status = oltp::ApplyMigrations(*conn);
    if (!status.ok()) throw CLI::RuntimeError("migrate: " + status.error().ToString(), 1);
    auto versions = oltp::AppliedVersions(*conn);
    int latest = versions.ok() && !versions->empty() ? versions->back() : 0;
    std::printf("migrate: schema at version %d\n", latest);
  });
}

}  // namespace migsbyu::app
