#!/usr/bin/env bash
# bench/cdc: our connector against the server's own decoding rate, on a throwaway cluster.
#
# Slots (one for an untimed warm-up pass, one per consumer and run) are created at the same LSN
# before the workload, so every consumer decodes exactly the same WAL: a transaction of BIG_ROWS
# rows, then SINGLE_TXNS single-row transactions through pgbench, then one marker transaction
# (a single-row insert) that records the WAL insert position P before its commit. Parts:
#   sinks: one after the other, pg_recvlogical -f /dev/null --endpos END (pgoutput,
#     proto_version 1): the limit; migsbyu cdc --sink file:... --stop-at END, protocol 1, and
#     protocol 2 with streaming; the Kafka sink on librdkafka's mock cluster. Printed: events/s of
#     each, the ratio ours ÷ pg_recvlogical, peak RSS (GNU time's max RSS).
#   lake: end to end into the lake, LAKE_RUNS times alternating with pg_recvlogical: `migsbyu cdc
#     --sink lake:DIR` (protocol 2, streaming) timed from its start until the latest manifest of
#     DIR has commit_lsn ≥ P, i.e. the lake has committed the marker and so every transaction
#     before it (polled from outside, as a reader of the lake sees it). Printed: each run, the
#     median and range of each side and of the ratio.
#   inc: the incremental snapshot of the table (about BIG_ROWS + SINGLE_TXNS rows) while pgbench
#     writes into it at INC_TPS transactions/s, beside COPY ... TO STDOUT of the same table.
#   huge: the peak RSS of our connector while it streams one HUGE_ROWS-row transaction.
#
# Usage: bench/cdc/run.sh BUILD_DIR   (env: BIG_ROWS=500000 SINGLE_TXNS=200000 HUGE_ROWS=5000000
#        LAKE_RUNS=3 INC_TPS=1000 PARTS="sinks lake inc huge"; quick run: BIG_ROWS=50000
#        SINGLE_TXNS=20000 HUGE_ROWS=500000)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
bin=$build/migsbyu
BIG_ROWS=${BIG_ROWS:-500000}
SINGLE_TXNS=${SINGLE_TXNS:-200000}
HUGE_ROWS=${HUGE_ROWS:-5000000}
LAKE_RUNS=${LAKE_RUNS:-3}
PARTS=${PARTS:-sinks lake inc huge}
part() { [[ " $PARTS " == *" $1 "* ]]; }
[ -x "$bin" ] || { echo "bench/cdc: $bin not built" >&2; exit 1; }

work=$(mktemp -d /tmp/migsbyu-bench-cdc.XXXXXX)
chmod 711 "$work"  # the server's user (postgres, when run as root) must reach $work/pg
port=$(scripts/pg.sh free-port)
cleanup() { scripts/pg.sh stop "$work/pg" || true; rm -rf "$work"; }
trap cleanup EXIT
MIGSBYU_PG_FAST=1 scripts/pg.sh start "$work/pg" "$port" >/dev/null
url=$(scripts/pg.sh url "$port" "$work/pg")
export PGPASSFILE=$(scripts/pg.sh passfile "$work/pg")
psql=(psql -X -q -v ON_ERROR_STOP=1 "$url")

"${psql[@]}" <<SQL
\o /dev/null
CREATE TABLE bench (id bigint PRIMARY KEY, name text, amount numeric(12,2), at timestamptz,
                    flag boolean);
ALTER TABLE bench REPLICA IDENTITY FULL;
CREATE PUBLICATION bench FOR TABLE bench;
SELECT 1 FROM pg_create_logical_replication_slot('warmup', 'pgoutput');
SELECT 1 FROM pg_create_logical_replication_slot('limit_slot', 'pgoutput');
SELECT 1 FROM pg_create_logical_replication_slot('ours_v1', 'pgoutput');
SELECT 1 FROM pg_create_logical_replication_slot('ours_v2', 'pgoutput');
SELECT 1 FROM pg_create_logical_replication_slot('ours_kafka', 'pgoutput');
SQL
if part lake; then
  for i in $(seq 1 "$LAKE_RUNS"); do
    "${psql[@]}" -c "SELECT 1 FROM pg_create_logical_replication_slot('lake_limit_$i', 'pgoutput')" \
      -c "SELECT 1 FROM pg_create_logical_replication_slot('lake_ours_$i', 'pgoutput')" >/dev/null
  done
fi

echo "workload: 1 transaction of $BIG_ROWS rows, then $SINGLE_TXNS single-row transactions"
"${psql[@]}" -c "INSERT INTO bench SELECT i, 'name ' || i, i * 1.25, now(), i % 2 = 0
                 FROM generate_series(1, $BIG_ROWS) i"
cat >"$work/single.sql" <<'SQL'
\set id random(1000000000, 9000000000000)
INSERT INTO bench VALUES (:id, 'single', 1.00, now(), true) ON CONFLICT DO NOTHING;
SQL
clients=4
pgbench -n -h 127.0.0.1 -p "$port" -U migsbyu -c $clients -j 2 -t $((SINGLE_TXNS / clients)) \
  -f "$work/single.sql" migsbyu >/dev/null
# The marker: the last transaction. Its commit record lies after P, every other one's before it.
marker=$("${psql[@]}" -tA <<'SQL'
BEGIN;
INSERT INTO bench VALUES (0, 'marker', 0.00, now(), false);
SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint;
COMMIT;
SQL
)
end=$("${psql[@]}" -tAc "SELECT pg_current_wal_lsn()")
events=$("${psql[@]}" -tAc "SELECT count(*) FROM bench")
echo "end LSN $end, $events events, marker before commit at P=$marker"

# run NAME COMMAND...: prints "seconds max_rss_kb cpu_seconds" (cpu: user + system).
run() {
  local name=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/$name.time" "$@" >"$work/$name.log" 2>&1 || {
    echo "bench/cdc: $name failed:" >&2; cat "$work/$name.log" >&2; exit 1; }
  tail -1 "$work/$name.time" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }'
}

rate() { awk -v n="$events" -v t="$1" 'BEGIN { printf "%.0f", n / (t > 0 ? t : 0.01) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / (a > 0 ? a : 0.01) }'; }

# A first, untimed pass reads the WAL into the page cache, so no timed consumer pays for it.
run warmup pg_recvlogical -d "$url" -S warmup --start -f /dev/null -o proto_version=1 \
  -o publication_names=bench --endpos="$end" --no-loop -s 1 >/dev/null
if part sinks; then
read -r t_limit rss_limit cpu_limit < <(run limit pg_recvlogical -d "$url" -S limit_slot --start -f /dev/null \
  -o proto_version=1 -o publication_names=bench --endpos="$end" --no-loop -s 1)
read -r t_v1 rss_v1 cpu_v1 < <(run ours_v1 "$bin" --log-level warn cdc --database-url "$url" \
  --slot ours_v1 --publication bench --table bench --no-snapshot --protocol 1 --status-interval-ms 100 \
  --stop-at "$end" --sink "file:$work/v1.jsonl")
read -r t_v2 rss_v2 cpu_v2 < <(run ours_v2 "$bin" --log-level warn cdc --database-url "$url" \
  --slot ours_v2 --publication bench --table bench --no-snapshot --protocol 2 --status-interval-ms 100 \
  --stop-at "$end" --spool-dir "$work" --sink "file:$work/v2.jsonl")
# The Kafka sink, into librdkafka's mock cluster in a process of its own (acks=all, idempotent).
cmake --build "$build" --target mock_kafka >/dev/null
coproc MOCK { exec "$build/bench/cdc/mock_kafka" 1 migsbyu.public.bench 2>"$work/mock_kafka.log"; }
read -r bootstraps <&"${MOCK[0]}"
read -r t_kafka rss_kafka cpu_kafka < <(run ours_kafka "$bin" --log-level warn cdc --database-url "$url" \
  --slot ours_kafka --publication bench --table bench --no-snapshot --protocol 2 --status-interval-ms 100 \
  --stop-at "$end" --spool-dir "$work" --sink "kafka:$bootstraps")
kill "$MOCK_PID" 2>/dev/null || true
lines_v1=$(grep -c '"type":"change"' "$work/v1.jsonl")
lines_v2=$(grep -c '"type":"change"' "$work/v2.jsonl")
[ "$lines_v1" = "$events" ] && [ "$lines_v2" = "$events" ] || {
  echo "bench/cdc: expected $events events, file sink holds $lines_v1 (v1) and $lines_v2 (v2)" >&2
  exit 1; }

printf "\n%-46s %10s %12s %8s %14s %12s\n" "consumer ($events events)" "seconds" "events/s" "ratio" "peak RSS (MB)" "client CPU s"
printf "%-46s %10s %12s %8s %14d %12s\n" "pg_recvlogical -f /dev/null (limit)" "$t_limit" "$(rate "$t_limit")" "1.00" $((rss_limit / 1024)) "$cpu_limit"
printf "%-46s %10s %12s %8s %14d %12s\n" "migsbyu cdc → file sink, protocol 1" "$t_v1" "$(rate "$t_v1")" "$(ratio "$t_v1" "$t_limit")" $((rss_v1 / 1024)) "$cpu_v1"
printf "%-46s %10s %12s %8s %14d %12s\n" "migsbyu cdc → file sink, protocol 2 streaming" "$t_v2" "$(rate "$t_v2")" "$(ratio "$t_v2" "$t_limit")" $((rss_v2 / 1024)) "$cpu_v2"
printf "%-46s %10s %12s %8s %14d %12s\n" "migsbyu cdc → Kafka sink (mock cluster)" "$t_kafka" "$(rate "$t_kafka")" "$(ratio "$t_kafka" "$t_limit")" $((rss_kafka / 1024)) "$cpu_kafka"
echo "(ratio = ours ÷ pg_recvlogical in events/s; target ≥ 0.9 into the file sink)"
rm -f "$work/v1.jsonl" "$work/v2.jsonl"
fi

if part lake; then
  # lake_commit_lsn DIR: commit_lsn of DIR's latest manifest (empty while there is none). The
  # manifest is renamed into place whole; a top-level key is indented by one space.
  lake_commit_lsn() {
    local f
    f=$(ls "$1/_manifests" 2>/dev/null | tail -1) || true
    [ -n "$f" ] && sed -n 's/^ "commit_lsn": \([0-9]*\),\?$/\1/p' "$1/_manifests/$f" 2>/dev/null
    return 0
  }
  now() { date +%s.%N; }
  marker_next=$(printf '%X/%X' $(( (marker + 1) >> 32 )) $(( (marker + 1) & 0xFFFFFFFF )))
  # lake_run I: prints "seconds peak_rss_kb cpu_seconds" of migsbyu cdc from its start until the
  # lake in $work/lake_I has committed the marker (RSS and CPU read at that moment). It stops by
  # itself once it has flushed past P (--stop-at), after the timed span.
  lake_run() {
    local i=$1 dir=$work/lake_$1 t0 pid lsn rss
    t0=$(now)
    "$bin" --log-level warn cdc --database-url "$url" --slot "lake_ours_$i" --publication bench \
      --table bench --no-snapshot --protocol 2 --status-interval-ms 100 --spool-dir "$work" \
      --stop-at "$marker_next" --sink "lake:$dir" >"$work/lake_$i.log" 2>&1 &
    pid=$!
    local deadline=$(( $(date +%s) + 600 ))
    while :; do
      lsn=$(lake_commit_lsn "$dir" | head -1)
      [ -n "$lsn" ] && [ "$lsn" -ge "$marker" ] && break
      if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -gt "$deadline" ]; then
        echo "bench/cdc: lake run $i did not commit the marker (P=$marker, lake at ${lsn:-none}):" >&2
        kill "$pid" 2>/dev/null || true; cat "$work/lake_$i.log" >&2; exit 1
      fi
      sleep 0.01  # the poll's period: the figure overstates ours by at most this (plus a poll)
    done
    local t1; t1=$(now)
    rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    local cpu  # user + system, in clock ticks (fields 14 and 15; the name field has no space)
    cpu=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$pid/stat" 2>/dev/null || echo 0)
    wait "$pid" || { echo "bench/cdc: lake run $i failed:" >&2; cat "$work/lake_$i.log" >&2; exit 1; }
    awk -v a="$t0" -v b="$t1" -v r="${rss:-0}" -v c="${cpu:-0}" 'BEGIN { printf "%.2f %d %s\n", b - a, r, c }'
  }
  # stats V...: "median (min–max)" of the values.
  stats() { printf "%s\n" "$@" | sort -g | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.2f (%.2f–%.2f)", m, v[1], v[NR] }'; }

  printf "\n%-4s %-44s %10s %12s %8s %14s %12s\n" "run" "end to end into the lake ($events events)" "seconds" "events/s" "ratio" "peak RSS (MB)" "client CPU s"
  limits=(); ours=(); ratios=()
  for i in $(seq 1 "$LAKE_RUNS"); do
    read -r t_l rss_l cpu_l < <(run "lake_limit_$i" pg_recvlogical -d "$url" -S "lake_limit_$i" --start \
      -f /dev/null -o proto_version=1 -o publication_names=bench --endpos="$end" --no-loop -s 1)
    read -r t_o rss_o cpu_o < <(lake_run "$i") || true
    [ -n "${t_l:-}" ] && [ -n "${t_o:-}" ] || exit 1  # the failing run has said why
    rows=$("$bin" --log-level warn lake query --lake-dir "$work/lake_$i" --format csv \
      "SELECT count(*) AS n FROM bench_changes" | tail -1 | tr -d "\r")
    [ "$rows" = "$events" ] || {
      echo "bench/cdc: lake run $i holds $rows changes, expected $events" >&2; exit 1; }
    rm -rf "$work/lake_$i"
    r=$(ratio "$t_o" "$t_l")
    limits+=("$t_l"); ours+=("$t_o"); ratios+=("$r")
    printf "%-4s %-44s %10s %12s %8s %14d %12s\n" "$i" "pg_recvlogical -f /dev/null (limit)" "$t_l" "$(rate "$t_l")" "1.00" $((rss_l / 1024)) "$cpu_l"
    printf "%-4s %-44s %10s %12s %8s %14d %12s\n" "$i" "migsbyu cdc → lake, until it has committed" "$t_o" "$(rate "$t_o")" "$r" $((rss_o / 1024)) "$cpu_o"
  done
  echo "median (range) of $LAKE_RUNS alternating runs: pg_recvlogical $(stats "${limits[@]}") s," \
    "migsbyu cdc → lake $(stats "${ours[@]}") s, ratio $(stats "${ratios[@]}")"
  echo "(ratio = ours ÷ pg_recvlogical in events/s, end to end into the lake; target ≥ 0.9)"
fi
if part inc; then
# The incremental snapshot (docs/CDC.md "Incremental snapshots") of the whole table, while
# pgbench updates and inserts in it at INC_TPS transactions/s, beside COPY of the same table.
INC_TPS=${INC_TPS:-1000}
rows=$("${psql[@]}" -tAc "SELECT count(*) FROM bench")
copy_start=$(date +%s.%N)
"${psql[@]}" -c "COPY bench TO STDOUT" >/dev/null
copy_s=$(awk -v a="$copy_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
"${psql[@]}" -c "SELECT 1 FROM pg_create_logical_replication_slot('ours_inc', 'pgoutput')" >/dev/null
cat >"$work/writer.sql" <<'SQL'
\set id random(1, 400000)
\set new random(10000000000000, 90000000000000)
BEGIN;
UPDATE bench SET amount = amount + 1 WHERE id = :id;
INSERT INTO bench VALUES (:new, 'during', 2.00, now(), false) ON CONFLICT DO NOTHING;
COMMIT;
SQL
"$bin" --log-level info cdc --database-url "$url" --slot ours_inc --publication bench --table bench \
  --no-snapshot --status-interval-ms 100 --spool-dir "$work" --snapshot-chunk-rows 8192 \
  --sink "file:$work/inc.jsonl" >"$work/inc.log" 2>&1 &
inc_pid=$!
pgbench -n -h 127.0.0.1 -p "$port" -U migsbyu -c 2 -j 1 -R "$INC_TPS" -T 600 -f "$work/writer.sql" \
  migsbyu >"$work/writer.log" 2>&1 &
writer_pid=$!
writer_start=$(date +%s.%N)
sleep 2  # the writer's stream under way before the snapshot starts
inc_start=$(date +%s.%N)
"$bin" --log-level warn cdc snapshot --database-url "$url" --table bench >/dev/null
for _ in $(seq 1 6000); do grep -q "incremental snapshot of public.bench done" "$work/inc.log" && break; sleep 0.1; done
inc_s=$(awk -v a="$inc_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
kill "$writer_pid" 2>/dev/null || true; wait "$writer_pid" 2>/dev/null || true
writer_s=$(awk -v a="$writer_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
sleep 1  # the last of the writer's changes delivered
kill "$inc_pid"; wait "$inc_pid" || true
grep -q "incremental snapshot of public.bench done" "$work/inc.log" || {
  echo "bench/cdc: the incremental snapshot did not finish" >&2; tail "$work/inc.log" >&2; exit 1; }
streamed=$(grep '"type":"change"' "$work/inc.jsonl" | grep -vc '"op":"r"' || true)
read_rows=$(grep -c '"op":"r"' "$work/inc.jsonl" || true)
printf "\n%-46s %10s %12s %8s\n" "reading the table ($rows rows)" "seconds" "rows/s" "ratio"
printf "%-46s %10s %12s %8s\n" "COPY bench TO STDOUT (reference)" "$copy_s" \
  "$(awk -v n="$rows" -v t="$copy_s" 'BEGIN { printf "%.0f", n / t }')" "1.00"
printf "%-46s %10s %12s %8s\n" "incremental snapshot, 8192-row chunks" "$inc_s" \
  "$(awk -v n="$rows" -v t="$inc_s" 'BEGIN { printf "%.0f", n / t }')" \
  "$(awk -v a="$copy_s" -v b="$inc_s" 'BEGIN { printf "%.2f", a / b }')"
echo "(while it ran: $streamed streamed changes delivered, $(awk -v n="$streamed" -v t="$writer_s" 'BEGIN { printf "%.0f", n / t }') changes/s over the writer's $writer_s s, pgbench at $INC_TPS tx/s of 2 changes; $read_rows rows read by chunks; target ratio ≥ 0.5)"
rm -f "$work/inc.jsonl"

fi
if part huge; then
# Peak memory while streaming one huge transaction (protocol 2, spooled).
"${psql[@]}" -c "SELECT 1 FROM pg_create_logical_replication_slot('huge', 'pgoutput')" >/dev/null
"${psql[@]}" -c "INSERT INTO bench SELECT i, 'huge ' || i, i * 0.5, now(), false
                 FROM generate_series(-$HUGE_ROWS, -1) i"
end=$("${psql[@]}" -tAc "SELECT pg_current_wal_lsn()")
read -r t_huge rss_huge cpu_huge < <(run huge "$bin" --log-level warn cdc --database-url "$url" \
  --slot huge --publication bench --table bench --no-snapshot --status-interval-ms 100 --stop-at "$end" \
  --spool-dir "$work" --sink "file:$work/huge.jsonl")
lines=$(grep -c '"type":"change"' "$work/huge.jsonl")
printf "\n%-46s %10s %12s %14s\n" "one transaction of $HUGE_ROWS rows" "seconds" "events/s" "peak RSS (MB)"
printf "%-46s %10s %12s %14d\n" "migsbyu cdc → file sink ($lines events)" "$t_huge" \
  "$(awk -v n="$lines" -v t="$t_huge" 'BEGIN { printf "%.0f", n / (t > 0 ? t : 0.01) }')" $((rss_huge / 1024))
echo "(limit: peak RSS ≤ 256 MB)"
fi
