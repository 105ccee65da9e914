#!/usr/bin/env bash
# Installs what MigsbyU needs to build, test and run, and nothing that is already there.
#   Debian packages (apt): compiler, CMake, libraries, PostgreSQL 15, Chromium for browser tests.
#   DuckDB 1.4.4 (not in Debian): libduckdb.so and duckdb.h from npm tarballs into .cache/duckdb.
#   The web front-end's npm packages (web/node_modules).
# Safe to run again: each step checks first. Works as root or, through sudo, as a normal user.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libpq-dev postgresql-15 postgresql-client-15
  nlohmann-json3-dev libcpp-httplib-dev libcli11-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  librdkafka-dev kcat
  libsodium-dev libssl-dev openssl libavro-dev
  clang libclang-rt-14-dev clang-format
  chromium chromium-driver
  procps time
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  # Debian's postgresql package would create and start a system cluster on port 5432; MigsbyU runs
  # its own cluster under ./var, so ask postgresql-common not to.
  if [ ! -f /etc/postgresql-common/createcluster.conf ]; then
    as_root mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | as_root tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# DuckDB: the C library and its header, pinned to 1.4.4.
duck="$root/.cache/duckdb"
if [ ! -f "$duck/lib/libduckdb.so" ] || [ ! -f "$duck/include/duckdb.h" ]; then
  echo "setup: fetching DuckDB 1.4.4 (npm pack)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @duckdb/node-bindings-linux-x64@1.4.4-r.4 duckdb@1.4.4 >/dev/null)
  mkdir -p "$duck/lib" "$duck/include"
  tar -xzf "$tmp"/duckdb-node-bindings-linux-x64-1.4.4-r.4.tgz -C "$tmp" package/libduckdb.so
  cp "$tmp/package/libduckdb.so" "$duck/lib/"
  tar -xzf "$tmp"/duckdb-1.4.4.tgz -C "$tmp" package/src/duckdb/src/include/duckdb.h
  cp "$tmp/package/src/duckdb/src/include/duckdb.h" "$duck/include/"
  rm -rf "$tmp"
fi

# Web front-end packages.
if [ -f web/package.json ]; then
  if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    echo "setup: installing web packages (npm ci)"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

# The lake tests' independent Parquet reader (hyparquet, pure JavaScript): tests/lake.
if [ -f tests/lake/package.json ]; then
  if [ ! -d tests/lake/node_modules ] || [ tests/lake/package-lock.json -nt tests/lake/node_modules/.package-lock.json ]; then
    echo "setup: installing the lake tests' npm packages (npm ci)"
    (cd tests/lake && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
