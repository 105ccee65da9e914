#!/usr/bin/env bash
# `make bench`: every benchmark under bench/, each printing its figures beside a limit measured in
# the same run. Usage: bench.sh BUILD_DIR [api|cdc|lake ...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1; shift
which=("$@")
[ ${#which[@]} -gt 0 ] || which=(api cdc lake)
for b in "${which[@]}"; do
  if [ -x "bench/$b/run.sh" ]; then
    echo "== bench/$b"
    "bench/$b/run.sh" "$build"
  fi
done
