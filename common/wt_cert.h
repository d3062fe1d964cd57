/* wt_cert - CURVE certificates in ZeroMQ's certificate text format (the ZPL
 * layout CZMQ's zcert writes and pyzmq's zmq.auth.load_certificate reads):
 *
 *     metadata
 *     curve
 *         public-key = "Z85 (40 chars)"
 *         secret-key = "Z85 (40 chars)"     (only in the secret file)
 *
 * NAME.key holds both keys (mode 0600), NAME.pub the public key only. The
 * reader is strict: every problem names the file and line, and a public
 * certificate given where a secret one is needed (or the reverse) is an
 * error saying so. Also: the client side of CURVE for broker peers
 * (wt_cert_peer_t) so every verb sets the same socket options. */
#ifndef WT_CERT_H
#define WT_CERT_H

#include "wt_err.h"

#include <stddef.h>

#define WT_CERT_Z85_LEN 40 /* a 32-byte key in Z85 */

typedef struct wt_cert {
    char public_key[WT_CERT_Z85_LEN + 1]; /* Z85 */
    char secret_key[WT_CERT_Z85_LEN + 1]; /* Z85, "" in a public certificate */
} wt_cert_t;

typedef enum {
    WT_CERT_PUBLIC, /* must not hold a secret key (a .pub file) */
    WT_CERT_SECRET  /* must hold a secret key matching its public key (a .key file) */
} wt_cert_kind_t;

/* Reads path; what names the flag or use for messages ("--curve-key").
 * Errors: "--curve-key 'w1.pub' line 3: ..." style, WT_EINVAL or WT_EIO. */
int wt_cert_load(wt_cert_t *cert, const char *path, wt_cert_kind_t kind, const char *what,
                 wt_err_t *err);

/* A fresh keypair from zmq_curve_keypair. */
int wt_cert_generate(wt_cert_t *cert, wt_err_t *err);

/* Writes DIR/NAME.key (0600, both keys) and DIR/NAME.pub (public only);
 * refuses if either exists (nothing written then). */
int wt_cert_write_pair(const wt_cert_t *cert, const char *dir, const char *name, wt_err_t *err);

/* Writes the public certificate of cert to path (0644); refuses if path
 * exists. */
int wt_cert_write_public(const wt_cert_t *cert, const char *path, wt_err_t *err);

/* A broker peer's CURVE settings: its own keypair and the broker's public
 * key. on == 0 means plain TCP (no flags given). */
typedef struct wt_cert_peer {
    int on;
    wt_cert_t own;                        /* --curve-key */
    char server_key[WT_CERT_Z85_LEN + 1]; /* --broker-pub */
    char key_path[512];                   /* for messages */
    char pub_path[512];                   /* for messages */
} wt_cert_peer_t;

/* Defaults from WORKTRAIN_CURVE_KEY / WORKTRAIN_BROKER_PUB (paths only). */
void wt_cert_peer_defaults(wt_cert_peer_t *p);
/* Loads both files named in key_path/pub_path; both empty: on = 0; only
 * one given: an error naming the missing flag. */
int wt_cert_peer_load(wt_cert_peer_t *p, wt_err_t *err);
/* Sets ZMQ_CURVE_SERVERKEY/PUBLICKEY/SECRETKEY on sock (before connect). */
int wt_cert_peer_apply(const wt_cert_peer_t *p, void *sock, wt_err_t *err);

#endif
