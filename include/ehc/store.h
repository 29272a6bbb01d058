/* The durable store of case records, on the loop: a command (open a case, record an event) is
 * checked by the pure machine against the case's replayed history, then committed with its event,
 * case projection, deadlines, resolved alerts and SEN2 codes in one transaction before the caller
 * hears success. Commands that arrive while earlier ones are committing share the next commit
 * (group commit), each isolated in its own subtransaction under its own authority.
 *
 * Owner: the loop context creates one store over its pool and definitions (both borrowed) and frees
 * it after the pool is closed. Callbacks run on the loop thread, exactly once per command. */
#ifndef EHC_STORE_H
#define EHC_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "ehc/clock.h"
#include "ehc/common.h"
#include "ehc/definitions.h"
#include "ehc/machine.h"
#include "ehc/pg.h"

typedef struct ehc_store ehc_store;

typedef struct ehc_store_event {
    const char *type;       /* the workflow's event id */
    const char *actor_role; /* role name the actor acts in */
    int64_t actor_id;       /* users.id, or 0 for the system */
    ehc_date effective_on;
    const char *fields_json;     /* a JSON object of field values, or NULL */
    const char *idempotency_key; /* NULL, or the client's key: a retry returns the first outcome */
    /* When set, the write's line in the access log (actor_id, this resource, request_id) is recorded
     * in the same transaction as the event: never one without the other. */
    const char *access_resource;
    const char *request_id;
} ehc_store_event;

typedef struct ehc_store_open_cmd {
    int64_t authority_id;
    int64_t child_id;       /* a known child, or 0 with child_json */
    const char *child_json; /* a child not yet known: validated fields as a JSON object, recorded
                             * in the same transaction as the case */
    const char *workflow_id;
    const char *reference; /* NULL: generated */
    int64_t team_id;       /* 0: none yet */
    int64_t officer_id;    /* 0: unallocated */
    bool migrated;
    ehc_store_event event; /* the workflow's opening event */
} ehc_store_open_cmd;

typedef struct ehc_store_record_cmd {
    int64_t authority_id;
    int64_t case_id;
    int32_t expected_version; /* the case version the caller read */
    ehc_store_event event;
} ehc_store_record_cmd;

typedef struct ehc_store_result {
    /* 0 committed; EHC_ECONFLICT stale version (current_version says the latest);
     * EHC_ENOENT no such case for this authority; EHC_EINVAL/EHC_EFORBIDDEN/EHC_ESTATE/EHC_ERANGE the
     * machine refused (machine_error says why); EHC_EUNAVAILABLE the database could not be reached
     * or the outcome is unknown (retry with the same idempotency key); EHC_ETIMEDOUT likewise. */
    int status;
    int64_t case_id;
    int32_t version;         /* the case version after the command (= the event's seq) */
    int32_t current_version; /* on EHC_ECONFLICT */
    bool replayed;           /* an idempotent retry: the first attempt's outcome */
    ehc_machine_error machine_error;
    char message[256]; /* for logs and error bodies; never personal data */
} ehc_store_result;

typedef void (*ehc_store_cb)(void *data, const ehc_store_result *result);

typedef struct ehc_store_options {
    int max_batch;        /* commands per commit (default 128) */
    int max_inflight;     /* commits in flight at once (default: pool size) */
    int query_timeout_ms; /* per round trip (default 5000) */
} ehc_store_options;

void ehc_store_options_default(ehc_store_options *opts);

EHC_MUST_USE int ehc_store_new(uv_loop_t *loop, ehc_pg_pool *pool, const ehc_definitions *defs,
                               const ehc_clock *clock, const ehc_store_options *opts, ehc_store **out);
/* Commands still in flight complete (with their real outcome or EHC_ECLOSED) before on_freed. */
void ehc_store_free(ehc_store *store);

/* Both return 0 when the command is under way (cb will run later), or a negative status at once
 * for malformed input or an unreachable database (cb is then not called). */
EHC_MUST_USE int ehc_store_open_case(ehc_store *store, const ehc_store_open_cmd *cmd, ehc_store_cb cb,
                                     void *data);
EHC_MUST_USE int ehc_store_record_event(ehc_store *store, const ehc_store_record_cmd *cmd, ehc_store_cb cb,
                                        void *data);

/* Called after each command that committed and wrote a deadline or resolved an alert (not for
 * replays, nor for an event that left every deadline as it was), with its case: the scheduler's hook
 * to plan the case's new or moved deadlines at once. */
void ehc_store_on_commit(ehc_store *store, void (*hook)(void *data, int64_t case_id), void *data);

/* Commits made and commands committed so far (group commit shows as commands > commits). */
void ehc_store_stats(const ehc_store *store, uint64_t *commits, uint64_t *commands);

/* Replays a case's events (the JSON array of ehc_case_snapshot) through the machine into *state.
 * Used by the store and by `ehcd verify`. On failure err says which event and why. */
EHC_MUST_USE int ehc_store_replay(const ehc_workflow *wf, const ehc_calendar_set *calendars,
                                  const char *events_json, ehc_case_state *state, ehc_machine_error *err);

/* The whole projection of a case state as the store writes it (a cJSON object the caller frees):
 * "projection" (stage, status, closed_on), "deadlines", "reports", "advice", "exceptions" and the SEN2
 * records ("sen2_plan", "sen2_placements", "sen2_needs"), every
 * row of each, as if all the case's events were recorded in one command. Used by the import, which
 * writes a replayed history at once (sql/0036). */
struct cJSON *ehc_store_projection_json(const ehc_workflow *wf, const ehc_case_state *state);

#endif
