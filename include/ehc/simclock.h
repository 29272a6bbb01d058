/* The simulated clock of `ehcd serve --sim-clock` (architecture principle 7): an ehc_clock whose
 * "now" is an instant stored in PostgreSQL (table sim_clock, sql/0008_scheduler.sql), loaded at start,
 * moved only forwards (by POST /admin/clock), kept across restarts. Moving it calls the listener
 * (the daemon points it at ehc_scheduler_clock_moved) so every alert now due fires, in order.
 *
 * Owner: the loop context; borrows the pool, which must stay open until the clock is freed. */
#ifndef EHC_SIMCLOCK_H
#define EHC_SIMCLOCK_H

#include <stdbool.h>

#include "ehc/clock.h"
#include "ehc/common.h"
#include "ehc/pg.h"

typedef struct ehc_simclock ehc_simclock;

/* status 0: `now` is the stored instant; EHC_ESTATE (set only): the requested instant is earlier
 * than the stored one, which `now` gives and which is unchanged; anything else: the database could
 * not be reached or refused (pg.h statuses), nothing known to have changed. */
typedef void (*ehc_simclock_cb)(void *data, int status, ehc_instant now);
typedef void (*ehc_simclock_listener)(void *data, ehc_instant now);

/* `initial` is stored by the first load on a database that has no simulated time yet. */
EHC_MUST_USE int ehc_simclock_new(ehc_pg_pool *pool, ehc_instant initial, ehc_simclock **out);
/* Frees now, or once the round trips in flight have completed (their callbacks are not called). */
void ehc_simclock_free(ehc_simclock *sc);

/* Reads the stored instant (storing `initial` first if there is none). Returns 0 when under way. */
EHC_MUST_USE int ehc_simclock_load(ehc_simclock *sc, ehc_simclock_cb cb, void *data);
/* Moves the clock to `to` (the same instant again is accepted and changes nothing). Returns 0 when
 * under way, EHC_ESTATE at once when `to` is before the instant already known here. */
EHC_MUST_USE int ehc_simclock_set(ehc_simclock *sc, ehc_instant to, ehc_simclock_cb cb, void *data);
/* Called after every load and every move forward, before the caller's callback. */
void ehc_simclock_listen(ehc_simclock *sc, ehc_simclock_listener listener, void *data);

bool ehc_simclock_loaded(const ehc_simclock *sc);
/* The clock interface over it: now() is the stored instant (`initial` until loaded). Valid while
 * the simclock lives. */
ehc_clock ehc_simclock_clock(ehc_simclock *sc);

#endif
