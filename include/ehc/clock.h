/* The injected clock (architecture principle 7): every "now" and "today" ehcd uses comes from an
 * ehc_clock, never from a direct clock read, so tests can run a simulated clock. */
#ifndef EHC_CLOCK_H
#define EHC_CLOCK_H

#include "ehc/common.h"
#include "ehc/date.h"

typedef struct ehc_clock {
    ehc_instant (*now)(void *ctx);
    void *ctx;
} ehc_clock;

/* The real clock: CLOCK_REALTIME. */
ehc_clock ehc_clock_real(void);

ehc_instant ehc_clock_now(const ehc_clock *clock);
/* Today's civil date in Europe/London. */
EHC_MUST_USE int ehc_clock_today(const ehc_clock *clock, ehc_date *out);

#endif
