// The `migsbyu` subcommands. Each Add*Command registers one subcommand on the CLI11 app with its
// options and its callback; main.cc calls them all. Wiring only: the logic lives in the
// components under src/.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace migsbyu::app {

// DATABASE_URL, or the embedded cluster's default address (with its password file, var/pg.pgpass,
// when that exists and PGPASSFILE is unset).
std::string DefaultDatabaseUrl();

// --database-url on `command`, into *url, defaulting to DefaultDatabaseUrl(); its help shows the
// default with any password redacted.
CLI::Option* AddDatabaseUrlOption(CLI::App* command, std::string* url);

void AddMigrateCommand(CLI::App& app);
void AddServeCommand(CLI::App& app);
void AddGenerateCommand(CLI::App& app);
void AddSimulateCommand(CLI::App& app);
void AddCdcCommand(CLI::App& app);
void AddLakeCommand(CLI::App& app);
void AddUserCommand(CLI::App& app);
void AddTokenCommand(CLI::App& app);
// The SQL console's worker (hidden): analytics/console_worker.h.
void AddConsoleWorkerCommand(CLI::App& app);

}  // namespace migsbyu::app
