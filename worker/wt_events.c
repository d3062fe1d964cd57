/* wt_events - fenced, retried event writes.
 *
 * The fence itself lives in the store's append script (Redis compares the
 * epoch atomically with the write), so a worker that was paused or cut off
 * cannot overwrite the new lease holder's history. This module only adds
 * the retry policy: an I/O error (connection refused, timeout) is retried
 * with backoff from 50 ms doubling to 2 s for at most retry_ms, so a short
 * Redis restart pauses sessions instead of failing them; a server refusal
 * is never retried. */
#include "wt_events.h"

#include "wt_alloc.h"
#include "wt_clock.h"
#include "wt_log.h"

#include <stdlib.h>
#include <string.h>

void
wt_events_init(wt_events_t *self, wt_store_t *store, const char *sid, int64_t epoch)
{
    memset(self, 0, sizeof *self);
    self->store = store;
    self->sid = sid;
    self->epoch = epoch;
    self->retry_ms = WT_EVENTS_RETRY_MS;
}

static int
abandoned(const wt_events_t *self)
{
    return self->abandon != NULL && *self->abandon != 0;
}

int
wt_events_emit(wt_events_t *self, const char *type, json_t *data, int fleet, int nfields,
               const char **fields, wt_err_t *err)
{
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (text == NULL)
        text = wt_xstrdup("{}");
    int64_t give_up = wt_clock_mono_ms() + self->retry_ms;
    int64_t backoff = 50;
    int warned = 0, rc = -1;
    for (;;) {
        wt_err_t e = {0};
        if (wt_store_append(self->store, self->sid, __atomic_load_n(&self->epoch, __ATOMIC_SEQ_CST),
                            type, text, fleet, nfields, fields, &e) == 0) {
            rc = 0;
            self->written++;
            break;
        }
        if (e.code == WT_ESTALE) {
            self->stale = 1;
            if (err)
                *err = e;
            break;
        }
        if (abandoned(self)) {
            wt_err_set(err, WT_ETIMEDOUT, "cannot write %s of session %s: abandoned (%s)", type,
                       self->sid, e.msg);
            break;
        }
        int64_t left = give_up - wt_clock_mono_ms();
        if (left <= 0) {
            if (err)
                *err = e;
            break;
        }
        if (!warned++)
            wt_log_warn("session %s: paused, cannot write %s (retrying for %lld ms): %s", self->sid,
                        type, (long long)self->retry_ms, e.msg);
        wt_clock_sleep_ms(backoff < left ? backoff : left);
        backoff = backoff < 1000 ? backoff * 2 : 2000;
    }
    if (rc == 0 && warned)
        wt_log_info("session %s: Redis answers again, resuming", self->sid);
    free(text);
    return rc;
}
