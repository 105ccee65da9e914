#!/usr/bin/env bash
# `make run`: the embedded PostgreSQL cluster under ./var/pg (unless DATABASE_URL names another
# server), then `migsbyu serve` in the foreground. Ctrl-C stops the portal, then the cluster; the
# data stays for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${MIGSBYU_BIN:-build/release/migsbyu}
if [ -z "${DATABASE_URL:-}" ]; then
  port=${MIGSBYU_PG_PORT:-54320}
  scripts/pg.sh start var/pg "$port"
  trap 'scripts/pg.sh stop var/pg' EXIT
  export DATABASE_URL=$(scripts/pg.sh url "$port")
  echo "PostgreSQL 15: $DATABASE_URL (data in var/pg)"
fi
"$bin" migrate
# Not exec: the trap above must stop the cluster when the portal exits.
"$bin" serve "$@" &
pid=$!
trap 'kill -INT $pid 2>/dev/null || true' INT TERM
wait $pid || true
wait $pid 2>/dev/null || true
