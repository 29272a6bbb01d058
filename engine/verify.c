/* `ehcd verify`: the event log is the truth, so every case's events are replayed through the
 * machine under the workflow the case pinned, and the stored projection (stage, status, version),
 * its deadlines, its SEN2 codes and its SEN2 records (the plan's details, its placements and the
 * child's needs, sql/0027) are compared with the replay. Each difference is printed; none
 * is repaired here. An operator's tool: blocking libpq, every authority visible. */
#include "ehc/verify.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ehc/store.h"

static PGresult *exec_params(PGconn *conn, const char *sql, int n, const char *const *params)
{
    return PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
}

typedef struct verify_ctx {
    PGconn *conn;
    const ehc_definitions *defs;
    FILE *out;
    long differences;
    const char *case_id;
    const char *reference;
} verify_ctx;

static void diff(verify_ctx *v, const char *what, const char *stored, const char *replayed)
{
    v->differences++;
    fprintf(v->out, "case %s (%s): %s: stored %s, replay gives %s\n", v->case_id, v->reference, what, stored,
            replayed);
}

static void check_deadlines(verify_ctx *v, const ehc_workflow *wf, const ehc_case_state *st)
{
    const char *params[1] = {v->case_id};
    PGresult *r =
        exec_params(v->conn,
                    "SELECT deadline_key, instance_key, due_on, status, coalesce(settled_on::text, ''), "
                    "exception_applies FROM deadlines WHERE case_id = $1::bigint",
                    1, params);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        diff(v, "deadlines", "unreadable", PQresultErrorMessage(r));
        PQclear(r);
        return;
    }
    int rows = PQntuples(r);
    bool *seen = calloc((size_t)rows + 1, sizeof *seen);
    for (size_t i = 0; i < st->deadline_count; i++) {
        const ehc_deadline_instance *n = &st->deadlines[i];
        /* a clock that ran again (each year's review clocks) is one row, its latest run: the
         * store upserts it by (deadline, key) */
        bool rerun = false;
        for (size_t k = i + 1; k < st->deadline_count && !rerun; k++)
            rerun = st->deadlines[k].deadline == n->deadline && strcmp(st->deadlines[k].key, n->key) == 0;
        if (rerun) continue;
        const char *key = ehc_workflow_deadline(wf, n->deadline)->id;
        char due[EHC_DATE_ISO_SIZE], settled[EHC_DATE_ISO_SIZE] = "", what[200];
        ehc_date_format_iso(n->due_on, due);
        if (n->status != EHC_DEADLINE_OPEN) ehc_date_format_iso(n->settled_on, settled);
        snprintf(what, sizeof what, "deadline %s%s%s", key, *n->key ? "/" : "", n->key);
        int row = -1;
        for (int j = 0; j < rows; j++)
            if (strcmp(PQgetvalue(r, j, 0), key) == 0 && strcmp(PQgetvalue(r, j, 1), n->key) == 0) row = j;
        if (row < 0) {
            diff(v, what, "missing", due);
            continue;
        }
        seen[row] = true;
        if (strcmp(PQgetvalue(r, row, 2), due) != 0) diff(v, what, PQgetvalue(r, row, 2), due);
        const char *status = ehc_deadline_status_name(n->status);
        if (strcmp(PQgetvalue(r, row, 3), status) != 0) diff(v, what, PQgetvalue(r, row, 3), status);
        if (strcmp(PQgetvalue(r, row, 4), settled) != 0) diff(v, what, PQgetvalue(r, row, 4), settled);
        const char *exc = n->exception != EHC_WF_NONE ? "t" : "f";
        if (strcmp(PQgetvalue(r, row, 5), exc) != 0)
            diff(v, what, *PQgetvalue(r, row, 5) == 't' ? "exception applies" : "no exception",
                 *exc == 't' ? "exception applies" : "no exception");
    }
    for (int j = 0; j < rows; j++) {
        if (seen[j]) continue;
        /* a deadline the versions the case moved to no longer have: kept, cancelled, for the record */
        size_t gone;
        if (ehc_workflow_find_deadline(wf, PQgetvalue(r, j, 0), &gone) != 0 &&
            strcmp(PQgetvalue(r, j, 3), "cancelled") == 0)
            continue;
        char what[200];
        snprintf(what, sizeof what, "deadline %s/%s", PQgetvalue(r, j, 0), PQgetvalue(r, j, 1));
        diff(v, what, PQgetvalue(r, j, 2), "no such deadline");
    }
    free(seen);
    PQclear(r);
}

static void check_reports(verify_ctx *v, const ehc_case_state *st)
{
    const char *params[1] = {v->case_id};
    PGresult *r = exec_params(v->conn, "SELECT item, value FROM case_report_codes WHERE case_id = $1::bigint",
                              1, params);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return;
    }
    int rows = PQntuples(r);
    for (size_t i = 0; i < st->report_count; i++) {
        const char *stored = "missing";
        for (int j = 0; j < rows; j++)
            if (strcmp(PQgetvalue(r, j, 0), st->reports[i].item) == 0) stored = PQgetvalue(r, j, 1);
        if (strcmp(stored, st->reports[i].value) != 0) {
            char what[96];
            snprintf(what, sizeof what, "SEN2 %s", st->reports[i].item);
            diff(v, what, stored, st->reports[i].value);
        }
    }
    if ((size_t)rows > st->report_count) diff(v, "SEN2 codes", "more codes", "fewer codes");
    PQclear(r);
}

/* A JSON value as text for comparing the replay with what PostgreSQL stored: the replay writes a
 * placement's rank as text and the table keeps a number; a date is the same text on both sides. */
static void value_text(const cJSON *x, char *out, size_t size)
{
    if (!x)
        snprintf(out, size, "missing");
    else if (cJSON_IsNull(x))
        snprintf(out, size, "null");
    else if (cJSON_IsBool(x))
        snprintf(out, size, "%s", cJSON_IsTrue(x) ? "true" : "false");
    else if (cJSON_IsNumber(x))
        snprintf(out, size, "%.0f", x->valuedouble);
    else if (cJSON_IsString(x))
        snprintf(out, size, "%s", x->valuestring);
    else
        snprintf(out, size, "(a value of another kind)");
}

/* Every field the replay gives for one record, against the stored row (NULL: no row). */
static void compare_record(verify_ctx *v, const char *what, const cJSON *stored, const cJSON *replayed)
{
    if (!stored || cJSON_IsNull(stored) || !replayed || cJSON_IsNull(replayed)) {
        bool has_stored = stored && !cJSON_IsNull(stored), has_replayed = replayed && !cJSON_IsNull(replayed);
        if (has_stored != has_replayed)
            diff(v, what, has_stored ? "a row" : "none", has_replayed ? "a row" : "none");
        return;
    }
    const cJSON *field;
    cJSON_ArrayForEach(field, replayed)
    {
        char want[128], got[128], name[160];
        value_text(field, want, sizeof want);
        value_text(cJSON_GetObjectItemCaseSensitive(stored, field->string), got, sizeof got);
        if (strcmp(want, got) == 0) continue;
        snprintf(name, sizeof name, "%s %s", what, field->string);
        diff(v, name, got, want);
    }
}

static const cJSON *placement_of(const cJSON *list, const char *key)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, list)
    {
        const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "placement_key"));
        if (k && strcmp(k, key) == 0) return p;
    }
    return NULL;
}

/* The SEN2 records as the store writes them from the standing events (sql/0027): the plan's details
 * and each placement by its key, field by field; the child's needs as this case recorded them, unless a
 * later case of the same child recorded the child's needs since (they are the child's, one list). */
static void check_sen2_records(verify_ctx *v, const ehc_workflow *wf, const ehc_case_state *st)
{
    const char *params[1] = {v->case_id};
    PGresult *r = exec_params(
        v->conn,
        "SELECT (SELECT jsonb_build_object('start_on', p.start_on, 'residential', p.residential, "
        "'work_based', "
        "p.work_based, 'personal_budget', p.personal_budget, 'organised_arrangements', "
        "p.organised_arrangements, "
        "'direct_payments', p.direct_payments, 'cease_on', p.cease_on, 'cease_reason', p.cease_reason, "
        "'recorded_seq', p.recorded_seq) FROM plans p WHERE p.case_id = $1::bigint), "
        "coalesce((SELECT jsonb_agg(jsonb_build_object('placement_key', pl.placement_key, 'rank', pl.rank, "
        "'urn', "
        "pl.urn, 'ukprn', pl.ukprn, 'sen_setting', pl.sen_setting, 'sen_unit', pl.sen_unit, "
        "'resourced_provision', pl.resourced_provision, 'start_on', pl.start_on, 'end_on', pl.end_on, "
        "'recorded_seq', pl.recorded_seq)) FROM placements pl WHERE pl.case_id = $1::bigint), '[]'), "
        "coalesce((SELECT jsonb_agg(jsonb_build_object('rank', n.rank, 'sen_type', n.sen_type) ORDER BY "
        "n.rank) "
        "FROM child_needs n WHERE n.case_id = $1::bigint), '[]'), "
        "EXISTS (SELECT 1 FROM child_needs n JOIN cases c ON c.child_id = n.child_id "
        "WHERE c.id = $1::bigint AND n.case_id IS DISTINCT FROM $1::bigint)",
        1, params);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        diff(v, "SEN2 records", "unreadable", "rows to compare");
        PQclear(r);
        return;
    }
    cJSON *replay = ehc_store_projection_json(wf, st);
    cJSON *plan = PQgetisnull(r, 0, 0) ? NULL : cJSON_Parse(PQgetvalue(r, 0, 0));
    cJSON *placements = cJSON_Parse(PQgetvalue(r, 0, 1));
    cJSON *needs = cJSON_Parse(PQgetvalue(r, 0, 2));
    bool needs_elsewhere = PQgetvalue(r, 0, 3)[0] == 't';
    PQclear(r);

    compare_record(v, "SEN2 plan", plan, cJSON_GetObjectItemCaseSensitive(replay, "sen2_plan"));
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(replay, "sen2_placements"), *p;
    char what[128];
    cJSON_ArrayForEach(p, want)
    {
        const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "placement_key"));
        snprintf(what, sizeof what, "SEN2 placement %s", key ? key : "?");
        compare_record(v, what, key ? placement_of(placements, key) : NULL, p);
    }
    cJSON_ArrayForEach(p, placements)
    {
        const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "placement_key"));
        if (key && !placement_of(want, key)) {
            snprintf(what, sizeof what, "SEN2 placement %s", key);
            diff(v, what, "a row", "none");
        }
    }
    const cJSON *want_needs = cJSON_GetObjectItemCaseSensitive(replay, "sen2_needs");
    int n_want = cJSON_GetArraySize(want_needs), n_got = cJSON_GetArraySize(needs);
    if (n_got == 0 && n_want > 0 && needs_elsewhere) {
        /* a later case of the child recorded the child's needs: they are checked with that case */
    } else if (n_got != n_want) {
        char got[16], exp[16];
        snprintf(got, sizeof got, "%d", n_got);
        snprintf(exp, sizeof exp, "%d", n_want);
        diff(v, "SEN2 needs", got, exp);
    } else {
        for (int i = 0; i < n_want; i++) {
            snprintf(what, sizeof what, "SEN2 need %d", i + 1);
            compare_record(v, what, cJSON_GetArrayItem(needs, i), cJSON_GetArrayItem(want_needs, i));
        }
    }
    cJSON_Delete(plan);
    cJSON_Delete(placements);
    cJSON_Delete(needs);
    cJSON_Delete(replay);
}

static void verify_case(verify_ctx *v, PGresult *cases, int row)
{
    v->case_id = PQgetvalue(cases, row, 0);
    v->reference = PQgetvalue(cases, row, 1);
    const char *wf_hash = PQgetvalue(cases, row, 2);
    const ehc_workflow *wf;
    const ehc_calendar_set *cals;
    if (ehc_definitions_pinned(v->defs, wf_hash, PQgetvalue(cases, row, 7), &wf, &cals) != 0) {
        diff(v, "workflow", wf_hash, "a version this ehcd does not hold");
        return;
    }
    ehc_case_state st;
    ehc_machine_error err;
    if (ehc_store_replay(wf, cals, PQgetvalue(cases, row, 6), &st, &err) != 0) {
        diff(v, "event log", "recorded events", err.message);
        return;
    }
    const ehc_wf_stage *stage = ehc_workflow_stage(wf, st.stage);
    if (strcmp(PQgetvalue(cases, row, 3), stage->id) != 0)
        diff(v, "stage", PQgetvalue(cases, row, 3), stage->id);
    const char *status = stage->final ? "closed" : "open";
    if (strcmp(PQgetvalue(cases, row, 4), status) != 0) diff(v, "status", PQgetvalue(cases, row, 4), status);
    char version[16];
    snprintf(version, sizeof version, "%zu", st.event_count);
    if (strcmp(PQgetvalue(cases, row, 5), version) != 0)
        diff(v, "version", PQgetvalue(cases, row, 5), version);
    check_deadlines(v, wf, &st);
    check_reports(v, &st);
    check_sen2_records(v, wf, &st);
    ehc_case_state_free(&st);
}

int ehc_verify_run(PGconn *conn, const ehc_definitions *defs, FILE *out, long *cases_checked,
                   long *differences)
{
    verify_ctx v = {.conn = conn, .defs = defs, .out = out};
    *cases_checked = 0;
    /* the verifier reads every authority: bind the session to all of them */
    PGresult *r =
        PQexec(conn, "SELECT set_config('ehc.authority_ids', coalesce((SELECT string_agg(id::text, ',') "
                     "FROM local_authorities), ''), false)");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(out, "cannot read the authorities: %s", PQresultErrorMessage(r));
        PQclear(r);
        return EHC_EIO;
    }
    PQclear(r);
    const char *sql = "SELECT c.id, c.reference, c.workflow_sha256, c.stage, c.status, c.version, "
                      "coalesce((SELECT jsonb_agg(jsonb_build_object('seq', e.seq, 'type', e.type, "
                      "'role', e.actor_role, 'effective_on', e.effective_on, "
                      "'recorded_on', (e.recorded_at AT TIME ZONE 'Europe/London')::date, "
                      "'fields', coalesce(e.payload -> 'fields', '{}'::jsonb)) ORDER BY e.seq) "
                      "FROM case_events e WHERE e.case_id = c.id), '[]'::jsonb), c.calendar_sha256 "
                      "FROM cases c WHERE c.id > $1::bigint ORDER BY c.id LIMIT 500";
    char last[24] = "0";
    for (;;) {
        const char *params[1] = {last};
        r = exec_params(conn, sql, 1, params);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            fprintf(out, "cannot read cases: %s", PQresultErrorMessage(r));
            PQclear(r);
            return EHC_EIO;
        }
        int n = PQntuples(r);
        for (int i = 0; i < n; i++)
            verify_case(&v, r, i);
        *cases_checked += n;
        if (n > 0) snprintf(last, sizeof last, "%s", PQgetvalue(r, n - 1, 0));
        PQclear(r);
        if (n < 500) break;
    }
    *differences = v.differences;
    return 0;
}
