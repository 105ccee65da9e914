#!/usr/bin/env bash
# `make run`: the embedded PostgreSQL cluster under ./var/pg (unless DATABASE_URL names another
# server), then `migsbyu serve` in the foreground. Ctrl-C stops the portal (it finishes requests
# in flight and flushes the lake), then the cluster; the data stays for the next run.
# Settings: MIGSBYU_PG_PORT (default 54320) for the embedded cluster; any `migsbyu serve` option
# after `--`, e.g. `make run ARGS="--api-address 0.0.0.0:8000"`.
# var/ holds personal data: it and everything in it are the owner's only (as root, the postgres
# user may also pass through var/ to reach its cluster in var/pg, and no more).
set -euo pipefail
umask 077
cd "$(dirname "$0")/.."
bin=${MIGSBYU_BIN:-build/release/migsbyu}
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
  install -d -m 0710 -g postgres var
  chgrp postgres var && chmod 0710 var
else
  install -d -m 0700 var
  chmod 0700 var
fi
# Older versions made var/ with the default umask: take back what others could read.
find var -mindepth 1 -maxdepth 1 ! -name pg -exec chmod -R go-rwx {} +
if [ -z "${DATABASE_URL:-}" ]; then
  port=${MIGSBYU_PG_PORT:-54320}
  scripts/pg.sh start var/pg "$port"
  trap 'scripts/pg.sh stop var/pg; echo "PostgreSQL stopped (data kept in var/pg)"' EXIT
  export PGPASSFILE=$(scripts/pg.sh passfile var/pg)
  export DATABASE_URL=$(scripts/pg.sh url "$port" var/pg)
  echo "PostgreSQL 15 on 127.0.0.1:$port (data in var/pg, password in $PGPASSFILE)"
fi
"$bin" migrate
# In the foreground, so that Ctrl-C reaches the portal; the EXIT trap then stops the cluster. A
# failing serve fails `make run` with its status.
"$bin" serve --lake-dir var/lake "$@"
