/* Unit tests of wt_cron: parsing (lists, ranges, steps, names, errors with
 * the offset of the bad field) and next-fire times in UTC (no DST). */
#include "wt_cron.h"
#include "wt_test.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 2030-01-01T00:00:00Z, a Tuesday. */
#define T0 1893456000LL

static int64_t
next_of(const char *expr, int64_t after)
{
    wt_cron_t c;
    char why[200];
    if (wt_cron_parse(&c, expr, why, sizeof why, NULL) != 0) {
        fprintf(stderr, "parse '%s': %s\n", expr, why);
        return -2;
    }
    return wt_cron_next(&c, after);
}

static void
test_parse_fields(void)
{
    wt_cron_t c;
    char why[200];
    WT_CHECK(wt_cron_parse(&c, "*/15 9-17 1,15 jan-mar,DEC mon-fri", why, sizeof why, NULL) == 0);
    WT_CHECK(c.minute == ((1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45)));
    WT_CHECK(c.hour == 0x3fe00u);
    WT_CHECK(c.dom == ((1u << 1) | (1u << 15)));
    WT_CHECK(c.month == ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 12)));
    WT_CHECK(c.dow == 0x3e && !c.dom_star && !c.dow_star);
    WT_CHECK(wt_cron_parse(&c, "5/20 * * * 7", why, sizeof why, NULL) == 0);
    WT_CHECK(c.minute == ((1ull << 5) | (1ull << 25) | (1ull << 45)) && c.dow == 1);
    WT_CHECK(wt_cron_parse(&c, "0 0 * * 5-7", why, sizeof why, NULL) == 0);
    WT_CHECK(c.dow == ((1 << 5) | (1 << 6) | 1));
    WT_CHECK(wt_cron_parse(&c, "  1-10/3   *  *  *  *  ", why, sizeof why, NULL) == 0);
    WT_CHECK(c.minute == ((1ull << 1) | (1ull << 4) | (1ull << 7) | (1ull << 10)));
}

static void
test_parse_errors(void)
{
    wt_cron_t c;
    char why[200];
    size_t off = 99;
    WT_CHECK(wt_cron_parse(&c, "* * * *", why, sizeof why, &off) == -1);
    WT_CHECK(strstr(why, "4 fields, expected five") != NULL);
    WT_CHECK(wt_cron_parse(&c, "0 24 * * *", why, sizeof why, &off) == -1);
    WT_CHECK(off == 2 && strstr(why, "hour '24' out of range 0-23") != NULL);
    WT_CHECK(wt_cron_parse(&c, "* * * foo *", why, sizeof why, &off) == -1);
    WT_CHECK(off == 6 && strstr(why, "bad month 'foo'") != NULL);
    WT_CHECK(wt_cron_parse(&c, "*/0 * * * *", why, sizeof why, &off) == -1);
    WT_CHECK(off == 0 && strstr(why, "step") != NULL);
    WT_CHECK(wt_cron_parse(&c, "10-5 * * * *", why, sizeof why, &off) == -1);
    WT_CHECK(strstr(why, "backwards") != NULL);
    WT_CHECK(wt_cron_parse(&c, "1, * * * *", why, sizeof why, &off) == -1);
    WT_CHECK(wt_cron_parse(&c, "* * 0 * *", why, sizeof why, &off) == -1);
    WT_CHECK(off == 4 && strstr(why, "day of month '0'") != NULL);
    WT_CHECK(wt_cron_parse(&c, "* * * * * *", why, sizeof why, &off) == -1);
    WT_CHECK(off == 10 && strstr(why, "more than five") != NULL);
    WT_CHECK(wt_cron_parse(&c, "1-2-3 * * * *", why, sizeof why, &off) == -1);
    WT_CHECK(wt_cron_parse(&c, "99999999999999 * * * *", why, sizeof why, &off) == -1);
}

static void
test_next_fire(void)
{
    WT_CHECK(next_of("* * * * *", T0) == T0 + 60);
    WT_CHECK(next_of("* * * * *", T0 + 59) == T0 + 60);
    WT_CHECK(next_of("* * * * *", T0 - 1) == T0);
    WT_CHECK(next_of("*/5 * * * *", T0 + 61) == T0 + 300);
    WT_CHECK(next_of("30 2 * * *", T0) == T0 + 2 * 3600 + 1800);
    WT_CHECK(next_of("0 0 * * *", T0) == T0 + 86400);
    /* 2030-01-01 is a Tuesday: next Saturday is Jan 5 */
    WT_CHECK(next_of("0 12 * * sat", T0) == T0 + 4 * 86400 + 12 * 3600);
    /* first of next month; Feb 29 2032 (leap year) */
    WT_CHECK(next_of("0 0 1 * *", T0) == T0 + 31 * 86400);
    WT_CHECK(next_of("0 0 29 feb *", T0) == 1961625600LL);
    /* both day fields restricted: either matches (15th, or a Sunday: Jan 6) */
    WT_CHECK(next_of("0 0 15 * sun", T0) == T0 + 5 * 86400);
    /* Vixie cron: a day field starting with '*' ("*\/2") counts as
     * unrestricted, so both must hold: an odd day that is a Sunday (Jan 13),
     * not every odd day or Sunday (Jan 3) */
    WT_CHECK(next_of("0 0 */2 * sun", T0) == T0 + 12 * 86400);
    /* the 1st of a month that is a Sun, Wed or Sat: 2030-05-01 (a Wednesday) */
    WT_CHECK(next_of("0 0 1 * */3", T0) == T0 + 120 * 86400);
    /* Feb 30 never comes */
    WT_CHECK(next_of("0 0 30 feb *", T0) == -1);
}

static void
test_matches(void)
{
    wt_cron_t c;
    char why[200];
    WT_CHECK(wt_cron_parse(&c, "0-10 8 * * 1-5", why, sizeof why, NULL) == 0);
    time_t t = (time_t)(T0 + 8 * 3600 + 5 * 60);
    struct tm tm;
    gmtime_r(&t, &tm);
    WT_CHECK(wt_cron_matches(&c, &tm));
    tm.tm_min = 11;
    WT_CHECK(!wt_cron_matches(&c, &tm));
    tm.tm_min = 5;
    tm.tm_wday = 0;
    WT_CHECK(!wt_cron_matches(&c, &tm));
}

static void
setup_utc(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
}

WT_TEST_MAIN(WT_TEST(setup_utc), WT_TEST(test_parse_fields), WT_TEST(test_parse_errors),
             WT_TEST(test_next_fire), WT_TEST(test_matches))
