/* Unit tests of wt_console_auth: token comparison, the redirect after
 * ?token= and the cookie. */
#include "wt_console_auth.h"

#include "wt_test.h"

#include <string.h>

static void
test_equal(void)
{
    WT_CHECK(wt_console_auth_equal("s3cret", "s3cret"));
    WT_CHECK(!wt_console_auth_equal("s3cres", "s3cret"));
    WT_CHECK(!wt_console_auth_equal("s3cret2", "s3cret"));
    WT_CHECK(!wt_console_auth_equal("", "s3cret"));
    WT_CHECK(!wt_console_auth_equal(NULL, "s3cret"));
}

static void
test_check(void)
{
    WT_CHECK(wt_console_auth_check("", NULL, NULL)); /* no token configured */
    WT_CHECK(wt_console_auth_check("tok", "Bearer tok", NULL));
    WT_CHECK(wt_console_auth_check("tok", "bearer  tok", NULL));
    WT_CHECK(wt_console_auth_check("tok", NULL, "tok"));
    WT_CHECK(wt_console_auth_check("tok", "Bearer bad", "tok"));
    WT_CHECK(!wt_console_auth_check("tok", NULL, NULL));
    WT_CHECK(!wt_console_auth_check("tok", "Basic tok", NULL));
    WT_CHECK(!wt_console_auth_check("tok", "Bearer tok ", "nope"));
    WT_CHECK(!wt_console_auth_check("tok", "tok", NULL));
}

static void
test_location_drops_the_token(void)
{
    const char *keys[] = {"status", "token", "goal", "roots"};
    const char *vals[] = {"running", "tok", "a b&c=<d>", NULL};
    wt_buf_t b;
    wt_buf_init(&b, 1024);
    WT_CHECK(wt_console_auth_location(&b, "/api/sessions", 4, keys, vals, NULL) == 0);
    WT_CHECK_STR(wt_buf_str(&b), "/api/sessions?status=running&goal=a%20b%26c%3D%3Cd%3E&roots");
    wt_buf_reset(&b);
    WT_CHECK(wt_console_auth_location(&b, "/", 1, keys + 1, vals + 1, NULL) == 0);
    WT_CHECK_STR(wt_buf_str(&b), "/");
    wt_buf_reset(&b);
    /* "//host/..." in a Location is protocol-relative: the browser would
     * leave the console. Leading slashes collapse to one. */
    WT_CHECK(wt_console_auth_location(&b, "//evil.example/x y", 0, NULL, NULL, NULL) == 0);
    WT_CHECK_STR(wt_buf_str(&b), "/evil.example/x%20y");
    wt_buf_reset(&b);
    WT_CHECK(wt_console_auth_location(&b, "///evil.example", 0, NULL, NULL, NULL) == 0);
    WT_CHECK_STR(wt_buf_str(&b), "/evil.example");
    wt_buf_reset(&b);
    WT_CHECK(wt_console_auth_location(&b, "/\\evil.example", 0, NULL, NULL, NULL) == 0);
    WT_CHECK_STR(wt_buf_str(&b), "/%5Cevil.example");
    wt_buf_reset(&b);
    WT_CHECK(wt_console_auth_location(&b, "http://evil.example/", 0, NULL, NULL, NULL) == 0);
    WT_CHECK(wt_buf_str(&b)[0] == '/'); /* absolute-form request target: still a path */
    wt_buf_release(&b);
}

static void
test_cookie(void)
{
    wt_buf_t b;
    wt_buf_init(&b, 1024);
    WT_CHECK(wt_console_auth_cookie(&b, "abc-DEF_123", NULL) == 0);
    WT_CHECK_STR(wt_buf_str(&b), "wt_token=abc-DEF_123; HttpOnly; SameSite=Strict; Path=/");
    wt_buf_reset(&b);
    wt_err_t err = {0};
    WT_CHECK(wt_console_auth_cookie(&b, "a;b", &err) == -1 && err.code == WT_EINVAL);
    wt_buf_release(&b);
    WT_CHECK(wt_console_auth_token_ok("Zm9vYmFy+/=~._-"));
    WT_CHECK(!wt_console_auth_token_ok(""));
    WT_CHECK(!wt_console_auth_token_ok("has space"));
    WT_CHECK(!wt_console_auth_token_ok("semi;colon"));
}

/* Without a token, only a Host that DNS rebinding cannot produce (an IP
 * literal or localhost) is served. */
static void
test_host(void)
{
    WT_CHECK(wt_console_auth_host_ok(NULL)); /* HTTP/1.0 without Host: not a browser */
    WT_CHECK(wt_console_auth_host_ok("127.0.0.1"));
    WT_CHECK(wt_console_auth_host_ok("127.0.0.1:3456"));
    WT_CHECK(wt_console_auth_host_ok("10.1.2.3:80"));
    WT_CHECK(wt_console_auth_host_ok("localhost:3456"));
    WT_CHECK(wt_console_auth_host_ok("LocalHost"));
    WT_CHECK(wt_console_auth_host_ok("[::1]:3456"));
    WT_CHECK(wt_console_auth_host_ok("[::1]"));
    WT_CHECK(!wt_console_auth_host_ok(""));
    WT_CHECK(!wt_console_auth_host_ok("evil.example"));
    WT_CHECK(!wt_console_auth_host_ok("evil.example:3456"));
    WT_CHECK(!wt_console_auth_host_ok("127.0.0.1.evil.example:3456"));
    WT_CHECK(!wt_console_auth_host_ok("localhost.evil.example"));
    WT_CHECK(!wt_console_auth_host_ok("127.0.0.1:"));
    WT_CHECK(!wt_console_auth_host_ok("127.0.0.1:34x"));
    WT_CHECK(!wt_console_auth_host_ok("[::1"));
    WT_CHECK(!wt_console_auth_host_ok("[evil.example]:80"));
    WT_CHECK(!wt_console_auth_host_ok("::1")); /* unbracketed v6 is not a valid Host */
}

WT_TEST_MAIN(WT_TEST(test_equal), WT_TEST(test_check), WT_TEST(test_location_drops_the_token),
             WT_TEST(test_cookie), WT_TEST(test_host))
