#!/usr/bin/env bash
# bench/lake: (a) freshness at 1,000 transactions/s through the portal (`migsbyu serve` with its
# pipeline, on a throwaway PostgreSQL), (b) query latencies beside the prototype's method,
# (c) write throughput beside DuckDB's COPY.
# Usage: run.sh BUILD_DIR [--part freshness|queries|write]... [lake_bench options, e.g.
#        --students 100000 --versions 10]
# Defaults: every part; 1,000,000 students × 10 versions, 1,000,000 rows written; scratch in var/.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$1; shift
cmake --build "$build" --target migsbyu lake_bench lake_freshness_bench >/dev/null

# --part freshness is run here; queries and write are lake_bench's.
parts=(); bench_args=()
while [ $# -gt 0 ]; do
  if [ "$1" = --part ] && [ $# -ge 2 ]; then parts+=("$2"); shift 2; else bench_args+=("$1"); shift; fi
done
run_freshness=no; run_lake_bench=no
if [ ${#parts[@]} -eq 0 ]; then run_freshness=yes; run_lake_bench=yes; fi
for part in "${parts[@]}"; do
  case $part in
    freshness) run_freshness=yes ;;
    queries|write) run_lake_bench=yes; bench_args+=(--part "$part") ;;
    *) echo "run.sh: unknown part '$part' (freshness, queries, write)" >&2; exit 2 ;;
  esac
done

serve_pid=; data=
cleanup() {
  if [ -n "$serve_pid" ]; then kill -INT "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
  if [ -n "$data" ]; then scripts/pg.sh stop "$data" >/dev/null 2>&1 || true; rm -rf "$data" "$data.pgpass"; fi
  rm -rf var/bench-lake var/bench-lake-freshness
}
trap cleanup EXIT

if [ $run_freshness = yes ]; then
  # (a) PostgreSQL with its default durability, the portal with capture and lake in one process.
  port=$(scripts/pg.sh free-port)
  data=$(mktemp -d /tmp/migsbyu-bench-pg.XXXXXX)
  scripts/pg.sh start "$data" "$port" >/dev/null
  export PGPASSFILE=$(scripts/pg.sh passfile "$data")
  url="postgresql://migsbyu@127.0.0.1:$port/postgres?passfile=$PGPASSFILE"
  rm -rf var/bench-lake-freshness
  "$build/migsbyu" migrate --database-url "$url" >/dev/null 2>&1
  api_port=$(scripts/pg.sh free-port)
  # Freshness, not sign-in, is measured here: the loopback-only open gate (bench/api has the gate on).
  "$build/migsbyu" serve --no-auth --database-url "$url" --api-address "127.0.0.1:$api_port" --web-address "" \
    --lake-dir var/bench-lake-freshness >/dev/null 2>&1 &
  serve_pid=$!
  echo "bench/lake (a): PostgreSQL 15 on 127.0.0.1:$port, portal on 127.0.0.1:$api_port, $(nproc) cores"
  "$build/bench/lake/lake_freshness_bench" --api "127.0.0.1:$api_port" --database-url "$url"
fi
if [ $run_lake_bench = yes ]; then
  "$build/bench/lake/lake_bench" --dir var/bench-lake "${bench_args[@]}"
fi
