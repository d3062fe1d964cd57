/* wt_redis - a synchronous hiredis connection that reconnects by itself.
 * Every command has a timeout; an I/O error drops the connection so the next
 * call reconnects (callers decide how to back off). Server error replies are
 * turned into wt_err_t. One wt_redis_t per thread. */
#ifndef WT_REDIS_H
#define WT_REDIS_H

#include "wt_err.h"

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wt_redis wt_redis_t;

#define WT_REDIS_MAX_SENTINELS 8

typedef struct wt_redis_sentinel {
    char host[256];
    int port;
} wt_redis_sentinel_t;

typedef struct wt_redis_url {
    char host[256]; /* TCP host, empty for a Unix socket; for a sentinel URL
                       the master last resolved (empty before) */
    int port;       /* TCP port */
    int nsentinels; /* >0 for redis-sentinel:// */
    wt_redis_sentinel_t sentinels[WT_REDIS_MAX_SENTINELS];
    char master[128];   /* the master name the sentinels monitor */
    char path[256];     /* Unix socket path, empty for TCP */
    int db;             /* SELECTed database */
    char user[128];     /* ACL user for AUTH, empty for the default user */
    char password[256]; /* AUTH password, empty for none; never logged */
} wt_redis_url_t;

/* Environment variable naming a file that holds the Redis password (one
 * line; a trailing newline is stripped). Used when the URL carries none, so
 * the password stays out of process listings. */
#define WT_REDIS_PASSWORD_FILE_ENV "WORKTRAIN_REDIS_PASSWORD_FILE"

/* A Lua script run with EVALSHA (falling back to EVAL on NOSCRIPT). */
typedef struct wt_redis_script {
    const char *source; /* static Lua source */
    char sha1[41];      /* hex SHA-1 of source, filled by wt_redis_script_init */
} wt_redis_script_t;

/* Parses redis://[[user]:password@]host[:port][/db] (user and password may
 * be %-encoded), unix:///path[?db=N] or
 * redis-sentinel://[[user]:password@]host:port[,host:port...]/master[/db]
 * (the credentials are for the master; sentinels are asked without AUTH).
 * Errors never quote the password. */
int wt_redis_parse_url(const char *url, wt_redis_url_t *out, wt_err_t *err);
/* Renders url for logs with the password shown as ***. */
void wt_redis_url_display(const char *url, char *out, size_t cap);
/* Reads the password file named by $WORKTRAIN_REDIS_PASSWORD_FILE into out
 * (0 and "" when the variable is unset); -1 with err naming the file when it
 * cannot be read or is empty. */
int wt_redis_password_file(char *out, size_t cap, wt_err_t *err);

/* Does not connect yet. timeout_ms bounds connect and every command.
 * With a sentinel URL each connect asks every sentinel for the master,
 * takes the address a strict majority of the answers name (none: an error
 * naming each answer), connects to it and checks that ROLE says master; connection loss
 * and -READONLY / -LOADING replies drop the connection so the next command
 * resolves again. Scripts loaded with wt_redis_script_load are re-loaded on
 * every reconnect, so pipelined EVALSHA works on a new master. */
wt_redis_t *wt_redis_new(const char *url, int timeout_ms, wt_err_t *err);
void wt_redis_destroy(wt_redis_t **self_p);
/* Connects now if not connected. */
int wt_redis_connect(wt_redis_t *self, wt_err_t *err);
/* The connected hiredis context (NULL when not connected), for a caller
 * that drives the connection's I/O itself (e.g. polls its fd beside
 * others). It stays owned by self; a caller that lost it calls
 * wt_redis_disconnect. */
redisContext *wt_redis_context(wt_redis_t *self);
/* Sentinel URLs only (no effect otherwise): for up to ms, a connect that
 * fails after the sentinels named a master (refused, reset, ROLE not yet
 * master: a failover in progress) is retried with backoff (100 ms doubling
 * to 1 s, logged once), and a command whose connection was lost is sent once
 * more on the re-resolved master. For waiting clients (await, run), never for
 * a broker or worker, whose loops must not block. 0 (the default) = off. */
void wt_redis_set_patience(wt_redis_t *self, int ms);
/* The patience of commands that wait for sessions (await, run): a failover
 * takes the sentinels' down-after time plus an election, seconds. */
#define WT_REDIS_CLIENT_PATIENCE_MS 60000
/* How often a sentinel-URL connection asks the sentinels again whether the
 * master moved (in place of a +switch-master subscription). */
#define WT_REDIS_MASTER_RECHECK_MS 2000
int wt_redis_connected(const wt_redis_t *self);
/* Count of times a sentinel URL resolved to a different master address. */
uint64_t wt_redis_failovers(const wt_redis_t *self);
/* Count of sentinel lookups where the sentinels named different masters
 * (the majority's answer is taken; without one the connect fails). */
uint64_t wt_redis_sentinel_disagreements(const wt_redis_t *self);
/* Count of failed commands and connects since creation. */
uint64_t wt_redis_errors(const wt_redis_t *self);
/* Drops the connection; the next command reconnects. */
void wt_redis_disconnect(wt_redis_t *self);

/* The value of field `name` in a flat field/value array (an HGETALL reply,
 * a stream entry's fields), or NULL when it is absent or not a string. */
const char *wt_redis_field(const redisReply *pairs, const char *name);

/* Runs a command; returns the reply (caller frees with freeReplyObject) or
 * NULL with err filled, also for a server error reply. */
redisReply *wt_redis_command(wt_redis_t *self, wt_err_t *err, const char *fmt, ...);
redisReply *wt_redis_commandv(wt_redis_t *self, int argc, const char **argv, const size_t *lens,
                              wt_err_t *err);
/* Pipelining: queue commands, then read each reply in order. */
int wt_redis_append(wt_redis_t *self, int argc, const char **argv, const size_t *lens,
                    wt_err_t *err);
redisReply *wt_redis_get_reply(wt_redis_t *self, wt_err_t *err);

/* Queues WAIT nreplicas timeout_ms (waits until the writes sent so far on
 * this connection reached nreplicas replicas); wt_redis_wait_reply reads the
 * number of replicas that confirmed. */
int wt_redis_append_wait(wt_redis_t *self, int nreplicas, int timeout_ms, wt_err_t *err);
int wt_redis_wait_reply(wt_redis_t *self, int *replicas, wt_err_t *err);

/* Fills script for source, which must be static (never freed or reused):
 * its SHA-1 is computed once per process, keyed by its address. */
void wt_redis_script_init(wt_redis_script_t *script, const char *source);
/* Runs script with nkeys keys followed by the other args in argv. */
redisReply *wt_redis_eval(wt_redis_t *self, wt_redis_script_t *script, int nkeys, int argc,
                          const char **argv, const size_t *lens, wt_err_t *err);
/* Queues an EVALSHA for pipelining; pair with wt_redis_get_reply. The script
 * must have been loaded first with wt_redis_script_load. */
int wt_redis_append_eval(wt_redis_t *self, wt_redis_script_t *script, int nkeys, int argc,
                         const char **argv, const size_t *lens, wt_err_t *err);
int wt_redis_script_load(wt_redis_t *self, wt_redis_script_t *script, wt_err_t *err);

#endif
