/* wt_stuck - stuck signals as counters. A call's identity is a 64-bit
 * FNV-1a hash of its name and its arguments dumped with sorted keys, so
 * argument order does not matter and no length limit truncates the
 * comparison. Each signal starts over after it fires: under notify_only a
 * session that stays stuck is reported again only after the same evidence
 * builds up again, not on every turn. */
#include "wt_stuck.h"

#include "wt_alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
wt_stuck_init(wt_stuck_t *self)
{
    memset(self, 0, sizeof *self);
}

static uint64_t
fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

int
wt_stuck_tool_call(wt_stuck_t *self, const char *name, json_t *input)
{
    char *args = input ? json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    uint64_t sig = fnv1a(fnv1a(fnv1a(14695981039346656037ull, name), "\n"), args ? args : "");
    if (self->repeat > 0 && sig == self->last_sig) {
        self->repeat++;
    } else {
        self->repeat = 1;
        self->last_sig = sig;
        snprintf(self->last_call, sizeof self->last_call, "%s %s", name, args ? args : "{}");
    }
    free(args);
    if (self->repeat < WT_STUCK_REPEAT)
        return 0;
    self->repeat = 0;
    return 1;
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
    if (self->deadline_warned || total_ms <= 0 || left_ms * 10 >= total_ms)
        return 0;
    self->deadline_warned = 1;
    return 1;
}

const char *
wt_stuck_last_call(const wt_stuck_t *self)
{
    return self->last_call;
}
