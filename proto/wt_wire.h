/* wt_wire - moves wt_msg_t over ZeroMQ sockets: the only part of proto/ that
 * touches sockets. ROUTER sockets carry one identity frame first. */
#ifndef WT_WIRE_H
#define WT_WIRE_H

#include "wt_proto.h"

#define WT_WIRE_MAX_IDENTITY 256

/* Sends msg. identity/idlen address a ROUTER peer; pass NULL/0 on DEALER.
 * Non-blocking when dontwait != 0 (fails with WT_ELIMIT if the peer's queue
 * is full). */
int wt_wire_send(void *sock, const void *identity, size_t idlen, const wt_msg_t *msg, int dontwait,
                 wt_err_t *err);

/* Sends msgs[0..n) (all of one channel) to one peer as few BATCH
 * messages as the body limit allows (one when they fit; a single message
 * goes as itself). Only for a peer that accepts BATCH (PROTOCOL.md 3.1). */
int wt_wire_send_batch(void *sock, const void *identity, size_t idlen, const wt_msg_t *const *msgs,
                       size_t n, int dontwait, wt_err_t *err);

/* Receives one whole message (all its frames). is_router: expect an identity
 * frame, copied into identity (cap WT_WIRE_MAX_IDENTITY) with *idlen.
 * Returns 1 with *msg_out set; 0 when nothing is waiting (dontwait);
 * -1 on a bad message: err filled, *code the wt_proto_code_t for an ERROR
 * reply, identity still valid so the sender can be answered. */
int wt_wire_recv(void *sock, int is_router, wt_chan_t chan, void *identity, size_t *idlen,
                 wt_msg_t **msg_out, int *code, int dontwait, wt_err_t *err);
/* wt_wire_recv, also copying the sender's ZAP User-Id (the Z85 public key
 * under CURVE, "" without authentication) into user_id (cap >= 41). */
int wt_wire_recv_peer(void *sock, int is_router, wt_chan_t chan, void *identity, size_t *idlen,
                      char *user_id, size_t cap, wt_msg_t **msg_out, int *code, int dontwait,
                      wt_err_t *err);

/* A received BATCH is returned one message per call (each with batched =
 * 1): the rest wait in this thread's stash for sock, returned before the
 * socket is read again. 1 when some wait (the socket's descriptor will not
 * say so: poll loops must receive until 0 or check this). */
int wt_wire_pending(const void *sock);
/* Drops what waits in the stash for sock (call before closing it). */
void wt_wire_forget(const void *sock);

#endif
