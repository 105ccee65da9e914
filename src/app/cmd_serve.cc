#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "app/commands.h"
#include "app/pipeline.h"
#include "auth/auth_api.h"
#include "auth/authenticator.h"
#include "auth/gate.h"
#include "common/log.h"
#include "oltp/migrations.h"
#include "oltp/pg_query_executor.h"
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
  oltp::PgQueryExecutorOptions queries;  // the query routes' asynchronous connections
  int pool_size = 16;
  PipelineOptions pipeline;
  bool no_auth = false;
  bool secure_cookie = false;
  int session_idle_seconds = 30 * 60;
  int session_lifetime_seconds = 12 * 60 * 60;
  // The deadlines in seconds, as the flags take them.
  double head_timeout = 10;
  double body_timeout = 30;
  double send_timeout = 30;
};

// "127.0.0.1:8000" -> "http://127.0.0.1:8000" (https under TLS).
std::string Url(const std::string& address, int port, bool tls) {
  auto host = portal::ParseAddress(address);
  std::string h = host.ok() ? host->first : "127.0.0.1";
  if (h == "0.0.0.0" || h.empty()) h = "127.0.0.1";
  if (h == "::") h = "::1";
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return (tls ? "https://" : "http://") + h + ":" + std::to_string(port);
}

std::chrono::milliseconds Milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// On the first start (no user at all): the admin user, with a random password to print once.
std::optional<std::string> CreateFirstAdmin(auth::Authenticator& authenticator) {
  auto users = authenticator.Users();
  if (!users.ok()) throw CLI::RuntimeError("serve: " + users.error().ToString(), 1);
  if (!users->empty()) return std::nullopt;
  const std::string password = auth::GeneratePassword();
  auto added = authenticator.AddUser({"admin", portal::Role::kAdmin, true, password});
  if (!added.ok()) {
    if (added.error().code() == ErrorCode::kAlreadyExists) return std::nullopt;  // raced
    throw CLI::RuntimeError("serve: cannot create the first user: " + added.error().ToString(), 1);
  }
  MIGSBYU_LOG_INFO("serve: first run: created the user admin");
  return password;
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
  if (options.no_auth) {
    auto loopback =
        auth::CheckLoopbackOnly({options.server.api_address, options.server.web_address});
    if (!loopback.ok()) throw CLI::RuntimeError("serve: " + loopback.error().message(), 1);
  }
  auth::AuthOptions auth_options;
  auth_options.session_idle = std::chrono::seconds(options.session_idle_seconds);
  auth_options.session_lifetime = std::chrono::seconds(options.session_lifetime_seconds);
  auto authenticator = auth::Authenticator::Start(options.database_url, auth_options);
  if (!authenticator.ok()) {
    throw CLI::RuntimeError("serve: " + authenticator.error().ToString(), 1);
  }
  std::optional<std::string> first_password;
  if (!options.no_auth) first_password = CreateFirstAdmin(**authenticator);

  pg::Pool pool(options.database_url, static_cast<size_t>(options.pool_size));
  oltp::PgQueryExecutorFactory queries(options.database_url, options.queries);
  portal::Router router;
  router.SetQueryExecutors(&queries);
  // The cookie is Secure whenever the UI is reached over HTTPS: served with TLS, or so declared
  // for a TLS proxy in front.
  const bool secure_cookie = options.secure_cookie || !options.server.tls_cert.empty();
  auth::SignInGate sign_in(**authenticator, secure_cookie);
  auth::OpenGate open;
  if (options.no_auth) {
    router.SetGate(&open);
  } else {
    router.SetGate(&sign_in);
  }
  auth::RegisterAuthRoutes(router, **authenticator,
                           {.open = options.no_auth, .secure_cookie = secure_cookie});
  oltp::Simulator simulator(pool);
  portal::RegisterRestApi(router, pool);
  portal::RegisterGenerateApi(router, pool, simulator);
  portal::RegisterDocs(router, "MigsbyU API", "0.1.0");
  auto pipeline = StartPipeline(options.database_url, options.pipeline, router);
  if (!pipeline.ok()) throw CLI::RuntimeError("serve: " + pipeline.error().ToString(), 1);

  portal::ServerOptions server_options = options.server;
  server_options.head_timeout = Milliseconds(options.head_timeout);
  server_options.body_timeout = Milliseconds(options.body_timeout);
  server_options.send_timeout = Milliseconds(options.send_timeout);
  const bool tls = !server_options.tls_cert.empty();
  portal::Server server(router, server_options);
  if (auto started = server.Start(); !started.ok()) {
    (*pipeline)->Stop();
    throw CLI::RuntimeError("serve: " + started.error().ToString(), 1);
  }
  std::printf("MigsbyU is serving.\n  API: %s/docs\n",
              Url(options.server.api_address, server.api_port(), tls).c_str());
  if (server.web_port() != 0) {
    std::printf("  UI:  %s\n", Url(options.server.web_address, server.web_port(), tls).c_str());
  }
  if (first_password) {
    const std::string login =
        server.web_port() != 0 ? Url(options.server.web_address, server.web_port(), tls) + "/login"
                               : Url(options.server.api_address, server.api_port(), tls) + "/docs";
    std::printf(
        "First run: no user existed, so this one was made (its password is shown only now):\n"
        "  user:     admin\n"
        "  password: %s\n"
        "  Sign in at %s; change the password with `migsbyu user passwd admin`.\n",
        first_password->c_str(), login.c_str());
  }
  if (options.no_auth) {
    std::fprintf(stderr,
                 "WARNING: --no-auth: sign-in is off. Every request acts as user 'local' with the "
                 "admin role and the pii grant; only loopback addresses are served.\n");
    MIGSBYU_LOG_WARN("serve: --no-auth: every request acts as user local (admin, pii)");
  }
  std::printf("Press Ctrl-C to stop.\n");
  std::fflush(stdout);

  int received = 0;
  sigwait(&signals, &received);
  MIGSBYU_LOG_INFO("serve: {} received; finishing requests in flight", strsignal(received));
  server.Stop();
  simulator.Stop();
  (*pipeline)->Stop();
  (*authenticator)->Stop();
  MIGSBYU_LOG_INFO("serve: stopped");
}

// The HTTP surface's settings and limits (docs/SECURITY.md, "HTTP surface").
void AddSecurityOptions(CLI::App* cmd, ServeOptions* options) {
  portal::ServerOptions& s = options->server;
  cmd->add_option("--tls-cert", s.tls_cert,
                  "PEM certificate chain: with --tls-key, both addresses speak HTTPS only");
  cmd->add_option("--tls-key", s.tls_key, "PEM private key of --tls-cert");
  cmd->add_option("--behind-proxy", s.trusted_proxies,
                  "Address of a reverse proxy (repeatable): only its X-Forwarded-For/-Proto/-Host "
                  "are believed, and plain HTTP may then listen beyond loopback");
  cmd->add_option("--public-host", s.public_hosts,
                  "NAME or NAME:PORT clients may use in Host besides the bound address "
                  "(repeatable); any other Host gets 421");
  cmd->add_option("--cors-origin", s.cors_origins,
                  "scheme://host[:port] whose pages may call the API cross-origin (repeatable); "
                  "none by default");
  cmd->add_option("--max-connections", s.max_connections,
                  "Open connections over both addresses; more are answered 503")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--max-connections-per-client", s.max_connections_per_client,
                  "Open connections from one address (a proxy's excepted); more get 429")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--head-timeout", options->head_timeout,
                  "Seconds for a whole request head (and a TLS handshake) to arrive; else 408")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  cmd->add_option("--body-timeout", options->body_timeout,
                  "Seconds for a request body to arrive after its head; else 408")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  cmd->add_option("--send-timeout", options->send_timeout,
                  "Seconds a client may take no byte of its answer before it is closed")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  cmd->add_option("--keep-alive", s.keep_alive_seconds,
                  "Seconds an idle keep-alive connection stays open")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", s.max_body_bytes, "Largest request body; larger get 413")
      ->check(CLI::Range(1024, 1 << 30))
      ->capture_default_str();
  cmd->add_option("--max-event-streams", s.max_event_streams,
                  "Event-stream subscribers over all streams; more get 503")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  cmd->add_option("--event-stream-queue-bytes", s.event_stream_queue_bytes,
                  "Bytes an event-stream subscriber may fall behind before it is dropped")
      ->check(CLI::Range(4096, 1 << 30))
      ->capture_default_str();
  cmd->add_option("--slow-threads", s.slow_threads,
                  "Worker threads of the slow lane (analytics, the SQL console)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
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
                  "Worker threads for the requests that may block (listings, deletes; analytics "
                  "have --slow-threads)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--db-connections", options->queries.write_connections,
                  "Asynchronous PostgreSQL connections for creating a record (one in flight each)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--db-read-connections", options->queries.read_connections,
                  "Asynchronous PostgreSQL connections for getting a record (0: one per loop)")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  cmd->add_option("--read-pipeline-depth", options->queries.read_pipeline_depth,
                  "Reads in flight per read connection (more than 1 pipelines)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_flag("--no-auth", options->no_auth,
                "No sign-in: every request acts as user 'local' (admin, pii), for the prototype's "
                "client; loopback addresses only");
  cmd->add_flag("--secure-cookie", options->secure_cookie,
                "Mark the session cookie Secure (the UI is reached over HTTPS behind a TLS proxy; "
                "implied by --tls-cert)");
  cmd->add_option("--session-idle-seconds", options->session_idle_seconds,
                  "A browser session ends after this long without a request")
      ->check(CLI::Range(1, 7 * 24 * 3600))
      ->capture_default_str();
  cmd->add_option("--session-lifetime-seconds", options->session_lifetime_seconds,
                  "A browser session ends this long after sign-in, active or not")
      ->check(CLI::Range(1, 30 * 24 * 3600))
      ->capture_default_str();
  AddSecurityOptions(cmd, options.get());
  AddPipelineOptions(cmd, &options->pipeline);
  cmd->callback([options] { Serve(*options); });
}

}  // namespace migsbyu::app
