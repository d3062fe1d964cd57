/* wt_cli_common - what the CLI verbs share: connection settings (flag, then
 * environment, then default), one-line usage errors, Redis opening. */
#ifndef WT_CLI_COMMON_H
#define WT_CLI_COMMON_H

#include "wt_cert.h"
#include "wt_redis.h"
#include "wt_store.h"

#include <getopt.h>
#include <stdio.h>

typedef struct wt_cli_conn {
    char redis[512];  /* Redis URL */
    char broker[256]; /* broker client endpoint */
    /* --curve-key/--broker-pub, env WORKTRAIN_CURVE_KEY/_BROKER_PUB */
    wt_cert_peer_t curve;
} wt_cli_conn_t;

/* getopt codes of --curve-key FILE / --broker-pub FILE for the verbs that
 * talk to the broker: put WT_CLI_CURVE_KEY_OPT and WT_CLI_BROKER_PUB_OPT in
 * the option table and hand the codes to wt_cli_conn_opt. */
#define WT_CLI_OPT_CURVE_KEY  0x300
#define WT_CLI_OPT_BROKER_PUB 0x301
#define WT_CLI_CURVE_KEY_OPT                                                                       \
    {                                                                                              \
        "curve-key", 1, 0, WT_CLI_OPT_CURVE_KEY                                                    \
    }
#define WT_CLI_BROKER_PUB_OPT                                                                      \
    {                                                                                              \
        "broker-pub", 1, 0, WT_CLI_OPT_BROKER_PUB                                                  \
    }
#define WT_CLI_CURVE_HELP                                                                          \
    "  --curve-key FILE   this client's secret certificate (worktrain keygen; its .pub in\n"       \
    "                     the broker's --allow-clients), env WORKTRAIN_CURVE_KEY\n"                \
    "  --broker-pub FILE  the broker's public certificate, env WORKTRAIN_BROKER_PUB\n"
/* 1 when code was one of the CURVE options (and is taken), else 0. */
int wt_cli_conn_opt(wt_cli_conn_t *c, int code, const char *arg);
/* Checks the broker endpoint list (--broker / WORKTRAIN_BROKER) and loads
 * the CURVE files named so far; prints "worktrain VERB: ..." and returns 2
 * on a problem, 0 otherwise. Every verb that talks to the broker calls it
 * before it starts anything. */
int wt_cli_conn_check(const char *verb, wt_cli_conn_t *c);

void wt_cli_conn_defaults(wt_cli_conn_t *c);
/* Prints "worktrain VERB: msg" and returns 2 (bad usage). */
int wt_cli_usage_error(const char *verb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* getopt_long with opterr off; unknown options come back as '?'. */
void wt_cli_getopt_reset(void);
/* Opens Redis and a store over it; prints the error and returns -1. */
int wt_cli_open_store(const char *verb, const char *url, wt_redis_t **redis, wt_store_t *store);
/* As wt_cli_open_store, for commands that wait (await, run): with a sentinel
 * URL a lost master is waited for, up to WT_REDIS_CLIENT_PATIENCE_MS. */
int wt_cli_open_store_waiting(const char *verb, const char *url, wt_redis_t **redis,
                              wt_store_t *store);
/* Prints a JSON value followed by a newline. */
void wt_cli_print_json(FILE *out, void *json);

#endif
