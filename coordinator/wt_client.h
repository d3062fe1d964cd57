/* wt_client - request/reply with the broker's client socket over a DEALER.
 * A request is re-sent (same request id, so an idempotency key makes the
 * retry safe) when no reply comes within a third of the timeout. */
#ifndef WT_CLIENT_H
#define WT_CLIENT_H

#include "wt_cert.h"
#include "wt_err.h"
#include "wt_proto.h"

typedef struct wt_client wt_client_t;

/* curve: CURVE keys (NULL or curve->on == 0: plain). A refused CURVE
 * handshake ends a request at once with an error saying so. */
wt_client_t *wt_client_new(const char *endpoint, const wt_cert_peer_t *curve, wt_err_t *err);
void wt_client_destroy(wt_client_t **self_p);
/* Sends req (its req id is set here) and returns the matching reply, or
 * NULL with err (WT_ETIMEDOUT when the broker did not answer in time). */
wt_msg_t *wt_client_request(wt_client_t *self, wt_msg_t *req, int timeout_ms, wt_err_t *err);

/* Sends the n requests of reqs at once (their req ids are set here, and
 * SPAWNs get batch = n: the broker may answer them in BATCHes) and
 * collects one reply per request into reps[i] (caller destroys them),
 * re-sending the unanswered ones every third of the timeout (idempotency
 * keys make that safe). 0 when all answered; -1 with err (WT_ETIMEDOUT)
 * otherwise, replies that came kept in reps, the rest NULL. */
int wt_client_request_batch(wt_client_t *self, wt_msg_t **reqs, int n, int timeout_ms,
                            wt_msg_t **reps, wt_err_t *err);

#endif
