#!/usr/bin/env bash
# The embedded PostgreSQL 15 cluster.
#   pg.sh start DATADIR PORT   initdb on first use, start on 127.0.0.1:PORT, create database migsbyu
#   pg.sh stop DATADIR         fast shutdown (clients disconnected, data kept)
#   pg.sh url PORT [DATADIR]   print the connection URL (with the cluster's password file)
#   pg.sh passfile DATADIR     print the path of the cluster's password file
#   pg.sh free-port            print a free loopback TCP port
# The cluster's superuser is `migsbyu`. It signs in with scram-sha-256 and a random password that
# initdb sets and that is kept in DATADIR.pgpass (libpq's password-file format, mode 0600, owned by
# whoever runs this script): clients find it through the URL's `passfile` parameter or PGPASSFILE.
# The server listens on 127.0.0.1 only, without a Unix socket. A cluster made by an older version
# with `trust` is moved to scram-sha-256 on its next start.
# PostgreSQL refuses to run as root, so as root the server's commands run as the `postgres` user
# on a folder it owns.
set -euo pipefail
umask 077
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

# The password file of the cluster in DATADIR: beside it, never inside (the server's user owns the
# data folder; the password belongs to the clients).
passfile_of() { echo "$(dirname "$1")/$(basename "$1").pgpass"; }

new_password() { head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40; }

# Writes the password file for PORT (libpq ignores one that others can read).
write_passfile() {
  local file=$1 port=$2 password=$3
  (umask 077; printf '127.0.0.1:%s:*:migsbyu:%s\n' "$port" "$password" >"$file.tmp")
  mv -f "$file.tmp" "$file"
}

password_in() { sed -n '1s/^[^:]*:[^:]*:[^:]*:[^:]*://p' "$1"; }

start() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local passfile
  passfile=$(passfile_of "$dir")
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "pg.sh: the postgres user cannot reach $dir (a parent folder is closed to it);" \
           "open it with chmod o+x on the parents, or run as a normal user" >&2
      exit 1
    fi
  fi
  local migrate_from_trust=0
  if [ ! -f "$dir/PG_VERSION" ]; then
    local password pwfile
    password=$(new_password)
    # initdb reads the password from a file of the server's user, removed at once.
    pwfile=$(mktemp /tmp/migsbyu-pw.XXXXXX)
    printf '%s\n' "$password" >"$pwfile"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$pwfile"; fi
    as_server_user "$bin/initdb" -D "$dir" -U migsbyu --pwfile="$pwfile" \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    write_passfile "$passfile" "$port" "$password"
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
  elif grep -Eq '^[^#]*[[:space:]]trust([[:space:]]|$)' "$dir/pg_hba.conf" 2>/dev/null; then
    migrate_from_trust=1
  elif [ ! -f "$passfile" ]; then
    echo "pg.sh: $passfile, the password of the cluster in $dir, is missing; restore it, or set a" \
         "new one (stop the cluster, add 'local all all trust' on top of $dir/pg_hba.conf," \
         "start it, run ALTER ROLE migsbyu PASSWORD, remove the line)" >&2
    exit 1
  else
    # The port may differ from the last start's.
    write_passfile "$passfile" "$port" "$(password_in "$passfile")"
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
  if [ "$migrate_from_trust" = 1 ]; then
    # A cluster initialised with `trust`: give the superuser a password, then require it.
    local password
    password=$(new_password)
    echo "ALTER ROLE migsbyu PASSWORD :'pw'" |
      psql -X -q -h 127.0.0.1 -p "$port" -U migsbyu -d postgres -v ON_ERROR_STOP=1 -v pw="$password" >/dev/null
    write_passfile "$passfile" "$port" "$password"
    as_server_user sed -i -E 's/^([^#]*[[:space:]])trust([[:space:]]*)$/\1scram-sha-256\2/' "$dir/pg_hba.conf"
    as_server_user "$bin/pg_ctl" -D "$dir" reload >/dev/null
    echo "pg.sh: $dir now requires scram-sha-256; its password is in $passfile" >&2
  fi
  local psql=(env PGPASSFILE="$passfile" psql -X -q -h 127.0.0.1 -p "$port" -U migsbyu)
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
  url)
    if [ -n "${3:-}" ]; then
      echo "postgresql://migsbyu@127.0.0.1:$2/migsbyu?passfile=$(passfile_of "$(cd "$3" && pwd)")"
    else
      echo "postgresql://migsbyu@127.0.0.1:$2/migsbyu"
    fi ;;
  passfile) passfile_of "$(cd "$2" && pwd)" ;;
  free-port) free_port ;;
  *) echo "usage: pg.sh start DATADIR PORT | stop DATADIR | url PORT [DATADIR] | passfile DATADIR | free-port" >&2; exit 2 ;;
esac
