/* Unit tests of wt_endpoints: entries of a comma-separated endpoint list,
 * trimmed, empty ones skipped, the index taken modulo the count. */
#include "wt_endpoints.h"
#include "wt_test.h"

static void
test_nth(void)
{
    char ep[64];
    WT_CHECK(wt_endpoints_nth("tcp://a:1", 0, ep, sizeof ep) == 1);
    WT_CHECK_STR(ep, "tcp://a:1");
    WT_CHECK(wt_endpoints_nth("tcp://a:1, tcp://b:2 ,,", 1, ep, sizeof ep) == 2);
    WT_CHECK_STR(ep, "tcp://b:2");
    WT_CHECK(wt_endpoints_nth("tcp://a:1,tcp://b:2", 2, ep, sizeof ep) == 2);
    WT_CHECK_STR(ep, "tcp://a:1");
    WT_CHECK(wt_endpoints_nth("tcp://a:1,tcp://b:2", 5, ep, sizeof ep) == 2);
    WT_CHECK_STR(ep, "tcp://b:2");
    WT_CHECK(wt_endpoints_nth(" , ", 0, ep, sizeof ep) == 0);
    WT_CHECK_STR(ep, "");
    WT_CHECK(wt_endpoints_nth(NULL, 0, ep, sizeof ep) == 0);
}

/* Connect endpoints: the worker's --broker and the clients' --broker are
 * refused at start when a broker could never be reached through them. */
static void
test_check(void)
{
    wt_err_t err = {0};
    WT_CHECK(wt_endpoints_check("tcp://10.0.0.5:5556, tcp://b.example:5556", "--broker", &err) ==
             0);
    WT_CHECK(wt_endpoints_check("ipc:///tmp/x.sock", "--broker", &err) == 0);
    WT_CHECK(wt_endpoints_check("tcp://[::1]:5555", "--broker", &err) == 0);
    WT_CHECK(wt_endpoints_check("tcp://nohost", "--broker", &err) == -1);
    WT_CHECK_STR(err.msg, "bad --broker 'tcp://nohost': expected tcp://HOST:PORT");
    WT_CHECK(wt_endpoints_check("tcp://127.0.0.1:99999", "--broker", &err) == -1);
    WT_CHECK_STR(err.msg, "bad --broker 'tcp://127.0.0.1:99999': port must be 1-65535");
    WT_CHECK(wt_endpoints_check("tcp://a:1,udp://1.2.3.4:5", "--clients", &err) == -1);
    WT_CHECK_STR(err.msg, "bad --clients 'udp://1.2.3.4:5': expected tcp://HOST:PORT, ipc://PATH "
                          "or inproc://NAME");
    WT_CHECK(wt_endpoints_check("tcp://a:*", "--broker", &err) == -1);
    WT_CHECK(wt_endpoints_check("tcp://*:5555", "--broker", &err) == -1);
    WT_CHECK(wt_endpoints_check("tcp://:5555", "--broker", &err) == -1);
    WT_CHECK(wt_endpoints_check(" , ", "--broker", &err) == -1);
    WT_CHECK(wt_endpoints_check("ipc://", "--broker", &err) == -1);
    /* a broker binds: '*' is fine there */
    WT_CHECK(wt_endpoint_problem("tcp://*:5555", 1) == NULL);
    WT_CHECK(wt_endpoint_problem("tcp://0.0.0.0:*", 1) == NULL);
    WT_CHECK(wt_endpoint_problem("tcp://0.0.0.0:0", 1) != NULL);
}

WT_TEST_MAIN(WT_TEST(test_nth), WT_TEST(test_check))
