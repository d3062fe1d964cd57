/* wt_console - `worktrain console`: the read-only HTTP console (DESIGN.md
 * section 8, console/API.md). libmicrohttpd runs a thread per connection;
 * each connection opens its own Redis connection on first use and closes
 * it when the connection ends (hiredis contexts are not thread-safe). */
#ifndef WT_CONSOLE_H
#define WT_CONSOLE_H

#include "wt_console_auth.h"
#include "wt_err.h"

#include <stdint.h>

#define WT_CONSOLE_DEFAULT_HTTP "127.0.0.1:3456"
#define WT_CONSOLE_MAX_CONNS    256   /* connections served at once; more get 503 */
#define WT_CONSOLE_HEARTBEAT_MS 15000 /* SSE keepalive interval */

typedef struct wt_console_cfg {
    char http[128];                            /* ADDR:PORT to listen on (IPv4; port 0 = any) */
    char redis[512];                           /* Redis URL */
    char token[WT_CONSOLE_AUTH_TOKEN_MAX + 1]; /* "" = no token; never logged */
    int64_t heartbeat_ms;                      /* SSE keepalive interval */
    int max_connections;                       /* served at once */
} wt_console_cfg_t;

/* Defaults, then the environment (WORKTRAIN_REDIS, WORKTRAIN_CONSOLE_TOKEN). */
void wt_console_cfg_defaults(wt_console_cfg_t *cfg);
/* Checks the address, Redis URL, token and heartbeat. */
int wt_console_cfg_check(const wt_console_cfg_t *cfg, wt_err_t *err);

typedef struct wt_console wt_console_t;

/* Starts listening (cfg is copied). Does not need Redis to be up. */
wt_console_t *wt_console_new(const wt_console_cfg_t *cfg, wt_err_t *err);
/* The port actually bound (useful with port 0). */
int wt_console_port(const wt_console_t *self);
/* Ends every stream, stops serving, frees *self_p; NULL-safe. */
void wt_console_destroy(wt_console_t **self_p);

/* The verb: `worktrain console [--http ADDR:PORT] [--redis URL] [--token T]
 * [--sse-heartbeat DUR]`; runs until SIGINT/SIGTERM. */
int wt_console_main(int argc, char **argv);

#endif
