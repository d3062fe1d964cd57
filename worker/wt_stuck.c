/* wt_stuck - stuck signals as counters. A call's identity is the SHA-256
 * of its name and its arguments dumped with sorted keys, so
 * argument order does not matter and no length limit truncates the
 * comparison. Each signal starts over after it fires: under notify_only a
 * session that stays stuck is reported again only after the same evidence
 * builds up again, not on every turn. */
#include "wt_stuck.h"

#include "wt_alloc.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
wt_stuck_init(wt_stuck_t *self)
{
    memset(self, 0, sizeof *self);
}

/* SHA-256 of name, a newline, args: one-shot SHA256() over them joined
 * (no digest context and no implicit algorithm fetch per call, which were
 * most of this function's cost for a short session). */
static void
signature(const char *name, const char *args, unsigned char out[32])
{
    size_t nl = strlen(name), al = strlen(args);
    char small[1024];
    char *buf = nl + 1 + al <= sizeof small ? small : wt_xmalloc(nl + 1 + al);
    memcpy(buf, name, nl);
    buf[nl] = '\n';
    memcpy(buf + nl + 1, args, al);
    SHA256((const unsigned char *)buf, nl + 1 + al, out);
    if (buf != small)
        free(buf);
}

int
wt_stuck_tool_call(wt_stuck_t *self, const char *name, json_t *input)
{
    char *args = input ? json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    unsigned char sig[32];
    signature(name, args ? args : "", sig);
    if (self->repeat > 0 && memcmp(sig, self->last_sig, sizeof sig) == 0) {
        self->repeat++;
    } else {
        self->repeat = 1;
        memcpy(self->last_sig, sig, sizeof sig);
        snprintf(self->last_call, sizeof self->last_call, "%s %s", name, args ? args : "{}");
    }
    free(args);
    if (self->repeat < WT_STUCK_REPEAT)
        return 0;
    self->repeat = 0;
    return 1;
}

void
wt_stuck_progress(wt_stuck_t *self)
{
    self->repeat = 0;
}

int
wt_stuck_turn(wt_stuck_t *self, int advanced)
{
    self->ring[self->nturns % WT_STUCK_WINDOW] = advanced != 0;
    self->nturns++;
    if (self->nturns < WT_STUCK_WINDOW)
        return 0;
    int idle = 0;
    for (int i = 0; i < WT_STUCK_WINDOW; i++)
        idle += !self->ring[i];
    if (idle < WT_STUCK_IDLE)
        return 0;
    self->nturns = 0;
    memset(self->ring, 0, sizeof self->ring);
    return 1;
}

int
wt_stuck_deadline(wt_stuck_t *self, int64_t left_ms, int64_t total_ms)
{
    if (self->deadline_warned || total_ms <= 0)
        return 0;
    int64_t pace = self->deadline_last_left > left_ms ? self->deadline_last_left - left_ms : 0;
    self->deadline_last_left = left_ms;
    if (left_ms * 10 >= total_ms && (pace == 0 || left_ms >= 2 * pace))
        return 0;
    self->deadline_warned = 1;
    return 1;
}

const char *
wt_stuck_last_call(const wt_stuck_t *self)
{
    return self->last_call;
}
