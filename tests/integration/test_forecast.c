/* The breach forecast (sql/0025_breach_forecast.sql) is calibrated: on a generated history, cases
 * forecast to miss 20 weeks with a chance of about p do miss in about that share, and the cases that
 * will miss are forecast higher than those that will not.
 *
 * The history: 700 requests whose plans were issued, each step taking a pseudo-random time (decision
 * 20-60 days, assessment 30-80, draft 3-20 after the advice, final plan 15-45 after the draft), so
 * that about half are late. Then 500 cases from the same process, each stopped at a random day before
 * its plan was issued, are the open cases: the test knows when each will be issued, the forecast
 * does not. Rows are written directly (the estimator reads only clocks and events), in SQL with a
 * fixed seed so every run is the same. */
#include <libpq-fe.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "testlib.h"

static char *db_url;
static PGconn *db;

static int setup(void **state)
{
    (void)state;
    db = ehc_test_migrated_database("ehc_forecast", &db_url);
    ehc_test_exec(
        db, "INSERT INTO local_authorities (dfe_code, name) VALUES ('353', 'Oldham'), ('357', 'Tameside')");
    ehc_test_exec(db, "INSERT INTO teams (authority_id, name) SELECT id, 'North' FROM local_authorities");
    ehc_test_exec(db, "SELECT setseed(0.42)");
    /* step times of 1,200 cases: 700 issued (history), 500 still open at day `stop` */
    ehc_test_exec(db,
                  "CREATE TABLE gen AS SELECT g AS n, g > 700 AS open, 20 + floor(random() * 41)::int AS dd, "
                  "30 + floor(random() * 51)::int AS ad, 3 + floor(random() * 18)::int AS rd, "
                  "15 + floor(random() * 31)::int AS fd, random() AS cut FROM generate_series(1, 1200) g");
    ehc_test_exec(db,
                  "ALTER TABLE gen ADD COLUMN decided int, ADD COLUMN advised int, ADD COLUMN drafted int, "
                  "ADD COLUMN issued int, ADD COLUMN stop int, ADD COLUMN case_id bigint");
    ehc_test_exec(
        db,
        "UPDATE gen SET decided = dd, advised = dd + ad, drafted = dd + ad + rd, issued = dd + ad + rd + fd");
    ehc_test_exec(db, "UPDATE gen SET stop = floor(cut * issued)::int WHERE open");
    /* history cases end before 2026-06-01; open ones are at day `stop` on 2026-06-01 */
    ehc_test_exec(db,
                  "INSERT INTO children (authority_id, forename, surname, date_of_birth) SELECT a.id, 'Gen', "
                  "'Case' || g.n, '2016-01-01' FROM gen g, local_authorities a WHERE a.dfe_code = '353' "
                  "ORDER BY g.n");
    ehc_test_exec(
        db,
        "WITH made AS (INSERT INTO cases (authority_id, reference, child_id, workflow_id, workflow_sha256, "
        "calendar_sha256, stage, status, team_id, opened_on, version) "
        "SELECT a.id, 'GEN-' || g.n, ch.id, 'ehc-needs-assessment', repeat('a', 64), repeat('b', 64), "
        "CASE WHEN NOT g.open THEN 'issued' WHEN g.stop >= g.drafted THEN 'draft' WHEN g.stop >= g.advised "
        "THEN "
        "'deciding_to_issue' WHEN g.stop >= g.decided THEN 'assessing' ELSE 'request' END, 'open', t.id, "
        "CASE WHEN g.open THEN date '2026-06-01' - g.stop ELSE date '2024-01-01' + (g.n * 3) %% 400 END, 1 "
        "FROM gen g JOIN children ch ON ch.surname = 'Case' || g.n, local_authorities a JOIN teams t ON "
        "t.authority_id = a.id WHERE a.dfe_code = '353' RETURNING id, reference) "
        "UPDATE gen SET case_id = made.id FROM made WHERE made.reference = 'GEN-' || gen.n");
    ehc_test_exec(
        db, "INSERT INTO deadlines (authority_id, case_id, deadline_key, kind, basis, origin_on, due_on, "
            "status, settled_on, settled_by_seq, set_by_seq) SELECT c.authority_id, c.id, "
            "'final_plan_due', 'statutory', 'SEND Regulations 2014, reg 13(2)', c.opened_on, "
            "c.opened_on + 140, CASE WHEN g.open THEN 'open' WHEN g.issued <= 140 THEN 'met' ELSE "
            "'met_late' END, CASE WHEN g.open THEN NULL ELSE c.opened_on + g.issued END, CASE WHEN "
            "g.open THEN NULL ELSE 5 END, 1 FROM gen g JOIN cases c ON c.id = g.case_id");
    /* the steps taken by each case's stop day (all of them for the history) */
    ehc_test_exec(
        db, "INSERT INTO case_events (authority_id, case_id, seq, type, actor_role, effective_on, payload, "
            "workflow_sha256) SELECT c.authority_id, c.id, s.seq, s.type, 'officer', c.opened_on + s.day, "
            "s.payload, repeat('a', 64) FROM gen g JOIN cases c ON c.id = g.case_id, LATERAL (VALUES "
            "(1, 'request_received', 0, '{}'::jsonb), (2, 'decision_to_assess', g.decided, "
            "'{\"fields\": {\"decision\": \"yes\"}}'::jsonb), (3, 'advice_complete', g.advised, "
            "'{}'::jsonb), (4, 'draft_served', g.drafted, '{}'::jsonb), (5, 'final_plan_issued', g.issued, "
            "'{}'::jsonb)) AS s (seq, type, day, payload) WHERE NOT g.open OR s.day <= g.stop");
    ehc_test_exec(db, "ANALYZE");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    PQfinish(db);
    free(db_url);
    return 0;
}

static cJSON *forecast(const char *authorities, const char *filter)
{
    const char *params[2] = {authorities, filter};
    PGresult *r =
        PQexecParams(db, "SELECT ehc_breach_forecast($1, $2::jsonb)", 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("forecast: %s", PQresultErrorMessage(r));
    cJSON *out = cJSON_Parse(PQgetvalue(r, 0, 0));
    PQclear(r);
    assert_non_null(out);
    return out;
}

static void test_forecast_chances_match_what_happens(void **state)
{
    (void)state;
    char ids[32];
    snprintf(ids, sizeof ids, "%ld",
             ehc_test_scalar(db, "SELECT id FROM local_authorities WHERE dfe_code = '353'"));
    int64_t t0 = ehc_test_now_ms();
    cJSON *list = forecast(ids, "{\"today\": \"2026-06-01\", \"limit\": 5000}");
    int64_t took = ehc_test_now_ms() - t0;
    assert_int_equal(cJSON_GetArraySize(list), 500); /* every open case, none of the history */
    /* bins of forecast chance: the share that will be late is about the chance forecast */
    double sum_p[5] = {0}, late[5] = {0}, n[5] = {0};
    double p_late = 0, n_late = 0, p_ontime = 0, n_ontime = 0, brier = 0, base = 0;
    long total_late = ehc_test_scalar(db, "SELECT count(*) FROM gen WHERE open AND issued > 140");
    double base_rate = total_late / 500.0;
    const cJSON *row;
    double previous = 2.0;
    cJSON_ArrayForEach(row, list)
    {
        const cJSON *chance = cJSON_GetObjectItem(row, "chance_of_missing_20_weeks");
        assert_true(cJSON_IsNumber(chance));
        double p = chance->valuedouble;
        assert_true(p <= previous + 1e-9); /* most at risk first */
        previous = p;
        long id = (long)cJSON_GetObjectItem(row, "case_id")->valuedouble;
        bool will_be_late =
            ehc_test_scalar(db, "SELECT (issued > 140)::int FROM gen WHERE case_id = %ld", id) == 1;
        int b = p >= 1.0 ? 4 : (int)(p * 5);
        sum_p[b] += p;
        late[b] += will_be_late;
        n[b]++;
        if (will_be_late) {
            p_late += p;
            n_late++;
        } else {
            p_ontime += p;
            n_ontime++;
        }
        brier += (p - will_be_late) * (p - will_be_late);
        base += (base_rate - will_be_late) * (base_rate - will_be_late);
    }
    int bins_checked = 0;
    for (int b = 0; b < 5; b++) {
        fprintf(stderr, "chance %.1f-%.1f: %3.0f cases, mean forecast %.2f, late %.2f\n", b / 5.0,
                (b + 1) / 5.0, n[b], n[b] ? sum_p[b] / n[b] : 0, n[b] ? late[b] / n[b] : 0);
        if (n[b] < 30) continue;
        bins_checked++;
        assert_true(fabs(sum_p[b] / n[b] - late[b] / n[b]) <= 0.12);
    }
    assert_true(bins_checked >= 3);
    /* it tells the cases apart: those that will be late are forecast well above those that will not,
     * and it beats forecasting the same base rate for every case */
    fprintf(stderr, "mean forecast: late %.2f, on time %.2f; Brier %.3f vs base rate %.3f; %lld ms\n",
            p_late / n_late, p_ontime / n_ontime, brier / 500, base / 500, (long long)took);
    assert_true(p_late / n_late - p_ontime / n_ontime >= 0.15);
    assert_true(brier < 0.85 * base);
    cJSON_Delete(list);
}

static void test_forecast_says_when_there_is_too_little_history(void **state)
{
    (void)state;
    /* another authority with one open case and no history of its own */
    ehc_test_exec(db,
                  "INSERT INTO children (authority_id, forename, surname, date_of_birth) SELECT id, 'Only', "
                  "'One', '2016-01-01' FROM local_authorities WHERE dfe_code = '357'");
    ehc_test_exec(
        db, "INSERT INTO cases (authority_id, reference, child_id, workflow_id, workflow_sha256, "
            "calendar_sha256, stage, team_id, opened_on, version) SELECT a.id, 'ONLY-1', ch.id, "
            "'ehc-needs-assessment', repeat('a', 64), repeat('b', 64), 'request', t.id, '2026-05-01', 1 "
            "FROM local_authorities a JOIN teams t ON t.authority_id = a.id JOIN children ch ON "
            "ch.authority_id = a.id WHERE a.dfe_code = '357'");
    ehc_test_exec(
        db, "INSERT INTO deadlines (authority_id, case_id, deadline_key, kind, basis, origin_on, due_on, "
            "set_by_seq) SELECT authority_id, id, 'final_plan_due', 'statutory', 'SEND Regulations 2014, "
            "reg 13(2)', opened_on, opened_on + 140, 1 FROM cases WHERE reference = 'ONLY-1'");
    char ids[32];
    snprintf(ids, sizeof ids, "%ld",
             ehc_test_scalar(db, "SELECT id FROM local_authorities WHERE dfe_code = '357'"));
    cJSON *list = forecast(ids, "{\"today\": \"2026-06-01\"}");
    assert_int_equal(cJSON_GetArraySize(list), 1);
    const cJSON *only = cJSON_GetArrayItem(list, 0);
    /* Tameside's forecast never borrows Oldham's history */
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(only, "chance_of_missing_20_weeks")));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(only, "basis")), "too little history");
    assert_int_equal((long)cJSON_GetObjectItem(only, "days_gone")->valuedouble, 31);
    cJSON_Delete(list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forecast_chances_match_what_happens),
        cmocka_unit_test(test_forecast_says_when_there_is_too_little_history),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
