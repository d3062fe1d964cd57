/* wt_cron - five-field cron expressions; see wt_cron.h. */
#include "wt_cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct field {
    const char *name;         /* for messages */
    int lo, hi;               /* allowed range */
    const char *const *names; /* 3-letter names for lo.., or NULL */
} field_t;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
                                          "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const field_t fields[5] = {
    {"minute", 0, 59, NULL},          {"hour", 0, 23, NULL},
    {"day of month", 1, 31, NULL},    {"month", 1, 12, month_names},
    {"day of week", 0, 7, dow_names},
};

/* Reads a number or a name at *p; -1 when neither. */
static int
read_value(const field_t *f, const char **p, const char *end)
{
    const char *s = *p;
    if (s < end && isdigit((unsigned char)*s)) {
        long v = 0;
        while (s < end && isdigit((unsigned char)*s) && v < 1000)
            v = v * 10 + (*s++ - '0');
        *p = s;
        return (int)v;
    }
    if (f->names != NULL && end - s >= 3)
        for (int i = 0; f->names[i]; i++)
            if (strncasecmp(s, f->names[i], 3) == 0 &&
                (end - s == 3 || !isalpha((unsigned char)s[3]))) {
                *p = s + 3;
                return f->lo + i;
            }
    return -1;
}

static int
parse_field(const field_t *f, const char *s, const char *end, uint64_t *bits, int *star, char *why,
            size_t cap)
{
    *bits = 0;
    *star = (s < end && *s == '*'); /* Vixie cron: "*" and "*\/N" both count as unrestricted */
    if (s == end)
        return snprintf(why, cap, "empty %s field", f->name), -1;
    const char *p = s;
    while (p < end) {
        const char *item = p;
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *iend = comma ? comma : end;
        int a, b, step = 1;
        if (*p == '*') {
            a = f->lo;
            b = f->hi == 7 ? 6 : f->hi;
            p++;
        } else {
            if ((a = read_value(f, &p, iend)) < 0)
                return snprintf(why, cap, "bad %s '%.*s': expected a number%s", f->name,
                                (int)(iend - item), item, f->names ? " or a name" : ""),
                       -1;
            b = a;
            if (p < iend && *p == '-') {
                p++;
                if ((b = read_value(f, &p, iend)) < 0)
                    return snprintf(why, cap, "bad %s range '%.*s'", f->name, (int)(iend - item),
                                    item),
                           -1;
            } else if (p < iend && *p == '/') {
                b = f->hi == 7 ? 6 : f->hi;
            }
        }
        if (p < iend && *p == '/') {
            p++;
            const char *q = p;
            long v = 0;
            while (p < iend && isdigit((unsigned char)*p) && v < 1000)
                v = v * 10 + (*p++ - '0');
            if (p == q || v < 1)
                return snprintf(why, cap, "bad %s step in '%.*s': expected a positive number",
                                f->name, (int)(iend - item), item),
                       -1;
            step = (int)v;
        }
        if (p != iend)
            return snprintf(why, cap, "bad %s '%.*s'", f->name, (int)(iend - item), item), -1;
        if (a < f->lo || a > f->hi || b < f->lo || b > f->hi)
            return snprintf(why, cap, "%s '%.*s' out of range %d-%d", f->name, (int)(iend - item),
                            item, f->lo, f->hi),
                   -1;
        if (b < a)
            return snprintf(why, cap, "%s range '%.*s' runs backwards", f->name, (int)(iend - item),
                            item),
                   -1;
        for (int v = a; v <= b; v += step)
            *bits |= (uint64_t)1 << (f->hi == 7 && v == 7 ? 0 : v);
        if (comma) {
            p = comma + 1;
            if (p == end)
                return snprintf(why, cap, "%s list ends with ','", f->name), -1;
        }
    }
    return 0;
}

int
wt_cron_parse(wt_cron_t *out, const char *expr, char *why, size_t cap, size_t *offset)
{
    memset(out, 0, sizeof *out);
    const char *p = expr;
    uint64_t bits[5];
    int star[5];
    int n = 0;
    if (offset)
        *offset = 0;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (n == 5) {
            if (offset)
                *offset = (size_t)(s - expr);
            return snprintf(why, cap, "more than five fields (minute hour day month weekday)"), -1;
        }
        if (parse_field(&fields[n], s, p, &bits[n], &star[n], why, cap) != 0) {
            if (offset)
                *offset = (size_t)(s - expr);
            return -1;
        }
        n++;
    }
    if (n < 5)
        return snprintf(why, cap,
                        "%d field%s, expected five (minute hour day-of-month month day-of-week)", n,
                        n == 1 ? "" : "s"),
               -1;
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->dow = (uint8_t)bits[4];
    out->dom_star = star[2];
    out->dow_star = star[4];
    return 0;
}

static int
day_matches(const wt_cron_t *self, const struct tm *tm)
{
    int dom = (self->dom >> tm->tm_mday) & 1, dow = (self->dow >> tm->tm_wday) & 1;
    if (self->dom_star || self->dow_star)
        return dom && dow;
    return dom || dow;
}

int
wt_cron_matches(const wt_cron_t *self, const struct tm *tm)
{
    return ((self->minute >> tm->tm_min) & 1) && ((self->hour >> tm->tm_hour) & 1) &&
           ((self->month >> (tm->tm_mon + 1)) & 1) && day_matches(self, tm);
}

/* Local midnight of the day after tm (months roll over through mktime). */
static int64_t
next_day(struct tm tm, int months)
{
    if (months) {
        tm.tm_mon++;
        tm.tm_mday = 1;
    } else {
        tm.tm_mday++;
    }
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm);
}

int64_t
wt_cron_next(const wt_cron_t *self, int64_t after_s)
{
    int64_t t = (after_s >= 0 ? after_s / 60 : (after_s - 59) / 60) * 60 + 60;
    int64_t limit = after_s + (int64_t)5 * 366 * 86400;
    while (t <= limit) {
        time_t tt = (time_t)t;
        struct tm tm;
        if (localtime_r(&tt, &tm) == NULL)
            return -1;
        int64_t nt;
        if (!((self->month >> (tm.tm_mon + 1)) & 1))
            nt = next_day(tm, 1);
        else if (!day_matches(self, &tm))
            nt = next_day(tm, 0);
        else if (!((self->hour >> tm.tm_hour) & 1))
            nt = t - tm.tm_min * 60 - tm.tm_sec + 3600;
        else if (!((self->minute >> tm.tm_min) & 1))
            nt = t - tm.tm_sec + 60;
        else
            return t - tm.tm_sec;
        t = nt > t ? nt : t + 60; /* mktime across a DST gap: keep moving */
    }
    return -1;
}
