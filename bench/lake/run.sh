#!/usr/bin/env bash
# bench/lake: prints (b) query latencies beside the prototype's method and (c) write throughput
# beside DuckDB's COPY. Usage: run.sh BUILD_DIR [lake_bench options, e.g. --students 100000]
# Defaults: 1,000,000 students × 10 versions, 1,000,000 rows written; scratch in var/bench-lake.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$1; shift
cmake --build "$build" --target lake_bench >/dev/null
"$build/bench/lake/lake_bench" --dir var/bench-lake "$@"
rm -rf var/bench-lake
