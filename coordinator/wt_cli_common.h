/* wt_cli_common - what the CLI verbs share: connection settings (flag, then
 * environment, then default), one-line usage errors, Redis opening. */
#ifndef WT_CLI_COMMON_H
#define WT_CLI_COMMON_H

#include "wt_redis.h"
#include "wt_store.h"

#include <getopt.h>
#include <stdio.h>

typedef struct wt_cli_conn {
    char redis[512];  /* Redis URL */
    char broker[256]; /* broker client endpoint */
} wt_cli_conn_t;

void wt_cli_conn_defaults(wt_cli_conn_t *c);
/* Prints "worktrain VERB: msg" and returns 2 (bad usage). */
int wt_cli_usage_error(const char *verb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* getopt_long with opterr off; unknown options come back as '?'. */
void wt_cli_getopt_reset(void);
/* Opens Redis and a store over it; prints the error and returns -1. */
int wt_cli_open_store(const char *verb, const char *url, wt_redis_t **redis, wt_store_t *store);
/* Prints a JSON value followed by a newline. */
void wt_cli_print_json(FILE *out, void *json);

#endif
