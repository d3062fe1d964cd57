/* wt_cron - five-field cron expressions (minute hour day-of-month month
 * day-of-week) and their next fire time. Each field is '*' or a list of
 * items separated by ',', an item being N, A-B, * /S or A-B/S (also N/S:
 * from N to the field's end); months accept jan..dec and days sun..sat
 * (any case); day-of-week 7 is Sunday like 0. When both day fields are
 * restricted a day matches if either does (Vixie cron: a field starting
 * with '*', like '*' + "/2", counts as unrestricted). Times are evaluated
 * in the process's local time zone (TZ). Plain data, no allocation. */
#ifndef WT_CRON_H
#define WT_CRON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct wt_cron {
    uint64_t minute; /* bit m: minute m (0-59) */
    uint32_t hour;   /* bit h: hour h (0-23) */
    uint32_t dom;    /* bit d: day of month d (1-31) */
    uint16_t month;  /* bit m: month m (1-12) */
    uint8_t dow;     /* bit d: day of week d (0-6, Sunday 0) */
    int dom_star;    /* day-of-month field starts with '*' */
    int dow_star;    /* day-of-week field starts with '*' */
} wt_cron_t;

/* Parses expr. On failure returns -1, writes "what is wrong" into why (cap
 * bytes) and the 0-based offset of the bad field into *offset (may be NULL). */
int wt_cron_parse(wt_cron_t *out, const char *expr, char *why, size_t cap, size_t *offset);
/* 1 when the broken-down local time tm (its minute) matches. */
int wt_cron_matches(const wt_cron_t *self, const struct tm *tm);
/* The first minute strictly after after_s (Unix seconds) that matches, as
 * Unix seconds at the start of that minute; -1 when none within 5 years. */
int64_t wt_cron_next(const wt_cron_t *self, int64_t after_s);

#endif
