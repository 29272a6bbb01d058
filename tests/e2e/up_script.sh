#!/usr/bin/env bash
# README command 1, as a user runs it: `./ehc up` creates a private cluster on first run, serves
# /readyz with 200, prints the first administrator's password once, stops ehcd and the cluster on
# a signal, and a second run reuses the data (no second administrator, no new password).
set -uo pipefail
root=$1
work=$(mktemp -d /tmp/ehc-up-test.XXXXXX)
chmod 755 "$work"
port=$(for p in $(seq 18080 18999); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; break; }; done)
export EHC_DATA_DIR=$work/data EHCD_LISTEN=127.0.0.1:$port
unset DATABASE_URL
fail=0
pass=0
check() { if eval "$2"; then pass=$((pass+1)); else echo "FAIL: $1" >&2; fail=$((fail+1)); fi; }

run_once() { # run_once LOG: start ./ehc up, wait for readiness, stop it with SIGTERM
  local log=$1 ready=0
  "$root/ehc" up >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >"$work/readyz.json" 2>/dev/null; then ready=1; break; fi
    kill -0 $pid 2>/dev/null || break
    sleep 0.5
  done
  check "ehcd became ready (log $log)" "[ $ready -eq 1 ]"
  check "/readyz says ready" "grep -q '\"status\":\"ready\"' '$work/readyz.json'"
  check "the browser interface is served at /" "curl -fsS http://127.0.0.1:$port/ | grep -q 'EHC needs assessments'"
  check "with GOV.UK Frontend's stylesheet" "curl -fsS -o /dev/null http://127.0.0.1:$port/assets/govuk/govuk-frontend.min.css"
  kill -TERM $pid
  wait $pid
  local rc=$?
  check "./ehc up exits 0 after SIGTERM (got $rc)" "[ $rc -eq 0 ]"
  [ -z "${DATABASE_URL:-}" ] && check "PostgreSQL is stopped" "[ ! -f '$EHC_DATA_DIR/data/postmaster.pid' ]"
  check "ehcd no longer listens" "! curl -fsS http://127.0.0.1:$port/healthz >/dev/null 2>&1"
}

run_once "$work/first.log"
check "first run prints the administrator password" "grep -q 'password: ' '$work/first.log'"
check "first run creates the cluster" "grep -q 'first run: creating a private PostgreSQL cluster' '$work/first.log'"
run_once "$work/second.log"
check "second run reuses the cluster" "! grep -q 'first run: creating' '$work/second.log'"
check "second run prints no password" "! grep -q 'password: ' '$work/second.log'"
check "second run finds the administrator from the first" "grep -q 'administrator credential shown on the first run' '$work/second.log'"

# With DATABASE_URL set, ./ehc up uses that database and starts no cluster of its own.
if [ -z "${EHC_TEST_DATABASE_URL:-}" ]; then
  echo "FAIL: EHC_TEST_DATABASE_URL is not set (run through ./ehc test)" >&2; fail=$((fail+1))
else
  db=ehc_up_external_$$
  /usr/lib/postgresql/15/bin/psql -X -q "$EHC_TEST_DATABASE_URL" -c "CREATE DATABASE $db" || fail=$((fail+1))
  export DATABASE_URL="$EHC_TEST_DATABASE_URL dbname=$db"
  export EHC_DATA_DIR=$work/unused
  run_once "$work/external.log"
  check "with DATABASE_URL no cluster is created" "[ ! -e '$work/unused' ]"
  check "with DATABASE_URL the run says so" "grep -q 'using the database in DATABASE_URL' '$work/external.log'"
  check "the external database got the schema" "[ \"\$(/usr/lib/postgresql/15/bin/psql -X -tA '$DATABASE_URL' -c 'SELECT count(*) FROM users')\" = 1 ]"
  unset DATABASE_URL
fi

if [ $fail -ne 0 ]; then
  for f in "$work"/*.log; do echo "--- $f"; cat "$f"; done
fi
rm -rf "$work"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
