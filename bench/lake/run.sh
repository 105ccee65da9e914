#!/usr/bin/env bash
# bench/lake: (a) freshness at 1,000 transactions/s against a throwaway PostgreSQL, (b) query
# latencies beside the prototype's method, (c) write throughput beside DuckDB's COPY.
# Usage: run.sh BUILD_DIR [lake_bench options, e.g. --students 100000 --versions 10]
# Defaults: 1,000,000 students × 10 versions, 1,000,000 rows written; scratch in var/.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$1; shift
cmake --build "$build" --target lake_bench lake_freshness_bench >/dev/null

port=$(scripts/pg.sh free-port)
data=$(mktemp -d /tmp/migsbyu-bench-pg.XXXXXX)
cleanup() { scripts/pg.sh stop "$data" >/dev/null 2>&1 || true; rm -rf "$data" var/bench-lake var/bench-lake-freshness; }
trap cleanup EXIT
MIGSBYU_PG_FAST=1 scripts/pg.sh start "$data" "$port" >/dev/null
"$build/bench/lake/lake_freshness_bench" --database-url "postgresql://migsbyu@127.0.0.1:$port/postgres" \
  --dir var/bench-lake-freshness

"$build/bench/lake/lake_bench" --dir var/bench-lake "$@"
