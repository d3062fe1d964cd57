/* wt_cli_common - helpers shared by the CLI verbs. */
#include "wt_cli_common.h"

#include "wt_endpoints.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
wt_cli_conn_defaults(wt_cli_conn_t *c)
{
    const char *v = getenv("WORKTRAIN_REDIS");
    snprintf(c->redis, sizeof c->redis, "%s", v && *v ? v : "redis://127.0.0.1:6379/0");
    v = getenv("WORKTRAIN_BROKER");
    snprintf(c->broker, sizeof c->broker, "%s", v && *v ? v : "tcp://127.0.0.1:5555");
    wt_cert_peer_defaults(&c->curve);
}

int
wt_cli_conn_opt(wt_cli_conn_t *c, int code, const char *arg)
{
    if (code == WT_CLI_OPT_CURVE_KEY)
        snprintf(c->curve.key_path, sizeof c->curve.key_path, "%s", arg);
    else if (code == WT_CLI_OPT_BROKER_PUB)
        snprintf(c->curve.pub_path, sizeof c->curve.pub_path, "%s", arg);
    else
        return 0;
    return 1;
}

int
wt_cli_conn_check(const char *verb, wt_cli_conn_t *c)
{
    wt_err_t err = {0};
    const char *env = getenv("WORKTRAIN_BROKER");
    const char *what = env && strcmp(env, c->broker) == 0 ? "WORKTRAIN_BROKER" : "--broker";
    if (wt_endpoints_check(c->broker, what, &err) != 0 || wt_cert_peer_load(&c->curve, &err) != 0) {
        fprintf(stderr, "worktrain %s: %s\n", verb, err.msg);
        return 2;
    }
    return 0;
}

int
wt_cli_usage_error(const char *verb, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "worktrain %s: %s (see worktrain %s --help)\n", verb, msg, verb);
    return 2;
}

void
wt_cli_getopt_reset(void)
{
    optind = 1;
    opterr = 0;
}

static int
open_store(const char *verb, const char *url, int patience_ms, wt_redis_t **redis,
           wt_store_t *store)
{
    wt_err_t err = {0};
    *redis = wt_redis_new(url, 5000, &err);
    if (*redis)
        wt_redis_set_patience(*redis, patience_ms);
    if (*redis == NULL || wt_redis_connect(*redis, &err) != 0) {
        fprintf(stderr, "worktrain %s: %s\n", verb, err.msg);
        wt_redis_destroy(redis);
        return -1;
    }
    wt_store_init(store, *redis, NULL);
    return 0;
}

int
wt_cli_open_store(const char *verb, const char *url, wt_redis_t **redis, wt_store_t *store)
{
    return open_store(verb, url, 0, redis, store);
}

int
wt_cli_open_store_waiting(const char *verb, const char *url, wt_redis_t **redis, wt_store_t *store)
{
    return open_store(verb, url, WT_REDIS_CLIENT_PATIENCE_MS, redis, store);
}

void
wt_cli_print_json(FILE *out, void *json)
{
    char *s = json_dumps(json, JSON_INDENT(2) | JSON_ENCODE_ANY);
    fprintf(out, "%s\n", s ? s : "null");
    free(s);
}
