/* The simulated clock: an instant kept in the sim_clock row and mirrored here, so now() costs no
 * round trip. Only the database decides whether a move goes backwards (ehc_sim_clock_set), so two
 * daemons or two admins cannot wind it back between them; here the mirror only ever moves forward. */
#include "ehc/simclock.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

struct ehc_simclock {
    ehc_pg_pool *pool;
    ehc_instant now;
    bool loaded;
    bool freeing;
    int inflight;
    ehc_simclock_listener listener;
    void *listener_data;
};

typedef struct clock_op {
    ehc_simclock *sc;
    ehc_simclock_cb cb;
    void *data;
    bool is_set;
} clock_op;

static ehc_instant sim_now(void *ctx)
{
    const ehc_simclock *sc = ctx;
    return sc->now;
}

int ehc_simclock_new(ehc_pg_pool *pool, ehc_instant initial, ehc_simclock **out)
{
    ehc_simclock *sc = ehc_calloc(1, sizeof *sc);
    sc->pool = pool;
    sc->now = initial;
    *out = sc;
    return 0;
}

void ehc_simclock_free(ehc_simclock *sc)
{
    if (!sc) return;
    if (sc->inflight > 0) {
        sc->freeing = true;
        return;
    }
    free(sc);
}

void ehc_simclock_listen(ehc_simclock *sc, ehc_simclock_listener listener, void *data)
{
    sc->listener = listener;
    sc->listener_data = data;
}

bool ehc_simclock_loaded(const ehc_simclock *sc)
{
    return sc->loaded;
}

ehc_clock ehc_simclock_clock(ehc_simclock *sc)
{
    ehc_clock c = {.now = sim_now, .ctx = sc};
    return c;
}

static void on_reply(void *data, int status, PGresult *res, const char *message)
{
    clock_op *op = data;
    ehc_simclock *sc = op->sc;
    sc->inflight--;
    if (sc->freeing) {
        free(op);
        if (sc->inflight == 0) free(sc);
        return;
    }
    ehc_instant stored = sc->now;
    if (status == 0 && (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))) status = EHC_EINVAL;
    if (status == 0) {
        stored.us = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        bool moved = !op->is_set || PQgetvalue(res, 0, 1)[0] == 't';
        if (!moved) status = EHC_ESTATE;
        if (stored.us > sc->now.us || !sc->loaded) sc->now = stored;
        sc->loaded = true;
        if (moved && sc->listener) sc->listener(sc->listener_data, sc->now);
    }
    if (op->cb) op->cb(op->data, status, stored);
    free(op);
}

static int clock_query(ehc_simclock *sc, const char *sql, int64_t us, bool is_set, ehc_simclock_cb cb,
                       void *data)
{
    if (sc->freeing) return EHC_ECLOSED;
    clock_op *op = ehc_calloc(1, sizeof *op);
    *op = (clock_op){.sc = sc, .cb = cb, .data = data, .is_set = is_set};
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, us);
    const char *params[1] = {text};
    int rc = ehc_pg_query(sc->pool, sql, 1, params, 0, on_reply, op);
    if (rc) {
        free(op);
        return rc;
    }
    sc->inflight++;
    return 0;
}

int ehc_simclock_load(ehc_simclock *sc, ehc_simclock_cb cb, void *data)
{
    return clock_query(sc, "SELECT ehc_sim_clock_load($1::bigint), true", sc->now.us, false, cb, data);
}

int ehc_simclock_set(ehc_simclock *sc, ehc_instant to, ehc_simclock_cb cb, void *data)
{
    if (sc->loaded && to.us < sc->now.us) return EHC_ESTATE;
    return clock_query(sc, "SELECT now_us, moved FROM ehc_sim_clock_set($1::bigint)", to.us, true, cb, data);
}
