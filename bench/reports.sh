#!/usr/bin/env bash
# Reports over a large authority's year: 25,000 requests (BENCH_CASES) with their clocks, events and
# advice requests, generated in SQL on a throwaway cluster, then each report timed as ehcd runs it
# (one function call, bound to the authority, as the application role under row-level security):
#   timeliness for the year, by authority and by month (sql/0022_timeliness.sql)
#   the breach forecast for every open request (sql/0025_breach_forecast.sql)
#   the SEN2 return's requests module (each request with the codes the workflow sets), its active plans (5a), placement detail (5b) and SEN need
#   modules, its validation, for the census of the following January (sql/0026_sen2.sql, 0028), each
#   plan issued with its plan record, placement and needs
#   the whole return as one XML document as a service manager downloads it: GET
#   /api/v1/reports/sen2?format=xml through ehcd (the rows of sql/0045, the XML written by
#   api/sen2_xml.c, the access log), timed by curl from the request to the last byte
# against a baseline from the same run: a plain SELECT reading the same deadline rows the reports
# read (joined to their cases), so the ratio says what the report costs beyond reading its data.
# Run: ./ehc bench reports
set -euo pipefail
: "${EHC_TEST_DATABASE_URL:?run through ./ehc bench reports}" "${EHC_BENCH_EHCD:?}" "${PGBIN:?}"
CASES=${BENCH_CASES:-25000}
RUNS=${BENCH_RUNS:-5}
db=ehc_bench_reports
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql "$EHC_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
url="$EHC_TEST_DATABASE_URL dbname=$db"
DATABASE_URL=$url "$EHC_BENCH_EHCD" migrate >/dev/null
echo "generating $CASES requests of 2025 with their clocks, events and advice requests"
psql "$url" >/dev/null <<SQL
SELECT setseed(0.2025);
INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham');
INSERT INTO teams (authority_id, name) SELECT id, 'Team ' || t FROM local_authorities, generate_series(1, 8) t;
CREATE TEMP TABLE gen AS
  SELECT g AS n, date '2025-01-01' + (g % 365) AS received, 20 + floor(random() * 41)::int AS decided,
         random() < 0.25 AS refused, 30 + floor(random() * 51)::int AS assessed, 3 + floor(random() * 18)::int AS drafted,
         15 + floor(random() * 31)::int AS finalised, random() < 0.05 AS exception,
         (ARRAY['medical', 'educational_psychologist', 'social_care'])[1 + g % 3] AS adviser,
         25 + floor(random() * 30)::int AS advice_days
  FROM generate_series(1, $CASES) g;
INSERT INTO children (authority_id, forename, surname, date_of_birth, sex)
  SELECT a.id, 'Bench', 'Child' || g.n, date '2012-01-01' + g.n % 3000, (ARRAY['F', 'M'])[1 + g.n % 2]
  FROM gen g, local_authorities a;
INSERT INTO cases (authority_id, reference, child_id, workflow_id, workflow_sha256, calendar_sha256, stage, team_id,
                   opened_on, version)
  SELECT ch.authority_id, 'B-' || g.n, ch.id, 'ehc-needs-assessment', repeat('a', 64), repeat('b', 64), 'issued',
         (SELECT min(t.id) FROM teams t) + g.n % 8, g.received, 5
  FROM gen g JOIN children ch ON ch.surname = 'Child' || g.n;
CREATE TEMP TABLE made AS SELECT c.id, g.* FROM gen g JOIN cases c ON c.reference = 'B-' || g.n;
-- the plan's clock is still open when its day is after the end of the year of the report
INSERT INTO deadlines (authority_id, case_id, deadline_key, kind, basis, origin_on, due_on, status, settled_on,
                       settled_by_seq, exception_applies, set_by_seq)
  SELECT 1, m.id, 'decision_due', 'statutory', 'SEND Regulations 2014, reg 5(1)', m.received, m.received + 42,
         CASE WHEN m.decided <= 42 THEN 'met' ELSE 'met_late' END, m.received + m.decided, 2, false, 1 FROM made m
  UNION ALL
  SELECT 1, m.id, 'final_plan_due', 'statutory', 'SEND Regulations 2014, reg 13(2)', m.received, m.received + 140,
         CASE WHEN m.received + m.decided + m.assessed + m.drafted + m.finalised > date '2025-12-31' THEN 'open'
              WHEN m.decided + m.assessed + m.drafted + m.finalised <= 140 THEN 'met' ELSE 'met_late' END,
         CASE WHEN m.received + m.decided + m.assessed + m.drafted + m.finalised > date '2025-12-31' THEN NULL
              ELSE m.received + m.decided + m.assessed + m.drafted + m.finalised END,
         CASE WHEN m.received + m.decided + m.assessed + m.drafted + m.finalised > date '2025-12-31' THEN NULL
              ELSE 5 END, m.exception, 1
  FROM made m WHERE NOT m.refused
  UNION ALL
  SELECT 1, m.id, 'advice_due', 'statutory', 'SEND Regulations 2014, reg 8(1)', m.received + m.decided,
         m.received + m.decided + 42, CASE WHEN m.advice_days <= 42 THEN 'met' ELSE 'met_late' END,
         m.received + m.decided + m.advice_days, 3, false, 2
  FROM made m WHERE NOT m.refused;
UPDATE deadlines SET instance_key = 'a' WHERE deadline_key = 'advice_due';
UPDATE cases c SET stage = 'draft' FROM deadlines d
  WHERE d.case_id = c.id AND d.deadline_key = 'final_plan_due' AND d.status = 'open';
INSERT INTO advice_requests (authority_id, case_id, request_key, adviser_type, sent_on, received_by_adviser_on, due_on,
                             returned_on, outcome)
  SELECT 1, m.id, 'a', m.adviser, m.received + m.decided, m.received + m.decided, m.received + m.decided + 42,
         m.received + m.decided + m.advice_days, 'returned' FROM made m WHERE NOT m.refused;
INSERT INTO case_events (authority_id, case_id, seq, type, actor_role, effective_on, payload, workflow_sha256)
  SELECT 1, m.id, s.seq, s.type, 'officer', m.received + s.day, s.payload, repeat('a', 64)
  FROM made m, LATERAL (VALUES (1, 'request_received', 0, '{}'::jsonb),
                               (2, 'decision_to_assess', m.decided,
                                jsonb_build_object('fields', jsonb_build_object('decision', CASE WHEN m.refused THEN 'no' ELSE 'yes' END))),
                               (3, 'advice_complete', m.decided + m.assessed, '{}'::jsonb),
                               (4, 'draft_served', m.decided + m.assessed + m.drafted, '{}'::jsonb),
                               (5, 'final_plan_issued', m.decided + m.assessed + m.drafted + m.finalised, '{}'::jsonb))
         AS s (seq, type, day, payload)
  WHERE (s.seq <= 2 OR NOT m.refused) AND m.received + s.day <= date '2025-12-31';
-- the SEN2 codes the workflow sets as the request is decided and the plan issued
INSERT INTO case_report_codes (authority_id, case_id, item, value, set_on, set_by_seq)
  SELECT 1, m.id, k.item, k.value, m.received + m.decided, 2
  FROM made m, LATERAL (VALUES ('RequestOutcome', CASE WHEN m.refused THEN 'N' ELSE 'Y' END),
                               ('RequestOutcomeDate', (m.received + m.decided)::text)) k (item, value)
  WHERE m.received + m.decided <= date '2025-12-31'
  UNION ALL
  SELECT 1, m.id, k.item, k.value, m.received + m.decided + m.assessed + m.drafted + m.finalised, 5
  FROM made m, LATERAL (VALUES ('AssessmentOutcome', 'Y'),
                               ('AssessmentOutcomeDate', (m.received + m.decided + m.assessed + m.drafted + m.finalised)::text),
                               ('Week20', CASE WHEN m.decided + m.assessed + m.drafted + m.finalised <= 140 THEN '1' ELSE '0' END))
         AS k (item, value)
  WHERE NOT m.refused AND m.received + m.decided + m.assessed + m.drafted + m.finalised <= date '2025-12-31';
-- each plan issued in the year with its SEN2 records, as the store projects them from the events
INSERT INTO plans (authority_id, case_id, start_on, personal_budget, recorded_seq)
  SELECT 1, m.id, m.received + m.decided + m.assessed + m.drafted + m.finalised, m.n % 4 = 0, 6 FROM made m
  WHERE NOT m.refused AND m.received + m.decided + m.assessed + m.drafted + m.finalised <= date '2025-12-31';
INSERT INTO placements (authority_id, case_id, placement_key, rank, urn, sen_setting, start_on, recorded_seq)
  SELECT 1, p.case_id, 'main', 1, CASE WHEN p.case_id % 10 <> 0 THEN (100000 + p.case_id % 900000)::text END,
         CASE WHEN p.case_id % 10 = 0 THEN 'EHE' END, p.start_on, 7 FROM plans p;
INSERT INTO child_needs (authority_id, child_id, rank, sen_type, case_id)
  SELECT 1, c.child_id, r, (ARRAY['ASD', 'SLCN', 'SEMH', 'MLD', 'SPLD'])[1 + (c.id + r) % 5], c.id
  FROM plans p JOIN cases c ON c.id = p.case_id, generate_series(1, 2) r WHERE r = 1 OR c.id % 3 = 0;
ANALYZE;
SQL
authority=$(psql "$url" -tA -c "SELECT id FROM local_authorities")
echo "cases: $(psql "$url" -tA -c 'SELECT count(*) FROM cases')   deadlines: $(psql "$url" -tA -c 'SELECT count(*) FROM deadlines')   events: $(psql "$url" -tA -c 'SELECT count(*) FROM case_events')   SEN2 codes: $(psql "$url" -tA -c 'SELECT count(*) FROM case_report_codes')"

# median of RUNS timings (ms) of one statement, as the application role (row-level security on)
time_ms() {
  local sql=$1 i out
  out=$(for i in $(seq 1 "$RUNS"); do
    psql "$url" -tA <<SQL | grep -E '^Time:' | sed -E 's/^Time: ([0-9.]+) ms.*/\1/'
SET ROLE ehc_app;
SELECT set_config('ehc.authority_ids', '$authority', false) \g /dev/null
\timing on
$sql
SQL
  done | sort -n)
  awk 'NR == 1 {a[NR] = $1} {a[NR] = $1} END {print a[int((NR + 1) / 2)]}' <<<"$out"
}
base=$(time_ms "SELECT count(*), sum(d.settled_on - d.origin_on) FROM deadlines d JOIN cases c ON c.id = d.case_id WHERE d.settled_on BETWEEN '2025-01-01' AND '2025-12-31' OR d.status = 'open';")
t_year=$(time_ms "SELECT length(ehc_timeliness('$authority', '{\"from\": \"2025-01-01\", \"to\": \"2025-12-31\"}')::text);")
t_month=$(time_ms "SELECT length(ehc_timeliness('$authority', '{\"from\": \"2025-01-01\", \"to\": \"2025-12-31\", \"by\": \"month\"}')::text);")
t_fore=$(time_ms "SELECT length(ehc_breach_forecast('$authority', '{\"today\": \"2025-12-31\", \"limit\": 5000}')::text);")
t_sen2=$(time_ms "SELECT count(*) FROM ehc_sen2_return('$authority', 2026, 'requests');")
t_active=$(time_ms "SELECT count(*) FROM ehc_sen2_return('$authority', 2026, 'active_plans');")
t_detail=$(time_ms "SELECT count(*) FROM ehc_sen2_return('$authority', 2026, 'placement_detail');")
t_need=$(time_ms "SELECT count(*) FROM ehc_sen2_return('$authority', 2026, 'sen_need');")
t_valid=$(time_ms "SELECT length(ehc_sen2_validation('$authority', 2026)::text);")

# the XML return through the API, as a service manager of the authority with an API token
token="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
sha=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
psql "$url" >/dev/null <<SQL
INSERT INTO users (username, display_name) VALUES ('bench-manager', 'Bench Manager');
INSERT INTO api_tokens (user_id, name, token_sha256) SELECT id, 'bench', '$sha' FROM users WHERE username = 'bench-manager';
INSERT INTO role_grants (user_id, role, authority_id) SELECT u.id, 'service_manager', $authority FROM users u
  WHERE u.username = 'bench-manager';
SQL
work=$(mktemp -d /tmp/ehc-bench-reports.XXXXXX)
port=$(for p in $(seq 18100 18999); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; break; }; done)
DATABASE_URL=$url EHCD_LISTEN=127.0.0.1:$port EHCD_LOG_LEVEL=error "$EHC_BENCH_EHCD" serve 2>"$work/ehcd.log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "FAIL: ehcd not ready" >&2; cat "$work/ehcd.log" >&2; exit 1; }
sleep 2 # the scheduler's start (it loads the generated deadlines) is not part of the report
xml_ms() {
  local i code
  for i in $(seq 1 "$RUNS"); do
    code=$(curl -sS -o "$work/sen2.xml" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $token" \
      "http://127.0.0.1:$port/api/v1/reports/sen2?year=2026&format=xml")
    [ "${code%% *}" = 200 ] && tail -c 32 "$work/sen2.xml" | grep -q '</Persons></Message>' ||
      { echo "FAIL: the XML return answered ${code%% *}" >&2; head -c 300 "$work/sen2.xml" >&2; exit 1; }
    awk -v s="${code##* }" 'BEGIN {printf "%.1f\n", s * 1000}'
  done | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
t_xml=$(xml_ms)
persons=$(grep -o '<Person>' "$work/sen2.xml" | wc -l)
echo "the XML return: $(wc -c <"$work/sen2.xml") bytes, $persons persons"
open_n=$(psql "$url" -tA -c "SELECT count(*) FROM deadlines WHERE deadline_key = 'final_plan_due' AND status = 'open'")
printf '\n| %s requests of one year, median of %s runs | ms | ratio to baseline |\n|---|---|---|\n' "$CASES" "$RUNS"
printf '| baseline: SELECT of the deadline rows the reports read, joined to their cases | %s | 1 |\n' "$base"
for row in "timeliness for the year, by authority:$t_year" "timeliness for the year, by month:$t_month" \
           "breach forecast for $open_n open requests:$t_fore" "SEN2 census 2026, module 2 (requests):$t_sen2" \
           "SEN2 census 2026, module 5a (active plans):$t_active" \
           "SEN2 census 2026, module 5b (placement detail):$t_detail" "SEN2 census 2026, SEN need:$t_need" \
           "SEN2 census 2026, validation:$t_valid" \
           "SEN2 census 2026, the whole return as XML through the API (curl, to the last byte):$t_xml"; do
  name=${row%:*} ms=${row##*:}
  printf '| %s | %s | %s |\n' "$name" "$ms" "$(awk -v a="$ms" -v b="$base" 'BEGIN {printf "%.1f", a / b}')"
done
