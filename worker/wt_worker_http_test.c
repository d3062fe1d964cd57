/* Unit tests of the worker's health decisions and /metrics rendering; the
 * HTTP end to end (a real worker, a real broker, Redis stopped) is in
 * tests/integration/test_worker_http.py. */
#include "wt_worker_http.h"

#include "wt_test.h"

#include <string.h>

static void
test_liveness_is_the_loop_only(void)
{
    wt_worker_health_t h;
    wt_worker_health_init(&h, "w1", 4, 30000);
    h.loop_beat_ms = 1000;
    /* Redis and broker down: not ready, but still live */
    h.registered = 0;
    h.redis_up = 0;
    WT_CHECK(wt_worker_health_live(&h, 1000 + 30000));
    WT_CHECK(!wt_worker_health_ready(&h));
    /* a wedged loop is what fails liveness */
    WT_CHECK(!wt_worker_health_live(&h, 1000 + 30001));
    wt_worker_health_release(&h);
}

static void
test_readiness(void)
{
    wt_worker_health_t h;
    wt_worker_health_init(&h, "w1", 4, 30000);
    h.registered = 1;
    h.redis_up = 1;
    WT_CHECK(wt_worker_health_ready(&h));
    h.redis_up = 0; /* Redis outage */
    WT_CHECK(!wt_worker_health_ready(&h));
    h.redis_up = 1;
    h.registered = 0; /* broker gone or a standby */
    WT_CHECK(!wt_worker_health_ready(&h));
    h.registered = 1;
    h.draining = 1; /* SIGTERM: out of rotation */
    WT_CHECK(!wt_worker_health_ready(&h));
    wt_worker_health_release(&h);
}

static void
test_render(void)
{
    wt_worker_health_t h;
    wt_worker_health_init(&h, "w1", 4, 30000);
    h.loop_beat_ms = 500;
    h.registered = 1;
    h.redis_up = 1;
    h.running = 3;
    wt_session_counters_t c;
    memset(&c, 0, sizeof c);
    atomic_store(&c.stuck_flagged, 5);
    atomic_store(&c.stuck_ended, 3);
    atomic_store(&c.deliver_fails, 7);
    wt_buf_t b;
    wt_buf_init(&b, 1 << 16);
    WT_CHECK(wt_worker_http_render(&h, &c, 2000, &b, NULL) == 0);
    const char *t = wt_buf_str(&b);
    WT_CHECK(strstr(t, "\nwt_worker_up 1\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_worker_ready 1\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_worker_loop_age_seconds 1.5\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_worker_slots 4\n") != NULL);
    WT_CHECK(strstr(t, "\nwt_worker_sessions_running 3\n") != NULL);
    WT_CHECK(strstr(t, "# TYPE wt_sessions_stuck gauge\nwt_sessions_stuck 2\n") != NULL);
    WT_CHECK(
        strstr(t, "# TYPE wt_delivery_failures_total counter\nwt_delivery_failures_total 7\n") !=
        NULL);
    wt_buf_release(&b);
    /* too small a buffer fails whole, leaving what was there */
    wt_buf_init(&b, 100);
    wt_buf_puts(&b, "x", NULL);
    wt_err_t err = {0};
    WT_CHECK(wt_worker_http_render(&h, NULL, 2000, &b, &err) == -1);
    WT_CHECK(err.code == WT_ELIMIT && b.len == 1);
    wt_buf_release(&b);
    wt_worker_health_release(&h);
}

static void
test_bad_address(void)
{
    wt_worker_health_t h;
    wt_worker_health_init(&h, "w1", 1, 30000);
    wt_err_t err = {0};
    WT_CHECK(wt_worker_http_start("nonsense", &h, NULL, &err) == NULL);
    WT_CHECK(strstr(err.msg, "--http") != NULL);
    wt_worker_http_t *srv = wt_worker_http_start("127.0.0.1:0", &h, NULL, &err);
    WT_CHECK(srv != NULL);
    wt_worker_http_stop(&srv);
    WT_CHECK(srv == NULL);
    wt_worker_health_release(&h);
}

WT_TEST_MAIN(WT_TEST(test_liveness_is_the_loop_only), WT_TEST(test_readiness), WT_TEST(test_render),
             WT_TEST(test_bad_address))
