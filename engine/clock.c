/* The real clock behind the ehc_clock interface. The simulated clock of `serve --sim-clock`
 * implements the same interface elsewhere. */
#include "ehc/clock.h"

#include <time.h>

static ehc_instant real_now(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ehc_instant at = {.us = (int64_t)ts.tv_sec * EHC_US_PER_SECOND + ts.tv_nsec / 1000};
    return at;
}

ehc_clock ehc_clock_real(void)
{
    ehc_clock c = {.now = real_now, .ctx = NULL};
    return c;
}

ehc_instant ehc_clock_now(const ehc_clock *clock)
{
    return clock->now(clock->ctx);
}

int ehc_clock_today(const ehc_clock *clock, ehc_date *out)
{
    return ehc_date_of_instant(ehc_clock_now(clock), out);
}
