#!/usr/bin/env bash
# The case API under load, through ehcd's HTTP server, authentication, pool and store, against
# pgbench -N on the same cluster in the same run, at the same concurrency and for the same time:
#   reads:    wrk, 64 connections, GET /api/v1/cases/{id} (API token, the case document and its
#             access-log line in one transaction)
#   writes:   wrk, 64 connections, POST /api/v1/cases/{id}/events with expected_version, each thread
#             keeping its own pool of cases (bench/api_events.lua), notification_sent in stage 1
#   baseline: pgbench -N, 64 clients (three statements and one commit per transaction)
# Checks afterwards that every 201 is a row in case_events (no acknowledged write lost) and that
# there was no answer but 201 to a write. Run: ./ehc bench api  (BENCH_SECONDS, BENCH_CONNECTIONS,
# BENCH_CASES to change the defaults)
set -euo pipefail
: "${EHC_TEST_DATABASE_URL:?run through ./ehc bench api}" "${EHC_BENCH_EHCD:?}" "${PGBIN:?}"
root=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${BENCH_SECONDS:-12}
CONNS=${BENCH_CONNECTIONS:-64}
CASES=${BENCH_CASES:-512}
THREADS=2
db=ehc_bench_api
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql "$EHC_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" \
  -c "DROP DATABASE IF EXISTS ehc_bench_api_pgbench" -c "CREATE DATABASE ehc_bench_api_pgbench"
url="$EHC_TEST_DATABASE_URL dbname=$db"
echo "synchronous_commit: $(psql "$url" -tA -c 'SHOW synchronous_commit')   fsync: $(psql "$url" -tA -c 'SHOW fsync')"
work=$(mktemp -d /tmp/ehc-bench-api.XXXXXX)
chmod 755 "$work"

# an authority, a team, an officer with an API token
DATABASE_URL=$url "$EHC_BENCH_EHCD" migrate >/dev/null
token="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
sha=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
psql "$url" <<SQL
INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham');
INSERT INTO teams (authority_id, name) SELECT id, 'North' FROM local_authorities;
INSERT INTO users (username, display_name) VALUES ('bench', 'Bench Officer');
INSERT INTO api_tokens (user_id, name, token_sha256) SELECT id, 'bench', '$sha' FROM users;
INSERT INTO role_grants (user_id, role, authority_id, team_id)
  SELECT u.id, 'officer', t.authority_id, t.id FROM users u, teams t;
SQL
team=$(psql "$url" -tA -c "SELECT id FROM teams")

port=$(for p in $(seq 18100 18999); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; break; }; done)
DATABASE_URL=$url EHCD_LISTEN=127.0.0.1:$port EHCD_LOG_LEVEL=warn "$EHC_BENCH_EHCD" serve 2>"$work/ehcd.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do curl -fsS "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$base/readyz" >/dev/null || { echo "FAIL: ehcd not ready after 30 s" >&2; cat "$work/ehcd.log" >&2; exit 1; }

# the cases: opened through the API, a request received a week ago, one new child each
today=$(TZ=Europe/London date +%F)
opened_on=$(TZ=Europe/London date -d "$today - 7 days" +%F)
echo "opening $CASES cases through POST /api/v1/cases"
open_one() {
  local out
  out=$(curl -sS -X POST "$base/api/v1/cases" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"team_id\": $team, \"confirm_new_child\": true, \"child\": {\"forename\": \"Bench\", \"surname\": \"Child$1\", \"date_of_birth\": \"2019-04-02\"}, \"request\": {\"effective_on\": \"$opened_on\", \"fields\": {\"requested_by\": \"parent\", \"channel\": \"email\", \"received_at\": \"${opened_on}T10:30\"}}}")
  sed -n 's/^{"id":\([0-9]*\),.*/\1/p' <<<"$out"
  grep -q '^{"id":' <<<"$out" || echo "opening case $1: $out" >&2
}
export -f open_one
export base token team opened_on
seq 1 "$CASES" | xargs -P 8 -I{} bash -c 'open_one {}' >"$work/ids"
[ "$(wc -l <"$work/ids")" -eq "$CASES" ] || { echo "FAIL: opened $(wc -l <"$work/ids") of $CASES cases" >&2; exit 1; }
export BENCH_TOKEN=$token BENCH_IDS_FILE=$work/ids BENCH_THREADS=$THREADS BENCH_EFFECTIVE_ON=$today
export BENCH_OUT_FILE=$work/events.out

wrk_figures() { # rps p99 non2xx socket_errors
  awk '/^Requests\/sec/ {rps=$2} $1 == "99%" {p99=$2} /Non-2xx/ {bad=$NF}
       /Socket errors/ {err=$0} END {print rps, p99, (bad == "" ? 0 : bad), (err == "" ? "none" : "some")}' <<<"$1"
}

echo "reads: wrk -t$THREADS -c$CONNS -d${DURATION}s GET /api/v1/cases/{id} over $CASES cases"
reads_out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$root/bench/api_reads.lua" "$base")
read -r read_rps read_p99 read_bad read_err <<<"$(wrk_figures "$reads_out")"
[ "$read_bad" -eq 0 ] || { echo "FAIL: $read_bad non-2xx answers to reads" >&2; echo "$reads_out" >&2; exit 1; }
[ "$read_err" = none ] || { echo "FAIL: socket errors during reads" >&2; echo "$reads_out" >&2; exit 1; }

rows_before=$(psql "$url" -tA -c "SELECT count(*) FROM case_events")
echo "writes: wrk -t$THREADS -c$CONNS -d${DURATION}s POST /api/v1/cases/{id}/events (notification_sent)"
writes_out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$root/bench/api_events.lua" "$base")
read -r write_rps write_p99 write_bad write_err <<<"$(wrk_figures "$writes_out")"
sleep 1 # writes in flight when wrk stopped finish (their answers are never read)

# Every answer, and every case's version as the client last saw it against the database's.
created=$(awk '$1 == "status" && $2 == 201 {n += $3} END {print n + 0}' "$BENCH_OUT_FILE")
others=$(awk '$1 == "status" && $2 != 201 {printf "%s%s x %s", sep, $2, $3; sep = ", "}' "$BENCH_OUT_FILE")
lost=$(awk '$1 == "lost" {n += $2} END {print n + 0}' "$BENCH_OUT_FILE")
awk '$1 == "case" {print $2 "," $3}' "$BENCH_OUT_FILE" >"$work/acked.csv"
chmod 644 "$work/acked.csv"
# (one statement: the rows and the versions are counted in the same snapshot)
read -r rows_after behind ahead inflight_committed <<<"$(psql "$url" -tA -F' ' <<SQL
CREATE TEMP TABLE acked (case_id bigint PRIMARY KEY, version int);
\copy acked FROM '$work/acked.csv' WITH (FORMAT csv)
SELECT (SELECT count(*) FROM case_events),
       count(*) FILTER (WHERE c.version < a.version), count(*) FILTER (WHERE c.version > a.version + 1),
       coalesce(sum(c.version - a.version) FILTER (WHERE c.version > a.version), 0)
FROM acked a JOIN cases c ON c.id = a.case_id;
SQL
)"
new_rows=$((rows_after - rows_before))
echo "  201 answers: $created; new case_events rows: $new_rows ($inflight_committed of them writes in flight when wrk stopped, committed with their answer unread)"
fail=0
[ -z "$others" ] || { echo "FAIL: answers other than 201: $others" >&2; fail=1; }
[ "$lost" -eq 0 ] || { echo "FAIL: $lost answers without their X-Request-ID" >&2; fail=1; }
[ "$behind" -eq 0 ] || { echo "FAIL: $behind cases are behind the version their last 201 gave (an acknowledged write lost)" >&2; fail=1; }
[ "$ahead" -eq 0 ] || { echo "FAIL: $ahead cases are more than one write ahead of the client" >&2; fail=1; }
[ "$new_rows" -eq $((created + inflight_committed)) ] ||
  { echo "FAIL: $new_rows new rows for $created answers 201 and $inflight_committed writes in flight" >&2; fail=1; }
[ "$inflight_committed" -le "$CONNS" ] || { echo "FAIL: more writes in flight than connections" >&2; fail=1; }
[ "$write_err" = none ] || { echo "FAIL: socket errors during writes" >&2; echo "$writes_out" >&2; fail=1; }
[ "$fail" -eq 0 ] || exit 1
events_per_case=$(psql "$url" -tA -c "SELECT round(avg(version)) FROM cases")

echo "baseline: pgbench -i -s 10; pgbench -N -c $CONNS -j $THREADS -T $DURATION"
"$PGBIN/pgbench" -q -i -s 10 "$EHC_TEST_DATABASE_URL dbname=ehc_bench_api_pgbench" >/dev/null 2>&1
pg_out=$("$PGBIN/pgbench" -n -N -c "$CONNS" -j "$THREADS" -T "$DURATION" "$EHC_TEST_DATABASE_URL dbname=ehc_bench_api_pgbench" 2>&1)
pg_tps=$(awk '/^tps = / {print $3; exit}' <<<"$pg_out")
pg_lat=$(awk '/^latency average/ {print $4 " " $5}' <<<"$pg_out")

printf '\n| %s connections, %s s each | per second | latency | ratio to pgbench -N |\n|---|---|---|---|\n' "$CONNS" "$DURATION"
awk -v a="$read_rps" -v b="$pg_tps" -v p="$read_p99" -v n="$CASES" 'BEGIN {
  printf "| ehcd GET /api/v1/cases/{id} (%d cases, with access-log line) | %.0f | p99 %s | %.2f |\n", n, a, p, a / b }'
awk -v a="$write_rps" -v b="$pg_tps" -v p="$write_p99" -v e="$events_per_case" 'BEGIN {
  printf "| ehcd POST /api/v1/cases/{id}/events (201, ~%d events per case at the end) | %.0f | p99 %s | %.2f |\n", e, a, p, a / b }'
printf '| pgbench -N, %s clients | %.0f | avg %s | 1 |\n' "$CONNS" "$pg_tps" "$pg_lat"
