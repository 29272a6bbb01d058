/* The store: each command reads its case's snapshot (one round trip), replays the history through
 * the machine under the pinned workflow, applies the new event as of today, and joins the queue of
 * commands to commit. Whenever a commit slot is free, everything queued (up to max_batch) goes to
 * PostgreSQL as one ehc_apply_batch call (sql/0006): one transaction, one round trip, one fsync for
 * the lot, each command in its own subtransaction. Results are completed on the loop, never from
 * inside the call that started the command. */
#include "ehc/store.h"

#include <assert.h>
#include <stdarg.h>
#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ehc/log.h"

typedef struct store_cmd {
    ehc_store *store;
    ehc_store_cb cb;
    void *data;
    ehc_store_result result;
    char *json;                /* the command for ehc_apply_batch, once the machine accepted it */
    ehc_case_state next_state; /* the state after this command, cached if it commits */
    bool has_next;
    /* the command writes no deadline and resolves no alert: the scheduler has nothing to look at
     * again when it commits (no round trips to plan or refresh the case's deadlines) */
    bool schedule_unchanged;
    const ehc_workflow *wf;       /* the workflow `next` belongs to */
    const ehc_calendar_set *cals; /* and the calendars (the versions the case pinned) */
    int64_t authority_id;
    /* inputs kept until the snapshot arrives (record) */
    ehc_store_record_cmd record;
    char *type, *role, *fields_json, *idempotency_key;
    struct store_cmd *next;
} store_cmd;

typedef struct store_batch {
    ehc_store *store;
    store_cmd **cmds;
    size_t count;
} store_batch;

/* Recently written case states, so that the next command on a case skips the snapshot round trip
 * and the replay. An entry is used only when its version is the one the command expects, for the
 * same authority; the commit's version check in the database stays the arbiter, so a stale entry
 * can cost a conflict, never a wrong write. Fixed size, open addressing, replacement on collision. */
#define EHC_STORE_CACHE_SLOTS 4096

typedef struct cache_entry {
    int64_t case_id; /* 0: empty */
    int64_t authority_id;
    int32_t version;
    const ehc_workflow *wf;
    const ehc_calendar_set *cals;
    ehc_case_state state;
} cache_entry;

struct ehc_store {
    cache_entry *cache;
    uint64_t cache_hits, cache_misses;
    void (*commit_hook)(void *data, int64_t case_id);
    void *commit_hook_data;
    uv_loop_t *loop;
    ehc_pg_pool *pool;
    const ehc_definitions *defs;
    ehc_clock clock;
    ehc_store_options opts;
    store_cmd *queue_head, *queue_tail; /* accepted by the machine, waiting for a commit slot */
    size_t queued;
    int inflight;                     /* commits in flight */
    store_cmd *done_head, *done_tail; /* finished, callbacks not yet run */
    uv_idle_t completer;
    size_t pending; /* commands started and not yet called back */
    uint64_t commits, commands;
};

void ehc_store_options_default(ehc_store_options *opts)
{
    opts->max_batch = 128;
    opts->max_inflight = 0; /* 0: the pool's size, set in ehc_store_new by the caller's pool */
    opts->query_timeout_ms = 5000;
}

/* ---- the case-state cache -------------------------------------------------------------------- */

static cache_entry *cache_slot(ehc_store *store, int64_t case_id)
{
    uint64_t h = (uint64_t)case_id * 0x9E3779B97F4A7C15ull;
    return &store->cache[h >> 52]; /* 4096 slots: the top 12 bits */
}

static void cache_forget(ehc_store *store, int64_t case_id)
{
    cache_entry *e = cache_slot(store, case_id);
    if (e->case_id != case_id) return;
    ehc_case_state_free(&e->state);
    e->case_id = 0;
}

/* Takes ownership of *state. */
static void cache_put(ehc_store *store, int64_t case_id, int64_t authority_id, int32_t version,
                      const ehc_workflow *wf, const ehc_calendar_set *cals, ehc_case_state *state)
{
    cache_entry *e = cache_slot(store, case_id);
    if (e->case_id) ehc_case_state_free(&e->state);
    e->case_id = case_id;
    e->authority_id = authority_id;
    e->version = version;
    e->wf = wf;
    e->cals = cals;
    e->state = *state;
    memset(state, 0, sizeof *state);
}

static const cache_entry *cache_get(ehc_store *store, int64_t case_id, int64_t authority_id, int32_t version)
{
    cache_entry *e = cache_slot(store, case_id);
    if (e->case_id != case_id || e->authority_id != authority_id || e->version != version) return NULL;
    return e;
}

/* ---- completion ----------------------------------------------------------------------------- */

static void cmd_free(store_cmd *c)
{
    if (c->has_next) ehc_case_state_free(&c->next_state);
    free(c->json);
    free(c->type);
    free(c->role);
    free(c->fields_json);
    free(c->idempotency_key);
    free(c);
}

static void on_complete(uv_idle_t *idle)
{
    ehc_store *store = ehc_container_of(idle, ehc_store, completer);
    store_cmd *list = store->done_head;
    store->done_head = store->done_tail = NULL;
    uv_idle_stop(idle);
    while (list) {
        store_cmd *c = list;
        list = c->next;
        store->pending--;
        c->cb(c->data, &c->result);
        cmd_free(c);
    }
}

static void finish(store_cmd *c, int status, const char *fmt, ...) EHC_PRINTF(3, 4);

static void finish(store_cmd *c, int status, const char *fmt, ...)
{
    ehc_store *store = c->store;
    c->result.status = status;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->result.message, sizeof c->result.message, fmt, ap);
        va_end(ap);
    }
    c->next = NULL;
    if (store->done_tail)
        store->done_tail->next = c;
    else
        store->done_head = c;
    store->done_tail = c;
    uv_idle_start(&store->completer, on_complete);
}

/* ---- the machine step -------------------------------------------------------------------------- */

/* Field values of an event, from a JSON object: strings as they are, booleans as true/false, whole
 * numbers in decimal. Values point into the JSON object or into `numbers`. */
typedef struct field_list {
    ehc_field_value *values;
    char (*numbers)[24];
    size_t count;
} field_list;

static void field_list_free(field_list *f)
{
    free(f->values);
    free(f->numbers);
    memset(f, 0, sizeof *f);
}

static int fields_from_json(const cJSON *obj, field_list *out, ehc_machine_error *err)
{
    memset(out, 0, sizeof *out);
    if (!obj) return 0;
    if (!cJSON_IsObject(obj)) {
        err->code = EHC_MACHINE_E_FIELD_INVALID;
        snprintf(err->message, sizeof err->message, "fields must be a JSON object");
        return EHC_EINVAL;
    }
    size_t n = (size_t)cJSON_GetArraySize(obj);
    out->values = ehc_calloc(n ? n : 1, sizeof *out->values);
    out->numbers = ehc_calloc(n ? n : 1, sizeof *out->numbers);
    for (const cJSON *it = obj->child; it; it = it->next) {
        ehc_field_value *v = &out->values[out->count];
        v->field = it->string;
        if (cJSON_IsString(it)) {
            v->value = it->valuestring;
        } else if (cJSON_IsBool(it)) {
            v->value = cJSON_IsTrue(it) ? "true" : "false";
        } else if (cJSON_IsNumber(it) && it->valuedouble >= -1e15 && it->valuedouble <= 1e15 &&
                   it->valuedouble == (double)(int64_t)it->valuedouble) {
            snprintf(out->numbers[out->count], sizeof out->numbers[0], "%" PRId64, (int64_t)it->valuedouble);
            v->value = out->numbers[out->count];
        } else {
            err->code = EHC_MACHINE_E_FIELD_INVALID;
            snprintf(err->field, sizeof err->field, "%s", it->string ? it->string : "");
            snprintf(err->message, sizeof err->message,
                     "field '%s' must be text, true or false, or a whole number",
                     it->string ? it->string : "");
            field_list_free(out);
            return EHC_EINVAL;
        }
        out->count++;
    }
    return 0;
}

int ehc_store_replay(const ehc_workflow *wf, const ehc_calendar_set *calendars, const char *events_json,
                     ehc_case_state *state, ehc_machine_error *err)
{
    memset(err, 0, sizeof *err);
    ehc_case_state_init(wf, state);
    cJSON *events = cJSON_Parse(events_json);
    if (!cJSON_IsArray(events)) {
        cJSON_Delete(events);
        snprintf(err->message, sizeof err->message, "the event log is not a JSON array");
        return EHC_EINVAL;
    }
    int rc = 0;
    int i = 0;
    for (cJSON *e = events->child; e && rc == 0; e = e->next, i++) {
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "type"));
        const char *role = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "role"));
        const char *on = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "effective_on"));
        const char *recorded = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "recorded_on"));
        ehc_machine_env env = {.workflow = wf, .calendars = calendars, .replay = true};
        ehc_event_input in = {.type = type, .actor_role = role};
        if (!type || !role || !on || !recorded || ehc_date_parse_iso(on, &in.effective_on) ||
            ehc_date_parse_iso(recorded, &env.today)) {
            snprintf(err->message, sizeof err->message, "event %d of the log is malformed", i + 1);
            rc = EHC_EINVAL;
            break;
        }
        field_list fields;
        rc = fields_from_json(cJSON_GetObjectItemCaseSensitive(e, "fields"), &fields, err);
        if (rc) break;
        in.fields = fields.values;
        in.field_count = fields.count;
        ehc_case_state next;
        ehc_effects effects;
        rc = ehc_machine_apply(&env, state, &in, &next, &effects, err);
        field_list_free(&fields);
        if (rc == 0) {
            ehc_effects_free(&effects);
            ehc_case_state_free(state);
            *state = next;
        } else {
            char why[sizeof err->message];
            snprintf(why, sizeof why, "%s", err->message);
            snprintf(err->message, sizeof err->message, "event %d (%.63s) no longer replays: %.400s", i + 1,
                     type, why);
        }
    }
    cJSON_Delete(events);
    if (rc) ehc_case_state_free(state);
    return rc;
}

static void add_date(cJSON *obj, const char *name, ehc_date d)
{
    char iso[EHC_DATE_ISO_SIZE];
    ehc_date_format_iso(d, iso);
    cJSON_AddStringToObject(obj, name, iso);
}

static bool instance_changed(const ehc_deadline_instance *a, const ehc_deadline_instance *b)
{
    return a->status != b->status || a->due_on.days != b->due_on.days || a->exception != b->exception ||
           a->settled_by_seq != b->settled_by_seq;
}

static const char *record_field(const ehc_case_event *r, const char *name)
{
    for (size_t i = 0; i < r->field_count; i++)
        if (strcmp(r->fields[i].field, name) == 0 && r->fields[i].value[0]) return r->fields[i].value;
    return NULL;
}

static void add_text_or_null(cJSON *obj, const char *name, const char *value)
{
    if (value)
        cJSON_AddStringToObject(obj, name, value);
    else
        cJSON_AddNullToObject(obj, name);
}

static cJSON *advice_row(cJSON *rows, const char *key)
{
    for (cJSON *r = rows->child; r; r = r->next)
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "request_key")), key) == 0)
            return r;
    return NULL;
}

static void set_member(cJSON *obj, const char *name, cJSON *value)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, name))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, name, value);
    else
        cJSON_AddItemToObject(obj, name, value);
}

/* Every advice request of the case, folded from the standing events that carry an "advice" action:
 * the whole set, so that what the database holds is always what the log says. */
static cJSON *advice_rows(const ehc_workflow *wf, const ehc_case_state *s)
{
    cJSON *rows = cJSON_CreateArray();
    for (size_t i = 0; i < s->event_count; i++) {
        const ehc_case_event *r = &s->events[i];
        if (r->event == EHC_WF_NONE || r->superseded_by_seq != 0 || !r->key[0]) continue;
        const ehc_wf_event *ev = ehc_workflow_event(wf, r->event);
        if (ev->advice == EHC_WF_ADVICE_NONE) continue;
        cJSON *row = advice_row(rows, r->key);
        if (!row) {
            row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "request_key", r->key);
            cJSON_AddItemToArray(rows, row);
        }
        char iso[EHC_DATE_ISO_SIZE];
        ehc_date_format_iso(r->effective_on, iso);
        const char *org = record_field(r, "organisation_id");
        switch (ev->advice) {
        case EHC_WF_ADVICE_REQUESTED:
        case EHC_WF_ADVICE_EXISTING_SUFFICIENT:
            set_member(row, "adviser", cJSON_CreateString(record_field(r, "adviser")));
            set_member(row, "sent_on", cJSON_CreateString(iso));
            set_member(row, "requested_seq", cJSON_CreateNumber(r->seq));
            if (org) set_member(row, "organisation_id", cJSON_CreateString(org));
            if (record_field(r, "received_on"))
                set_member(row, "received_on", cJSON_CreateString(record_field(r, "received_on")));
            if (ev->advice == EHC_WF_ADVICE_EXISTING_SUFFICIENT) {
                set_member(row, "outcome", cJSON_CreateString("existing_advice_sufficient"));
                set_member(row, "returned_on", cJSON_CreateString(iso));
            }
            for (size_t d = 0; d < s->deadline_count; d++)
                if (s->deadlines[d].started_by_seq == r->seq && strcmp(s->deadlines[d].key, r->key) == 0) {
                    ehc_date_format_iso(s->deadlines[d].due_on, iso);
                    set_member(row, "due_on", cJSON_CreateString(iso));
                }
            break;
        case EHC_WF_ADVICE_FORWARDED:
            if (org) set_member(row, "forwarded_to_id", cJSON_CreateString(org));
            break;
        case EHC_WF_ADVICE_RETURNED:
            set_member(row, "outcome", cJSON_CreateString("returned"));
            set_member(row, "returned_on", cJSON_CreateString(iso));
            break;
        case EHC_WF_ADVICE_NIL_RETURN: {
            const char *why = record_field(r, "reason"), *detail = record_field(r, "detail");
            char reason[600];
            snprintf(reason, sizeof reason, "%s%s%.500s", why ? why : "other", detail ? ": " : "",
                     detail ? detail : "");
            set_member(row, "outcome", cJSON_CreateString("nil_return"));
            set_member(row, "returned_on", cJSON_CreateString(iso));
            set_member(row, "nil_reason", cJSON_CreateString(reason));
            break;
        }
        default: break;
        }
    }
    /* a return recorded before its request (never accepted by the machine) would leave no sent_on */
    for (cJSON *r = rows->child; r;) {
        cJSON *nx = r->next;
        if (!cJSON_GetObjectItemCaseSensitive(r, "sent_on"))
            cJSON_Delete(cJSON_DetachItemViaPointer(rows, r));
        r = nx;
    }
    return rows;
}

/* Every exception applied to one of the case's clocks, with what the recording event said. */
static cJSON *exception_rows(const ehc_workflow *wf, const ehc_case_state *s)
{
    cJSON *rows = cJSON_CreateArray();
    for (size_t i = 0; i < s->deadline_count; i++) {
        const ehc_deadline_instance *n = &s->deadlines[i];
        if (n->exception == EHC_WF_NONE || n->exception_seq == 0 || n->exception_seq > s->event_count)
            continue;
        const ehc_wf_deadline *d = ehc_workflow_deadline(wf, n->deadline);
        const ehc_wf_exception *x = &d->exceptions[n->exception];
        const ehc_case_event *r = &s->events[n->exception_seq - 1];
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "deadline_key", d->id);
        cJSON_AddStringToObject(row, "instance_key", n->key);
        cJSON_AddStringToObject(row, "reason", x->id);
        cJSON_AddStringToObject(row, "basis", x->basis);
        char iso[EHC_DATE_ISO_SIZE];
        ehc_date_format_iso(r->effective_on, iso);
        const char *from = record_field(r, "applies_from");
        cJSON_AddStringToObject(row, "from_on", from ? from : iso);
        add_text_or_null(row, "to_on", record_field(r, "applies_to"));
        const char *evidence = record_field(r, "evidence");
        cJSON_AddStringToObject(row, "evidence_note", evidence ? evidence : "(none given)");
        add_text_or_null(row, "family_told_on", record_field(r, "family_told_on"));
        cJSON_AddNumberToObject(row, "recorded_by_seq", n->exception_seq);
        cJSON_AddItemToArray(rows, row);
    }
    return rows;
}

/* A SEN2 code field (a workflow's enum value, lower case) as SEN2 writes it: upper case. */
static void add_code(cJSON *obj, const char *name, const char *value)
{
    if (!value) {
        cJSON_AddNullToObject(obj, name);
        return;
    }
    char code[16];
    size_t i = 0;
    for (; value[i] && i + 1 < sizeof code; i++)
        code[i] = (char)((value[i] >= 'a' && value[i] <= 'z') ? value[i] - 'a' + 'A' : value[i]);
    code[i] = '\0';
    cJSON_AddStringToObject(obj, name, code);
}

/* A SEN2 record's field as the store keeps it: bools as JSON booleans, the rest as text or null. */
static void add_flag(cJSON *obj, const char *name, const ehc_case_event *r)
{
    const char *v = record_field(r, name);
    cJSON_AddBoolToObject(obj, name, v && strcmp(v, "true") == 0);
}

/* The case's SEN2 records (statute.md §7, 4a, 4b and SEN need), whole, from the standing events that
 * carry a "sen2_record": the last plan event, the last placement event of each key and the last need
 * event. A plan's start is its start_on field, else the StartDate the final plan set, else its date. */
static void add_sen2_records(cJSON *root, const ehc_workflow *wf, const ehc_case_state *s)
{
    const ehc_case_event *plan = NULL, *need = NULL;
    cJSON *placements = cJSON_CreateArray();
    for (size_t i = 0; i < s->event_count; i++) {
        const ehc_case_event *r = &s->events[i];
        if (r->event == EHC_WF_NONE || r->superseded_by_seq != 0) continue;
        const ehc_wf_event *ev = ehc_workflow_event(wf, r->event);
        if (ev->sen2_record == EHC_WF_SEN2_PLAN) plan = r;
        if (ev->sen2_record == EHC_WF_SEN2_NEED) need = r;
        if (ev->sen2_record != EHC_WF_SEN2_PLACEMENT || !r->key[0]) continue;
        cJSON *row = NULL;
        for (cJSON *p = placements->child; p && !row; p = p->next)
            if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "placement_key")), r->key) ==
                0)
                row = p;
        if (row) cJSON_Delete(cJSON_DetachItemViaPointer(placements, row));
        row = cJSON_CreateObject();
        char iso[EHC_DATE_ISO_SIZE];
        ehc_date_format_iso(r->effective_on, iso);
        cJSON_AddStringToObject(row, "placement_key", r->key);
        cJSON_AddStringToObject(row, "rank", record_field(r, "rank") ? record_field(r, "rank") : "1");
        add_text_or_null(row, "urn", record_field(r, "urn"));
        add_text_or_null(row, "ukprn", record_field(r, "ukprn"));
        add_code(row, "sen_setting", record_field(r, "sen_setting"));
        add_flag(row, "sen_unit", r);
        add_flag(row, "resourced_provision", r);
        cJSON_AddStringToObject(row, "start_on",
                                record_field(r, "start_on") ? record_field(r, "start_on") : iso);
        add_text_or_null(row, "end_on", record_field(r, "end_on"));
        cJSON_AddNumberToObject(row, "recorded_seq", r->seq);
        cJSON_AddItemToArray(placements, row);
    }
    cJSON_AddItemToObject(root, "sen2_placements", placements);
    if (plan) {
        cJSON *row = cJSON_AddObjectToObject(root, "sen2_plan");
        const char *start = record_field(plan, "start_on");
        for (size_t i = 0; i < s->report_count && !start; i++)
            if (strcmp(s->reports[i].item, "StartDate") == 0) start = s->reports[i].value;
        char iso[EHC_DATE_ISO_SIZE];
        ehc_date_format_iso(plan->effective_on, iso);
        cJSON_AddStringToObject(row, "start_on", start ? start : iso);
        add_flag(row, "residential", plan);
        add_flag(row, "work_based", plan);
        add_flag(row, "personal_budget", plan);
        add_flag(row, "organised_arrangements", plan);
        add_flag(row, "direct_payments", plan);
        add_text_or_null(row, "cease_on", record_field(plan, "cease_on"));
        add_text_or_null(row, "cease_reason", record_field(plan, "cease_reason"));
        cJSON_AddNumberToObject(row, "recorded_seq", plan->seq);
    } else {
        cJSON_AddNullToObject(root, "sen2_plan");
    }
    cJSON *needs = cJSON_AddArrayToObject(root, "sen2_needs");
    static const char *const ranked[] = {"primary_need", "secondary_need"};
    for (size_t i = 0; need && i < EHC_ARRAY_SIZE(ranked); i++) {
        if (!record_field(need, ranked[i])) continue;
        cJSON *row = cJSON_CreateObject();
        cJSON_AddNumberToObject(row, "rank", (double)(i + 1));
        add_code(row, "sen_type", record_field(need, ranked[i]));
        cJSON_AddItemToArray(needs, row);
    }
}

static cJSON *deadline_row(const ehc_workflow *wf, const ehc_deadline_instance *n)
{
    const ehc_wf_deadline *d = ehc_workflow_deadline(wf, n->deadline);
    cJSON *row = cJSON_CreateObject();
    cJSON_AddStringToObject(row, "deadline_key", d->id);
    cJSON_AddStringToObject(row, "instance_key", n->key);
    cJSON_AddStringToObject(row, "kind", ehc_deadline_kind_name(d->kind));
    if (d->basis)
        cJSON_AddStringToObject(row, "basis", d->basis);
    else
        cJSON_AddNullToObject(row, "basis");
    cJSON_AddStringToObject(row, "direction", d->earliest ? "earliest" : "latest");
    add_date(row, "origin_on", n->started_on);
    add_date(row, "due_on", n->due_on);
    cJSON_AddStringToObject(row, "status", ehc_deadline_status_name(n->status));
    if (n->status == EHC_DEADLINE_OPEN) {
        cJSON_AddNullToObject(row, "settled_on");
        cJSON_AddNullToObject(row, "settled_by_seq");
    } else {
        add_date(row, "settled_on", n->settled_on);
        cJSON_AddNumberToObject(row, "settled_by_seq", n->settled_by_seq);
    }
    cJSON_AddBoolToObject(row, "exception_applies", n->exception != EHC_WF_NONE);
    cJSON_AddNumberToObject(row, "set_by_seq", n->started_by_seq);
    return row;
}

/* Whether `next` still has the instance of `prev_wf`'s deadline `p` (matched by id and key). */
static bool still_has(const ehc_workflow *wf, const ehc_case_state *next, const ehc_workflow *prev_wf,
                      const ehc_deadline_instance *p)
{
    const char *id = ehc_workflow_deadline(prev_wf, p->deadline)->id;
    for (size_t i = 0; i < next->deadline_count; i++)
        if (strcmp(ehc_workflow_deadline(wf, next->deadlines[i].deadline)->id, id) == 0 &&
            strcmp(next->deadlines[i].key, p->key) == 0)
            return true;
    return false;
}

/* The projection changes of one accepted event, as the JSON ehc__apply_command reads. `prev` is in
 * prev_wf's numbering: after definitions_updated (another version) every deadline is written again,
 * and one the new version no longer has is kept, cancelled, with its alerts resolved. */
static cJSON *build_changes(const ehc_workflow *wf, const ehc_workflow *prev_wf, const ehc_case_state *prev,
                            const ehc_case_state *next, const ehc_effects *effects)
{
    bool moved = prev_wf != wf;
    cJSON *root = cJSON_CreateObject();
    const ehc_wf_stage *stage = ehc_workflow_stage(wf, next->stage);
    const ehc_case_event *last = &next->events[next->event_count - 1];
    cJSON *proj = cJSON_AddObjectToObject(root, "projection");
    cJSON_AddStringToObject(proj, "stage", stage->id);
    cJSON_AddStringToObject(proj, "status", stage->final ? "closed" : "open");
    if (stage->final)
        add_date(proj, "closed_on", last->effective_on);
    else
        cJSON_AddNullToObject(proj, "closed_on");

    cJSON *dl = cJSON_AddArrayToObject(root, "deadlines");
    for (size_t i = 0; i < next->deadline_count; i++) {
        const ehc_deadline_instance *n = &next->deadlines[i];
        if (!moved && i < prev->deadline_count && !instance_changed(&prev->deadlines[i], n)) continue;
        cJSON_AddItemToArray(dl, deadline_row(wf, n));
    }
    cJSON *resolve = cJSON_AddArrayToObject(root, "resolve_alerts");
    for (size_t i = 0; moved && i < prev->deadline_count; i++) {
        const ehc_deadline_instance *p = &prev->deadlines[i];
        if (still_has(wf, next, prev_wf, p)) continue;
        ehc_deadline_instance gone = *p;
        if (gone.status == EHC_DEADLINE_OPEN) {
            gone.status = EHC_DEADLINE_CANCELLED;
            gone.settled_on = last->effective_on;
            gone.settled_by_seq = last->seq;
        }
        cJSON_AddItemToArray(dl, deadline_row(prev_wf, &gone));
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "deadline_key", ehc_workflow_deadline(prev_wf, p->deadline)->id);
        cJSON_AddStringToObject(row, "instance_key", p->key);
        cJSON_AddStringToObject(row, "resolution", ehc_deadline_status_name(gone.status));
        cJSON_AddItemToArray(resolve, row);
    }

    for (size_t i = 0; i < effects->count; i++) {
        const ehc_effect *e = &effects->items[i];
        if (e->kind != EHC_EFFECT_ALERTS_RESOLVE) continue;
        const ehc_deadline_instance *n = &next->deadlines[e->instance];
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "deadline_key", e->deadline);
        cJSON_AddStringToObject(row, "instance_key", e->key);
        cJSON_AddStringToObject(row, "resolution", ehc_deadline_status_name(n->status));
        cJSON_AddItemToArray(resolve, row);
    }

    cJSON *reports = cJSON_AddArrayToObject(root, "reports");
    for (size_t i = 0; i < next->report_count; i++) {
        const ehc_report_value *r = &next->reports[i];
        bool same = false;
        for (size_t j = 0; j < prev->report_count; j++)
            if (strcmp(prev->reports[j].item, r->item) == 0)
                same = strcmp(prev->reports[j].value, r->value) == 0;
        if (same) continue;
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "item", r->item);
        cJSON_AddStringToObject(row, "value", r->value);
        cJSON_AddItemToArray(reports, row);
    }

    /* advice requests and exceptions: the whole set of the case, when the event touched them */
    const ehc_wf_event *ev = last->event == EHC_WF_NONE ? NULL : ehc_workflow_event(wf, last->event);
    if (ev && ev->advice != EHC_WF_ADVICE_NONE) cJSON_AddItemToObject(root, "advice", advice_rows(wf, next));
    if (ev && ev->records_exception) cJSON_AddItemToObject(root, "exceptions", exception_rows(wf, next));
    if (ev && ev->sen2_record != EHC_WF_SEN2_NONE) add_sen2_records(root, wf, next);
    return root;
}

cJSON *ehc_store_projection_json(const ehc_workflow *wf, const ehc_case_state *state)
{
    ehc_case_state empty;
    ehc_case_state_init(wf, &empty);
    ehc_effects none = {0};
    cJSON *root = build_changes(wf, wf, &empty, state, &none);
    ehc_case_state_free(&empty);
    cJSON_DeleteItemFromObjectCaseSensitive(root, "advice");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "exceptions");
    cJSON_AddItemToObject(root, "advice", advice_rows(wf, state));
    cJSON_AddItemToObject(root, "exceptions", exception_rows(wf, state));
    cJSON_DeleteItemFromObjectCaseSensitive(root, "sen2_placements");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "sen2_plan");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "sen2_needs");
    add_sen2_records(root, wf, state);
    return root;
}

/* Applies the command's event to `prev` and, when accepted, fills c->json. Returns 0, or the
 * machine's refusal (c->result.machine_error says why). */
static int run_machine(store_cmd *c, const ehc_workflow *wf, const ehc_calendar_set *cals,
                       const ehc_case_state *prev, cJSON *cmd_root, const ehc_store_event *ev)
{
    ehc_store *store = c->store;
    ehc_machine_env env = {.workflow = wf, .calendars = cals};
    const ehc_workflow *prev_wf = wf;
    if (strcmp(ev->type, EHC_MACHINE_DEFINITIONS_UPDATED) == 0) {
        /* the move from the versions the case pinned to the ones loaded now */
        const ehc_workflow *current;
        if (ehc_definitions_find(store->defs, ehc_workflow_id(wf), &current) != 0) {
            c->result.machine_error.code = EHC_MACHINE_E_DEFINITIONS_MISMATCH;
            snprintf(c->result.machine_error.message, sizeof c->result.machine_error.message,
                     "no workflow '%s' is loaded to move the case to", ehc_workflow_id(wf));
            return EHC_ESTATE;
        }
        env.previous_workflow = wf;
        env.workflow = wf = current;
        env.calendars = cals = ehc_definitions_calendars(store->defs);
    }
    if (ehc_clock_today(&store->clock, &env.today)) return EHC_ERANGE;
    cJSON *fields = ev->fields_json ? cJSON_Parse(ev->fields_json) : NULL;
    if (ev->fields_json && !fields) {
        c->result.machine_error.code = EHC_MACHINE_E_FIELD_INVALID;
        snprintf(c->result.machine_error.message, sizeof c->result.machine_error.message,
                 "fields are not valid JSON");
        return EHC_EINVAL;
    }
    ehc_event_input in = {.type = ev->type, .actor_role = ev->actor_role, .effective_on = ev->effective_on};
    field_list values;
    int rc = fields_from_json(fields, &values, &c->result.machine_error);
    in.fields = values.values;
    in.field_count = values.count;
    ehc_case_state next;
    ehc_effects effects;
    if (rc == 0) rc = ehc_machine_apply(&env, prev, &in, &next, &effects, &c->result.machine_error);
    if (rc == 0) {
        cJSON *changes = build_changes(wf, prev_wf, prev, &next, &effects);
        for (cJSON *it = changes->child; it;) {
            cJSON *nx = it->next;
            cJSON_AddItemToObject(cmd_root, it->string, cJSON_DetachItemViaPointer(changes, it));
            it = nx;
        }
        cJSON_Delete(changes);
        cJSON *event = cJSON_AddObjectToObject(cmd_root, "event");
        cJSON_AddStringToObject(event, "type", ev->type);
        cJSON_AddStringToObject(event, "actor_role", ev->actor_role);
        if (ev->actor_id > 0) cJSON_AddNumberToObject(event, "actor_id", (double)ev->actor_id);
        add_date(event, "effective_on", next.events[next.event_count - 1].effective_on);
        cJSON_AddNumberToObject(event, "recorded_us", (double)ehc_clock_now(&store->clock).us);
        cJSON_AddItemToObject(event, "fields", fields ? fields : cJSON_CreateObject());
        fields = NULL;
        if (ev->idempotency_key) cJSON_AddStringToObject(event, "idempotency_key", ev->idempotency_key);
        if (ev->access_resource) {
            cJSON *access = cJSON_AddObjectToObject(cmd_root, "access");
            cJSON_AddStringToObject(access, "resource", ev->access_resource);
            if (ev->actor_id > 0) cJSON_AddNumberToObject(access, "user_id", (double)ev->actor_id);
            if (ev->request_id) cJSON_AddStringToObject(access, "request_id", ev->request_id);
        }
        cJSON_AddStringToObject(event, "workflow_sha256", ehc_workflow_content_hash(wf));
        c->schedule_unchanged =
            cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cmd_root, "deadlines")) == 0 &&
            cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cmd_root, "resolve_alerts")) == 0;
        c->json = cJSON_PrintUnformatted(cmd_root);
        ehc_effects_free(&effects);
        c->next_state = next;
        c->has_next = true;
        c->wf = wf;
        c->cals = cals;
    }
    field_list_free(&values);
    cJSON_Delete(fields);
    return rc;
}

/* ---- group commit -------------------------------------------------------------------------------- */

static void flush(ehc_store *store);

static void on_batch(void *data, int status, PGresult *res, const char *message)
{
    store_batch *b = data;
    ehc_store *store = b->store;
    store->inflight--;
    cJSON *results = NULL;
    if (status == 0 && PQntuples(res) == 1) results = cJSON_Parse(PQgetvalue(res, 0, 0));
    if (status == 0 && (!cJSON_IsArray(results) || (size_t)cJSON_GetArraySize(results) != b->count)) {
        status = EHC_EINVAL;
        message = "unexpected reply from ehc_apply_batch";
    }
    if (status == 0) {
        store->commits++;
        store->commands += b->count;
    } else {
        ehc_log(EHC_LOG_WARN, "store_commit_failed", NULL, "%zu commands: %s (%s)", b->count,
                ehc_strerror(status), message ? message : "");
    }
    cJSON *r = results ? results->child : NULL;
    for (size_t i = 0; i < b->count; i++, r = r ? r->next : NULL) {
        store_cmd *c = b->cmds[i];
        if (c->record.case_id && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")))
            cache_forget(store, c->record.case_id);
        if (status != 0) {
            /* EUNAVAILABLE/ETIMEDOUT: the commit may or may not have happened; a retry with the
             * same idempotency key finds out safely */
            finish(c, status == EHC_EINVAL ? EHC_EINVAL : status, "commit failed: %s", ehc_strerror(status));
            continue;
        }
        cJSON *ok = cJSON_GetObjectItemCaseSensitive(r, "ok");
        cJSON *case_id = cJSON_GetObjectItemCaseSensitive(r, "case_id");
        cJSON *seq = cJSON_GetObjectItemCaseSensitive(r, "seq");
        const char *error = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "error"));
        if (cJSON_IsTrue(ok)) {
            c->result.case_id = (int64_t)cJSON_GetNumberValue(case_id);
            c->result.version = (int32_t)cJSON_GetNumberValue(seq);
            c->result.replayed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "replayed"));
            if (!c->result.replayed && !c->schedule_unchanged && store->commit_hook)
                store->commit_hook(store->commit_hook_data, c->result.case_id);
            if (c->has_next && !c->result.replayed) {
                cache_put(store, c->result.case_id, c->authority_id, c->result.version, c->wf, c->cals,
                          &c->next_state);
                c->has_next = false;
            } else {
                cache_forget(store, c->result.case_id);
            }
            finish(c, 0, NULL);
        } else if (error && strcmp(error, "conflict") == 0) {
            cJSON *cur = cJSON_GetObjectItemCaseSensitive(r, "current_version");
            c->result.current_version = cur ? (int32_t)cJSON_GetNumberValue(cur) : -1;
            const char *constraint = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "constraint"));
            if (cur)
                finish(c, EHC_ECONFLICT, "the case has changed: it is now at version %d",
                       c->result.current_version);
            else
                finish(c, EHC_ECONFLICT, "conflicts with an existing record (%s)",
                       constraint ? constraint : "unique");
        } else if (error && strcmp(error, "not_found") == 0) {
            finish(c, EHC_ENOENT, "no such case");
        } else {
            const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "sqlstate"));
            const char *constraint = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "constraint"));
            finish(c, EHC_EINVAL, "refused by the database: SQLSTATE %s%s%s", state ? state : "?",
                   constraint ? ", constraint " : "", constraint ? constraint : "");
        }
    }
    cJSON_Delete(results);
    free(b->cmds);
    free(b);
    flush(store);
}

static void flush(ehc_store *store)
{
    while (store->queue_head && store->inflight < store->opts.max_inflight) {
        store_batch *b = ehc_calloc(1, sizeof *b);
        b->store = store;
        size_t cap =
            store->queued < (size_t)store->opts.max_batch ? store->queued : (size_t)store->opts.max_batch;
        b->cmds = ehc_calloc(cap, sizeof *b->cmds);
        size_t len = 2;
        while (store->queue_head && b->count < cap) {
            store_cmd *c = store->queue_head;
            store->queue_head = c->next;
            store->queued--;
            b->cmds[b->count++] = c;
            len += strlen(c->json) + 1;
        }
        if (!store->queue_head) store->queue_tail = NULL;
        char *array = ehc_malloc(len + 1);
        size_t n = 0;
        array[n++] = '[';
        for (size_t i = 0; i < b->count; i++) {
            if (i) array[n++] = ',';
            size_t l = strlen(b->cmds[i]->json);
            memcpy(array + n, b->cmds[i]->json, l);
            n += l;
        }
        array[n++] = ']';
        array[n] = '\0';
        const char *params[1] = {array};
        int rc = ehc_pg_query(store->pool, "SELECT ehc_apply_batch($1::jsonb)", 1, params,
                              store->opts.query_timeout_ms, on_batch, b);
        free(array);
        if (rc == 0) {
            store->inflight++;
            continue;
        }
        for (size_t i = 0; i < b->count; i++)
            finish(b->cmds[i], rc, "the database is unavailable");
        free(b->cmds);
        free(b);
    }
}

static void enqueue(store_cmd *c)
{
    ehc_store *store = c->store;
    c->next = NULL;
    if (store->queue_tail)
        store->queue_tail->next = c;
    else
        store->queue_head = c;
    store->queue_tail = c;
    store->queued++;
    flush(store);
}

/* ---- commands -------------------------------------------------------------------------------------- */

static int event_valid(const ehc_store_event *ev)
{
    if (!ev->type || !*ev->type || !ev->actor_role || !*ev->actor_role) return 0;
    if (ev->idempotency_key && (!*ev->idempotency_key || strlen(ev->idempotency_key) > 200)) return 0;
    return ehc_date_is_valid(ev->effective_on);
}

static store_cmd *cmd_new(ehc_store *store, ehc_store_cb cb, void *data)
{
    store_cmd *c = ehc_calloc(1, sizeof *c);
    c->store = store;
    c->cb = cb;
    c->data = data;
    store->pending++;
    return c;
}

static void make_reference(char out[16])
{
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    unsigned char rnd[10];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) memset(rnd, 0, sizeof rnd);
    memcpy(out, "EHC-", 4);
    for (int i = 0; i < 10; i++)
        out[4 + i] = alphabet[rnd[i] % 32];
    out[14] = '\0';
}

static cJSON *command_root(const char *kind, int64_t authority_id)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "kind", kind);
    cJSON_AddNumberToObject(root, "authority_id", (double)authority_id);
    char ids[24];
    snprintf(ids, sizeof ids, "%" PRId64, authority_id);
    cJSON_AddStringToObject(root, "authority_ids", ids);
    return root;
}

int ehc_store_open_case(ehc_store *store, const ehc_store_open_cmd *cmd, ehc_store_cb cb, void *data)
{
    if (cmd->authority_id <= 0 || (cmd->child_id <= 0) == !cmd->child_json || !cmd->workflow_id ||
        !event_valid(&cmd->event))
        return EHC_EINVAL;
    cJSON *child = cmd->child_json ? cJSON_Parse(cmd->child_json) : NULL;
    if (cmd->child_json && !cJSON_IsObject(child)) {
        cJSON_Delete(child);
        return EHC_EINVAL;
    }
    const ehc_workflow *wf;
    if (ehc_definitions_find(store->defs, cmd->workflow_id, &wf) || ehc_pg_pool_connected(store->pool) == 0) {
        cJSON_Delete(child);
        return ehc_pg_pool_connected(store->pool) == 0 ? EHC_EUNAVAILABLE : EHC_ENOENT;
    }

    store_cmd *c = cmd_new(store, cb, data);
    c->authority_id = cmd->authority_id;
    cJSON *root = command_root("open", cmd->authority_id);
    if (cmd->event.idempotency_key)
        cJSON_AddStringToObject(root, "idempotency_key", cmd->event.idempotency_key);
    cJSON *kase = cJSON_AddObjectToObject(root, "case");
    char ref[16];
    if (!cmd->reference) make_reference(ref);
    cJSON_AddStringToObject(kase, "reference", cmd->reference ? cmd->reference : ref);
    if (child)
        cJSON_AddItemToObject(kase, "child", child);
    else
        cJSON_AddNumberToObject(kase, "child_id", (double)cmd->child_id);
    cJSON_AddStringToObject(kase, "workflow_id", ehc_workflow_id(wf));
    cJSON_AddStringToObject(kase, "workflow_sha256", ehc_workflow_content_hash(wf));
    cJSON_AddStringToObject(kase, "calendar_sha256", ehc_definitions_calendar_hash(store->defs, wf));
    if (cmd->team_id > 0) cJSON_AddNumberToObject(kase, "team_id", (double)cmd->team_id);
    if (cmd->officer_id > 0) cJSON_AddNumberToObject(kase, "officer_id", (double)cmd->officer_id);
    cJSON_AddBoolToObject(kase, "migrated", cmd->migrated);

    ehc_case_state empty;
    ehc_case_state_init(wf, &empty);
    int rc = run_machine(c, wf, ehc_definitions_calendars(store->defs), &empty, root, &cmd->event);
    ehc_case_state_free(&empty);
    cJSON_Delete(root);
    if (rc)
        finish(c, rc, "%s", c->result.machine_error.message);
    else
        enqueue(c);
    return 0;
}

static void record_on_state(store_cmd *c, const ehc_workflow *wf, const ehc_calendar_set *cals,
                            const ehc_case_state *state);

static void on_snapshot(void *data, int status, PGresult *res, const char *message)
{
    store_cmd *c = data;
    ehc_store *store = c->store;
    if (status != 0) {
        finish(c, status == EHC_EINVAL ? EHC_EINVAL : status, "reading the case failed: %s",
               message ? message : "");
        return;
    }
    if (PQntuples(res) != 1) {
        finish(c, EHC_ENOENT, "no such case");
        return;
    }
    int32_t version = atoi(PQgetvalue(res, 0, 1));
    if (!PQgetisnull(res, 0, 7)) {
        /* a retry of a command already recorded: its first outcome, whatever happened since */
        c->result.case_id = c->record.case_id;
        c->result.version = atoi(PQgetvalue(res, 0, 7));
        c->result.replayed = true;
        finish(c, 0, NULL);
        return;
    }
    const char *wf_hash = PQgetvalue(res, 0, 3);
    const char *cal_hash = PQgetvalue(res, 0, 4);
    if (version != c->record.expected_version) {
        c->result.current_version = version;
        finish(c, EHC_ECONFLICT, "the case has changed: it is now at version %d", version);
        return;
    }
    const ehc_workflow *wf;
    const ehc_calendar_set *cals;
    if (ehc_definitions_pinned(store->defs, wf_hash, cal_hash, &wf, &cals) != 0) {
        /* a version no ehcd ever stored (the database was restored without it, say) */
        finish(c, EHC_ESTATE,
               "the case runs under workflow %.12s and calendar %.12s, which this ehcd does not hold "
               "(not in ehc_definition_versions)",
               wf_hash, cal_hash);
        return;
    }
    ehc_case_state state;
    int rc = ehc_store_replay(wf, cals, PQgetvalue(res, 0, 6), &state, &c->result.machine_error);
    if (rc) {
        ehc_log(EHC_LOG_ERROR, "store_replay_failed", NULL, "case %" PRId64 ": %s", c->record.case_id,
                c->result.machine_error.message);
        finish(c, EHC_ESTATE, "%s", c->result.machine_error.message);
        return;
    }
    record_on_state(c, wf, cals, &state);
    ehc_case_state_free(&state);
}

/* Runs the machine on a case state and queues the command, or finishes it with the refusal. */
static void record_on_state(store_cmd *c, const ehc_workflow *wf, const ehc_calendar_set *cals,
                            const ehc_case_state *state)
{
    cJSON *root = command_root("record", c->record.authority_id);
    cJSON_AddNumberToObject(root, "case_id", (double)c->record.case_id);
    cJSON_AddNumberToObject(root, "expected_version", c->record.expected_version);
    int rc = run_machine(c, wf, cals, state, root, &c->record.event);
    cJSON_Delete(root);
    if (rc)
        finish(c, rc, "%s", c->result.machine_error.message);
    else
        enqueue(c);
}

int ehc_store_record_event(ehc_store *store, const ehc_store_record_cmd *cmd, ehc_store_cb cb, void *data)
{
    if (cmd->authority_id <= 0 || cmd->case_id <= 0 || cmd->expected_version < 0 || !event_valid(&cmd->event))
        return EHC_EINVAL;
    store_cmd *c = cmd_new(store, cb, data);
    c->authority_id = cmd->authority_id;
    c->record = *cmd;
    c->type = ehc_strdup(cmd->event.type);
    c->role = ehc_strdup(cmd->event.actor_role);
    c->fields_json = cmd->event.fields_json ? ehc_strdup(cmd->event.fields_json) : NULL;
    c->idempotency_key = cmd->event.idempotency_key ? ehc_strdup(cmd->event.idempotency_key) : NULL;
    c->record.event.type = c->type;
    c->record.event.actor_role = c->role;
    c->record.event.fields_json = c->fields_json;
    c->record.event.idempotency_key = c->idempotency_key;
    /* a retry (idempotency key) always asks the database, which knows whether it already happened */
    const cache_entry *hit =
        c->idempotency_key ? NULL : cache_get(store, cmd->case_id, cmd->authority_id, cmd->expected_version);
    if (hit) {
        store->cache_hits++;
        record_on_state(c, hit->wf, hit->cals, &hit->state);
        return 0;
    }
    store->cache_misses++;
    char ids[24], case_id[24];
    snprintf(ids, sizeof ids, "%" PRId64, cmd->authority_id);
    snprintf(case_id, sizeof case_id, "%" PRId64, cmd->case_id);
    const char *params[3] = {ids, case_id, c->idempotency_key};
    int rc = ehc_pg_query(
        store->pool,
        "SELECT authority_id, version, workflow_id, workflow_sha256, calendar_sha256, status, events, "
        "idempotent_seq FROM ehc_case_snapshot($1, $2::bigint, $3)",
        3, params, store->opts.query_timeout_ms, on_snapshot, c);
    if (rc) {
        store->pending--;
        cmd_free(c);
        return rc;
    }
    return 0;
}

int ehc_store_new(uv_loop_t *loop, ehc_pg_pool *pool, const ehc_definitions *defs, const ehc_clock *clock,
                  const ehc_store_options *opts, ehc_store **out)
{
    if (opts->max_batch < 1 || opts->max_inflight < 1 || opts->query_timeout_ms < 1) return EHC_EINVAL;
    ehc_store *store = ehc_calloc(1, sizeof *store);
    store->loop = loop;
    store->pool = pool;
    store->defs = defs;
    store->clock = *clock;
    store->opts = *opts;
    store->cache = ehc_calloc(EHC_STORE_CACHE_SLOTS, sizeof *store->cache);
    uv_idle_init(loop, &store->completer);
    *out = store;
    return 0;
}

static void on_completer_closed(uv_handle_t *h)
{
    ehc_store *store = ehc_container_of((uv_idle_t *)h, ehc_store, completer);
    for (size_t i = 0; i < EHC_STORE_CACHE_SLOTS; i++)
        if (store->cache[i].case_id) ehc_case_state_free(&store->cache[i].state);
    free(store->cache);
    free(store);
}

void ehc_store_free(ehc_store *store)
{
    /* the HTTP server drains first, so nothing can still be waiting on the store */
    assert(store->pending == 0);
    uv_close((uv_handle_t *)&store->completer, on_completer_closed);
}

void ehc_store_on_commit(ehc_store *store, void (*hook)(void *data, int64_t case_id), void *data)
{
    store->commit_hook = hook;
    store->commit_hook_data = data;
}

void ehc_store_stats(const ehc_store *store, uint64_t *commits, uint64_t *commands)
{
    *commits = store->commits;
    *commands = store->commands;
}
