#!/usr/bin/env bash
# The API benchmark: a throwaway PostgreSQL cluster on a free port, `migsbyu serve --no-pipeline`
# on it, then api_bench (REST API beside pgbench on the same server). Everything is stopped and
# removed however it ends.
# Usage: bench/api/run.sh [BUILD_DIR] [api_bench options, e.g. --seconds 5]
# MIGSBYU_SERVE_ARGS adds options to `migsbyu serve` (e.g. "--pipeline-depth 4").
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}; shift || true
port=$(scripts/pg.sh free-port)
data=$(mktemp -d /tmp/migsbyu-bench-pg.XXXXXX)
serve_pid=
cleanup() {
  if [ -n "$serve_pid" ]; then kill -INT "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
  scripts/pg.sh stop "$data"; rm -rf "$data" "$data.pgpass"
}
trap cleanup EXIT
scripts/pg.sh start "$data" "$port"
url=$(scripts/pg.sh url "$port" "$data")
export PGPASSFILE=$(scripts/pg.sh passfile "$data")
api_port=$(scripts/pg.sh free-port)
# Authentication on, a bearer token per client, as a script calls the API (docs/SECURITY.md).
tokens=$(for i in $(seq 1 16); do
  "$build/migsbyu" token create --database-url "$url" --role registrar --name "bench-$i" 2>/dev/null
done | paste -sd, -)
"$build/migsbyu" serve --no-pipeline --database-url "$url" --api-address "127.0.0.1:$api_port" \
  --web-address "" ${MIGSBYU_SERVE_ARGS:-} >/dev/null &
serve_pid=$!
# api_bench waits for /health before it starts.
echo "bench/api: PostgreSQL 15 on 127.0.0.1:$port, API on 127.0.0.1:$api_port, $(nproc) cores"
"$build/bench/api/api_bench" --api "127.0.0.1:$api_port" --database-url "$url" \
  --server-pid "$serve_pid" --postgres-pid "$(head -1 "$data/postmaster.pid")" --tokens "$tokens" "$@"
