#!/usr/bin/env bash
# Runs every test against a throwaway PostgreSQL cluster on a free loopback port.
# Usage: test.sh BUILD_DIR [ctest arguments...]
# The cluster lives in a temporary folder and is stopped and removed however the tests end.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1; shift
port=$(scripts/pg.sh free-port)
data=$(mktemp -d /tmp/migsbyu-test-pg.XXXXXX)
cleanup() { scripts/pg.sh stop "$data"; rm -rf "$data" "$data.pgpass"; }
trap cleanup EXIT
MIGSBYU_PG_FAST=1 scripts/pg.sh start "$data" "$port"
# The cluster's password file (scripts/pg.sh): in the URL for our binaries, in PGPASSFILE for
# psql, pgbench and pg_recvlogical run with -h/-p.
export PGPASSFILE=$(scripts/pg.sh passfile "$data")
export MIGSBYU_TEST_DATABASE_URL="postgresql://migsbyu@127.0.0.1:$port/postgres?passfile=$PGPASSFILE"
export MIGSBYU_TEST_PGDATA="$data"
export MIGSBYU_TEST_PGPORT="$port"
echo "test: PostgreSQL 15 on 127.0.0.1:$port ($data)"
ctest --test-dir "$build" --output-on-failure --timeout 900 -j "${MIGSBYU_TEST_JOBS:-2}" "$@"
