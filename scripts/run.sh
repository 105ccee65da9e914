#!/usr/bin/env bash
# `make run`: the embedded PostgreSQL cluster under ./var/pg (unless DATABASE_URL names another
# server), then `migsbyu serve` in the foreground. Ctrl-C stops the portal (it finishes requests
# in flight and flushes the lake), then the cluster; the data stays for the next run.
# Settings: MIGSBYU_PG_PORT (default 54320) for the embedded cluster; any `migsbyu serve` option
# after `--`, e.g. `make run ARGS="--api-address 0.0.0.0:8000"`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${MIGSBYU_BIN:-build/release/migsbyu}
if [ -z "${DATABASE_URL:-}" ]; then
  port=${MIGSBYU_PG_PORT:-54320}
  scripts/pg.sh start var/pg "$port"
  trap 'scripts/pg.sh stop var/pg; echo "PostgreSQL stopped (data kept in var/pg)"' EXIT
  export DATABASE_URL=$(scripts/pg.sh url "$port")
  echo "PostgreSQL 15: $DATABASE_URL (data in var/pg)"
fi
"$bin" migrate
# In the foreground, so that Ctrl-C reaches the portal; the EXIT trap then stops the cluster.
"$bin" serve --lake-dir var/lake "$@" || true
