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

WT_TEST_MAIN(WT_TEST(test_nth))
