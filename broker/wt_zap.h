/* wt_zap - the broker's ZAP handler (ZeroMQ RFC 27) for CURVE: a REP socket
 * on inproc://zeromq.zap.01 polled by the broker loop. libzmq asks it about
 * every CURVE handshake; a key is allowed only in its own domain (worker
 * keys on the worker socket, client keys on the client socket) and anything
 * else is denied: a CURVE server with no handler would accept any key, so
 * the handler is bound before either ROUTER. Refusals are counted per
 * socket and logged at most once per peer (address + key) per minute.
 * Loop thread only. */
#ifndef WT_ZAP_H
#define WT_ZAP_H

#include "wt_err.h"

#include <stdint.h>

#define WT_ZAP_DOMAIN_WORKERS "worktrain-workers"
#define WT_ZAP_DOMAIN_CLIENTS "worktrain-clients"

typedef struct wt_zap wt_zap_t;

/* Loads both directories of .pub certificates (any unreadable directory or
 * malformed file is an error naming it) and binds the handler socket. */
wt_zap_t *wt_zap_new(void *zctx, const char *workers_dir, const char *clients_dir, wt_err_t *err);
void wt_zap_destroy(wt_zap_t **self_p);

/* Re-reads both directories (SIGHUP). A file that no longer parses grants
 * nothing (it is logged); an unreadable directory keeps its old set. */
void wt_zap_reload(wt_zap_t *self);

/* The REP socket, for zmq_poll. */
void *wt_zap_socket(wt_zap_t *self);

/* Answers every waiting ZAP request. */
void wt_zap_handle(wt_zap_t *self);

/* 1 when the Z85 key is allowed in the domain now (revocation check for
 * connections authenticated before a reload). */
int wt_zap_allowed(const wt_zap_t *self, const char *domain, const char *key);

/* A refusal outside the handshake (a revoked key still connected): counts
 * it and logs it under the same once-a-minute rule. */
void wt_zap_refused(wt_zap_t *self, const char *domain, const char *peer, const char *key,
                    const char *why);

/* Refusals so far on each socket. */
uint64_t wt_zap_failures(const wt_zap_t *self, const char *domain);

#endif
