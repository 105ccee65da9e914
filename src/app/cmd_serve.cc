#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "app/commands.h"
#include "app/pipeline.h"
#include "common/log.h"
#include "oltp/migrations.h"
#include "oltp/simulator.h"
#include "pg/pool.h"
#include "portal/docs.h"
#include "portal/generate_api.h"
#include "portal/rest_api.h"
#include "portal/router.h"
#include "portal/server.h"

namespace migsbyu::app {
namespace {

struct ServeOptions {
  std::string database_url = DefaultDatabaseUrl();
  portal::ServerOptions server;
  int pool_size = 16;
  PipelineOptions pipeline;
};

// "127.0.0.1:8000" -> "http://127.0.0.1:8000".
std::string Url(const std::string& address, int port) {
  auto host = portal::ParseAddress(address);
  std::string h = host.ok() ? host->first : "127.0.0.1";
  if (h == "0.0.0.0" || h.empty()) h = "127.0.0.1";
  return "http://" + h + ":" + std::to_string(port);
}

void Serve(const ServeOptions& options) {
  // Every thread started from here on inherits the mask; this thread alone takes the signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  {
    auto conn = pg::Connection::Open(options.database_url);
    if (!conn.ok()) throw CLI::RuntimeError("serve: " + conn.error().ToString(), 1);
    auto migrated = oltp::ApplyMigrations(*conn);
    if (!migrated.ok()) throw CLI::RuntimeError("serve: " + migrated.error().ToString(), 1);
  }
  pg::Pool pool(options.database_url, static_cast<size_t>(options.pool_size));
  portal::Router router;
  oltp::Simulator simulator(pool);
  portal::RegisterRestApi(router, pool);
  portal::RegisterGenerateApi(router, pool, simulator);
  portal::RegisterDocs(router, "MigsbyU API", "0.1.0");
  auto pipeline = StartPipeline(options.database_url, options.pipeline, router);
  if (!pipeline.ok()) throw CLI::RuntimeError("serve: " + pipeline.error().ToString(), 1);

  portal::Server server(router, options.server);
  if (auto started = server.Start(); !started.ok()) {
    (*pipeline)->Stop();
    throw CLI::RuntimeError("serve: " + started.error().ToString(), 1);
  }
  std::printf("MigsbyU is serving.\n  API: %s/docs\n",
              Url(options.server.api_address, server.api_port()).c_str());
  if (server.web_port() != 0) {
    std::printf("  UI:  %s\n", Url(options.server.web_address, server.web_port()).c_str());
  }
  std::printf("Press Ctrl-C to stop.\n");
  std::fflush(stdout);

  int received = 0;
  sigwait(&signals, &received);
  MIGSBYU_LOG_INFO("serve: {} received; finishing requests in flight", strsignal(received));
  server.Stop();
  simulator.Stop();
  (*pipeline)->Stop();
  MIGSBYU_LOG_INFO("serve: stopped");
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve",
      "Serve the REST API (and its docs) and the web UI, with change capture into the lake");
  auto options = std::make_shared<ServeOptions>();
  AddDatabaseUrlOption(cmd, &options->database_url);
  cmd->add_option("--api-address", options->server.api_address, "host:port of the REST API")
      ->capture_default_str();
  cmd->add_option("--web-address", options->server.web_address,
                  "host:port of the web UI (the API under /api); empty to serve none")
      ->capture_default_str();
  cmd->add_option("--web-dir", options->server.web_dir, "Folder of the built web front-end")
      ->capture_default_str();
  cmd->add_option("--pool-size", options->pool_size,
                  "PostgreSQL connections in the pool of the blocking requests")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--event-loops", options->server.event_loops,
                  "Threads serving HTTP connections (0: one per core)")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd->add_option("--threads", options->server.threads,
                  "Worker threads for the requests that may block (listings, deletes, analytics)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--db-connections", options->server.db_connections,
                  "Asynchronous PostgreSQL connections for creating a record (one in flight each)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--db-read-connections", options->server.db_read_connections,
                  "Asynchronous PostgreSQL connections for getting a record (0: one per loop)")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  cmd->add_option("--read-pipeline-depth", options->server.read_pipeline_depth,
                  "Reads in flight per read connection (more than 1 pipelines)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  AddPipelineOptions(cmd, &options->pipeline);
  cmd->callback([options] { Serve(*options); });
}

}  // namespace migsbyu::app
