/* Unit tests of the common helpers: bounded buffers and strings, durations,
 * ULIDs, Redis URL parsing (with the password never shown). */
#include "wt_addr.h"
#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_clock.h"
#include "wt_redis.h"
#include "wt_test.h"
#include "wt_ulid.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
test_buf_cap_is_enforced_before_allocating(void)
{
    wt_buf_t b;
    wt_buf_init(&b, 8);
    wt_err_t err = {0};
    WT_CHECK(wt_buf_puts(&b, "12345678", &err) == 0);
    WT_CHECK(wt_buf_puts(&b, "9", &err) == -1 && err.code == WT_ELIMIT);
    WT_CHECK(strcmp(wt_buf_str(&b), "12345678") == 0 && b.len == 8);
    wt_buf_reset(&b);
    WT_CHECK(wt_buf_printf(&b, &err, "%d-%s", 42, "x") == 0);
    WT_CHECK_STR(wt_buf_str(&b), "42-x");
    char *p = wt_buf_detach(&b);
    WT_CHECK_STR(p, "42-x");
    free(p);
    WT_CHECK(b.data == NULL && b.len == 0);
    wt_buf_release(&b);
}

static void
test_strndup_stops_at_nul(void)
{
    char *s = wt_xstrndup("abc", 200); /* n larger than the string */
    WT_CHECK_STR(s, "abc");
    free(s);
    s = wt_xstrndup("abcdef", 3);
    WT_CHECK_STR(s, "abc");
    free(s);
    char small[4];
    WT_CHECK(wt_strlcpy(small, "toolong", sizeof small) == -1);
    WT_CHECK_STR(small, "too");
}

static void
test_durations(void)
{
    WT_CHECK(wt_clock_parse_duration_ms("90s") == 90000);
    WT_CHECK(wt_clock_parse_duration_ms("30m") == 1800000);
    WT_CHECK(wt_clock_parse_duration_ms("2h") == 7200000);
    WT_CHECK(wt_clock_parse_duration_ms("250ms") == 250);
    WT_CHECK(wt_clock_parse_duration_ms("1.5s") == 1500);
    WT_CHECK(wt_clock_parse_duration_ms("12") == 12000);
    WT_CHECK(wt_clock_parse_duration_ms("soon") == -1);
    WT_CHECK(wt_clock_parse_duration_ms("5 m") == -1);
    WT_CHECK(wt_clock_parse_duration_ms("-3s") == -1);
    WT_CHECK(wt_clock_parse_duration_ms("") == -1);
}

static void
test_ulids_sort_by_time(void)
{
    char a[27], b[27], c[27];
    wt_ulid_make(a, 1760000000000);
    wt_ulid_make(b, 1760000000001);
    wt_ulid_make(c, 1760000000001);
    WT_CHECK(wt_ulid_valid(a) && wt_ulid_valid(b));
    WT_CHECK(strcmp(a, b) < 0);
    WT_CHECK(strcmp(b, c) != 0); /* random part differs */
    WT_CHECK(!wt_ulid_valid("short") && !wt_ulid_valid("01HZX0000000000000000000A!"));
}

static void
test_redis_urls(void)
{
    wt_redis_url_t u;
    wt_err_t err = {0};
    WT_CHECK(wt_redis_parse_url("redis://127.0.0.1:6380/2", &u, &err) == 0);
    WT_CHECK(strcmp(u.host, "127.0.0.1") == 0 && u.port == 6380 && u.db == 2);
    WT_CHECK(wt_redis_parse_url("redis://:s3cret@localhost", &u, &err) == 0);
    WT_CHECK(strcmp(u.password, "s3cret") == 0 && u.port == 6379);
    WT_CHECK(wt_redis_parse_url("unix:///run/redis.sock?db=3", &u, &err) == 0);
    WT_CHECK(strcmp(u.path, "/run/redis.sock") == 0 && u.db == 3);
    WT_CHECK(wt_redis_parse_url("http://x", &u, &err) == -1 && strstr(err.msg, "redis://"));
    WT_CHECK(wt_redis_parse_url("redis://host:99999", &u, &err) == -1);
    char shown[128];
    wt_redis_url_display("redis://:s3cret@localhost:6379/0", shown, sizeof shown);
    WT_CHECK(strstr(shown, "s3cret") == NULL && strstr(shown, "localhost") != NULL);
    /* ACL users, %-encoded passwords, and errors that never quote the password */
    WT_CHECK(wt_redis_parse_url("redis://fleet:p%40ss:w@10.0.0.2:6380/3", &u, &err) == 0);
    WT_CHECK_STR(u.user, "fleet");
    WT_CHECK_STR(u.password, "p@ss:w");
    WT_CHECK_STR(u.host, "10.0.0.2");
    WT_CHECK(u.port == 6380 && u.db == 3);
    WT_CHECK(wt_redis_parse_url("redis://fleet@h", &u, &err) == 0);
    WT_CHECK(strcmp(u.user, "fleet") == 0 && u.password[0] == '\0');
    wt_redis_url_display("redis://fleet:s3cret@h:1/0", shown, sizeof shown);
    WT_CHECK_STR(shown, "redis://fleet:***@h:1/0");
    WT_CHECK(wt_redis_parse_url("redis://fleet:s3cret@h:notaport", &u, &err) == -1);
    WT_CHECK(strstr(err.msg, "s3cret") == NULL && strstr(err.msg, "***") != NULL);
    WT_CHECK(wt_redis_parse_url("redis://fleet:s3%4@h", &u, &err) == -1);
    WT_CHECK(strstr(err.msg, "s3") == NULL && strstr(err.msg, "password") != NULL);
    /* redis-sentinel://: a host list, a master name, an optional db */
    WT_CHECK(wt_redis_parse_url("redis-sentinel://a:26379,b:26380,10.0.0.3/mymaster/2", &u, &err) ==
             0);
    WT_CHECK(u.nsentinels == 3 && u.sentinels[1].port == 26380 && u.sentinels[2].port == 26379);
    WT_CHECK_STR(u.sentinels[0].host, "a");
    WT_CHECK_STR(u.sentinels[2].host, "10.0.0.3");
    WT_CHECK_STR(u.master, "mymaster");
    WT_CHECK(u.db == 2 && u.host[0] == '\0');
    WT_CHECK(wt_redis_parse_url("redis-sentinel://fleet:s3cret@h:1/m", &u, &err) == 0);
    WT_CHECK_STR(u.user, "fleet");
    WT_CHECK_STR(u.password, "s3cret");
    WT_CHECK(u.nsentinels == 1 && u.db == 0);
    WT_CHECK_STR(u.master, "m");
    WT_CHECK(wt_redis_parse_url("redis-sentinel://h:1", &u, &err) == -1);
    WT_CHECK(strstr(err.msg, "MASTER_NAME") != NULL);
    WT_CHECK(wt_redis_parse_url("redis-sentinel://x:s3cret@h:1,/m", &u, &err) == -1);
    WT_CHECK(strstr(err.msg, "sentinel host") && strstr(err.msg, "s3cret") == NULL);
    WT_CHECK(wt_redis_parse_url("redis-sentinel://h:0/m", &u, &err) == -1);
    WT_CHECK(wt_redis_parse_url("redis-sentinel://h:1/m/x", &u, &err) == -1);
    WT_CHECK(wt_redis_parse_url("redis-sentinel://1,2,3,4,5,6,7,8,9/m", &u, &err) == -1);
    /* no reachable sentinel: a clear error naming each address, no crash */
    wt_redis_t *rs = wt_redis_new("redis-sentinel://127.0.0.1:1,127.0.0.1:2/m", 200, &err);
    WT_CHECK(rs != NULL && wt_redis_connect(rs, &err) == -1);
    WT_CHECK(strstr(err.msg, "127.0.0.1:1 unreachable") && strstr(err.msg, "127.0.0.1:2"));
    WT_CHECK(wt_redis_errors(rs) == 1);
    wt_redis_destroy(&rs);
    /* the password file: trailing newline stripped, errors name the file */
    char path[] = "/tmp/wt-redis-pw-XXXXXX", pw[64];
    int fd = mkstemp(path);
    WT_CHECK(fd >= 0 && write(fd, "s3cret\n", 7) == 7);
    close(fd);
    setenv(WT_REDIS_PASSWORD_FILE_ENV, path, 1);
    WT_CHECK(wt_redis_password_file(pw, sizeof pw, &err) == 0);
    WT_CHECK_STR(pw, "s3cret");
    wt_redis_t *r = wt_redis_new("redis://fleet@127.0.0.1:1/0", 100, &err);
    WT_CHECK(r != NULL);
    WT_CHECK(r && wt_redis_connect(r, &err) == -1 && strstr(err.msg, "s3cret") == NULL);
    wt_redis_destroy(&r);
    unlink(path);
    WT_CHECK(wt_redis_password_file(pw, sizeof pw, &err) == -1);
    WT_CHECK(strstr(err.msg, path) != NULL && strstr(err.msg, WT_REDIS_PASSWORD_FILE_ENV));
    WT_CHECK(wt_redis_new("redis://127.0.0.1:1/0", 100, &err) == NULL && strstr(err.msg, path));
    unsetenv(WT_REDIS_PASSWORD_FILE_ENV);
}

static void
test_http_addrs(void)
{
    wt_addr_t a;
    wt_err_t err = {0};
    WT_CHECK(wt_addr_parse("127.0.0.1:3456", "--http", &a, &err) == 0);
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a.sa;
    WT_CHECK(ntohs(s4->sin_port) == 3456 && s4->sin_family == AF_INET && a.family == AF_INET);
    WT_CHECK(a.port == 3456 && a.len == sizeof *s4);
    WT_CHECK(wt_addr_parse("localhost:0", "--http", &a, &err) == 0);
    WT_CHECK(ntohl(s4->sin_addr.s_addr) == INADDR_LOOPBACK);
    WT_CHECK(wt_addr_parse("3456", "--http", &a, &err) == -1);
    WT_CHECK_STR(err.msg, "bad --http '3456': expected ADDR:PORT or [IPV6]:PORT");
    WT_CHECK(wt_addr_parse("127.0.0.1:70000", "http address", &a, &err) == -1);
    WT_CHECK_STR(err.msg, "bad http address '127.0.0.1:70000': bad port");
    WT_CHECK(wt_addr_parse("example.com:80", "--http", &a, &err) == -1);
    WT_CHECK(strstr(err.msg, "is not an IPv4 address") != NULL);
    /* IPv6 in brackets */
    WT_CHECK(wt_addr_parse("[::1]:3200", "--http", &a, &err) == 0);
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a.sa;
    WT_CHECK(a.family == AF_INET6 && s6->sin6_family == AF_INET6 && a.len == sizeof *s6);
    WT_CHECK(ntohs(s6->sin6_port) == 3200 && IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
    WT_CHECK(wt_addr_parse("[::]:0", "--http", &a, &err) == 0 && a.family == AF_INET6);
    WT_CHECK(wt_addr_parse("[fe80::1%eth0]:80", "--http", &a, &err) == -1);
    WT_CHECK(wt_addr_parse("[::1:80", "--http", &a, &err) == -1);
    WT_CHECK(wt_addr_parse("::1:80", "--http", &a, &err) == -1);
    WT_CHECK(strstr(err.msg, "in brackets") != NULL);
    WT_CHECK(wt_addr_parse("[127.0.0.1]:80", "--http", &a, &err) == -1);
}

static void
test_redis_field(void)
{
    redisReply k1 = {.type = REDIS_REPLY_STRING, .str = "type"};
    redisReply v1 = {.type = REDIS_REPLY_STRING, .str = "session_completed"};
    redisReply k2 = {.type = REDIS_REPLY_STRING, .str = "n"};
    redisReply v2 = {.type = REDIS_REPLY_INTEGER, .integer = 3};
    redisReply *el[] = {&k1, &v1, &k2, &v2};
    redisReply pairs = {.type = REDIS_REPLY_ARRAY, .elements = 4, .element = el};
    WT_CHECK_STR(wt_redis_field(&pairs, "type"), "session_completed");
    WT_CHECK(wt_redis_field(&pairs, "n") == NULL);       /* not a string */
    WT_CHECK(wt_redis_field(&pairs, "session") == NULL); /* absent */
    WT_CHECK(wt_redis_field(&v1, "type") == NULL);       /* not an array */
    WT_CHECK(wt_redis_field(NULL, "type") == NULL);
}

static void
test_clock_file(void)
{
    char path[] = "/tmp/wt_clock_testXXXXXX";
    int fd = mkstemp(path);
    WT_CHECK(fd >= 0);
    WT_CHECK(write(fd, "1700000000\n", 11) == 11);
    close(fd);
    WT_CHECK(wt_clock_file_ms(path) == 1700000000000LL);
    unlink(path);
    int64_t now = wt_clock_now_ms();
    int64_t got = wt_clock_file_ms(path); /* missing: the real clock */
    WT_CHECK(got >= now && got - now < 5000);
    got = wt_clock_file_ms("");
    WT_CHECK(got >= now && got - now < 5000);
}

/* Script SHA-1s are cached per source address: a second init (and one of
 * another source in between) gives the same digest as the first. */
static void
test_script_sha_cached(void)
{
    static const char one[] = "return 1", two[] = "return 2";
    for (int round = 0; round < 2; round++) {
        wt_redis_script_t a, b;
        wt_redis_script_init(&a, one);
        wt_redis_script_init(&b, two);
        WT_CHECK_STR(a.sha1, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
        WT_CHECK_STR(b.sha1, "7f923f79fe76194c868d7e1d0820de36700eb649");
        WT_CHECK(a.source == one && b.source == two);
    }
}

WT_TEST_MAIN(WT_TEST(test_redis_field), WT_TEST(test_script_sha_cached), WT_TEST(test_clock_file),
             WT_TEST(test_http_addrs), WT_TEST(test_buf_cap_is_enforced_before_allocating),
             WT_TEST(test_strndup_stops_at_nul), WT_TEST(test_durations),
             WT_TEST(test_ulids_sort_by_time), WT_TEST(test_redis_urls))
