#!/usr/bin/env bash
# The embedded PostgreSQL 15 cluster.
#   pg.sh start DATADIR PORT   initdb on first use, start on 127.0.0.1:PORT, create database migsbyu
#   pg.sh stop DATADIR         fast shutdown (clients disconnected, data kept)
#   pg.sh url PORT             print the connection URL
#   pg.sh free-port            print a free loopback TCP port
# The cluster's superuser is `migsbyu`, trusted on loopback only. PostgreSQL refuses to run as root,
# so as root the server's commands run as the `postgres` user on a folder it owns.
set -euo pipefail
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}

as_server_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Ports are picked below the kernel's ephemeral range (ip_local_port_range), from which outgoing
# connections take their local ports: a port inside it can be taken by a client socket between
# this check and the server's bind.
free_port() {
  local p low=32768
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [ "$low" -gt 12000 ] 2>/dev/null || low=32768
  for _ in $(seq 1 200); do
    p=$((10000 + RANDOM % (low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "pg.sh: no free port found" >&2; return 1
}

start() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "pg.sh: the postgres user cannot reach $dir (a parent folder is closed to it);" \
           "open it with chmod o+x on the parents, or run as a normal user" >&2
      exit 1
    fi
  fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_server_user "$bin/initdb" -D "$dir" -U migsbyu --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$dir/postgresql.conf" <<CONF
# MigsbyU
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = logical
max_replication_slots = 32
max_wal_senders = 32
max_connections = 200
shared_buffers = 256MB
logical_decoding_work_mem = 64MB
wal_sender_timeout = 60s
track_commit_timestamp = on
CONF
    if [ "${MIGSBYU_PG_FAST:-0}" = 1 ]; then
      # Throwaway test clusters: no durability across an OS crash, which tests never cause.
      printf "fsync = off\nfull_page_writes = off\n" >>"$dir/postgresql.conf"
    fi
  fi
  if as_server_user "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    echo "pg.sh: cluster in $dir already running" >&2
  else
    if ! as_server_user "$bin/pg_ctl" -D "$dir" -o "-p $port" -l "$dir/server.log" -w -t 60 start >/dev/null; then
      echo "pg.sh: the server did not start on port $port; the end of $dir/server.log:" >&2
      tail -n 5 "$dir/server.log" >&2 || true
      exit 1
    fi
  fi
  local psql=(psql -X -q -h 127.0.0.1 -p "$port" -U migsbyu)
  if [ "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'migsbyu'")" != 1 ]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE migsbyu"
  fi
}

stop() {
  local dir=$1
  [ -f "$dir/PG_VERSION" ] || return 0
  as_server_user "$bin/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start "$2" "$3" ;;
  stop) stop "$2" ;;
  url) echo "postgresql://migsbyu@127.0.0.1:$2/migsbyu" ;;
  free-port) free_port ;;
  *) echo "usage: pg.sh start DATADIR PORT | stop DATADIR | url PORT | free-port" >&2; exit 2 ;;
esac
