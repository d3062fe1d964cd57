/* wt_http_mux - the HTTP requests of many threads on one curl multi handle,
 * run by one I/O thread of its own.
 *
 * Why: a worker's session threads each wait seconds to minutes on their LLM
 * call. With a handle per thread, each waiting session held a connection of
 * its own, and over HTTPS a TLS connection and OpenSSL's per-thread state
 * (measured: ~145 KB per waiting session against ~63 KB over plain HTTP).
 * Here every transfer runs in one thread and one multi handle: connections
 * are shared between the threads' requests (one after another over
 * HTTP/1.1, at once over HTTP/2, which hosted providers speak), and TLS
 * lives in one thread.
 *
 * A request has wt_http_perform's contract: the same options, the same
 * errors, the same trust store. The calling thread blocks until the answer,
 * the request's timeout (curl's, in the I/O thread) or an abort: it sleeps
 * on the request's completion and on req->abort_fd, and asks req->abort_fn
 * itself (on its own thread, never on the I/O thread) when the fd is
 * readable and at growing intervals (1 s, 2 s, 4 s... up to 32 s), as
 * wt_http_perform's waiting path does.
 *
 * Thread use: wt_http_mux_perform from any number of threads at once; new
 * and destroy from one owner, destroy once no request is in flight. */
#ifndef WT_HTTP_MUX_H
#define WT_HTTP_MUX_H

#include "wt_err.h"
#include "wt_http.h"

typedef struct wt_http_mux wt_http_mux_t;

/* Idle connections a mux keeps open for the next calls (CURLMOPT_MAXCONNECTS):
 * enough for a worker's concurrent calls over HTTP/1.1 at typical slot
 * counts, at ~60 KB each over TLS at most ~4 MB. */
#define WT_HTTP_MUX_KEEP 64

/* Starts the I/O thread. NULL with err set when it cannot. Call
 * curl_global_init before. */
wt_http_mux_t *wt_http_mux_new(wt_err_t *err);
/* Stops and joins the I/O thread, closes its connections. NULL-safe. */
void wt_http_mux_destroy(wt_http_mux_t **self_p);

/* Runs req through the shared multi handle and waits for it; 0 with resp
 * filled (any status), -1 with err set as wt_http_perform sets it. */
int wt_http_mux_perform(wt_http_mux_t *self, const wt_http_req_t *req, wt_http_resp_t *resp,
                        wt_err_t *err);

/* Connections the mux has opened so far (CURLINFO_NUM_CONNECTS summed over
 * its requests): tests and the bench read it to see connections shared. */
long wt_http_mux_connects(wt_http_mux_t *self);

#endif
