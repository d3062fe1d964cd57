/* wt_http_int - what wt_http and wt_http_mux share to run one request on a
 * curl easy handle: its callbacks' state, its options, its headers and the
 * mapping of its outcome to a wt_err_t. Not for other modules. */
#ifndef WT_HTTP_INT_H
#define WT_HTTP_INT_H

#include "wt_http.h"

#include <curl/curl.h>

/* What the curl callbacks of one request share. */
typedef struct wt_http_xfer {
    const wt_http_req_t *req; /* borrowed */
    wt_http_resp_t *resp;     /* borrowed */
    int too_big;              /* the body cap was hit */
} wt_http_xfer_t;

/* Empties resp for a new answer (status 0, no body, no hints). */
void wt_http_resp_start(wt_http_resp_t *resp);
/* The request's header list (its headers, and "Expect:" with a body); the
 * caller frees it with curl_slist_free_all once the transfer is over. */
struct curl_slist *wt_http_headers(const wt_http_req_t *req);
/* Every option of req on a fresh (or reset) handle c, the trust store
 * included; progress: req->abort_fn is polled by curl's progress callback
 * (0: the caller polls it itself). */
void wt_http_set_options(CURL *c, const wt_http_req_t *req, struct curl_slist *hdrs,
                         wt_http_xfer_t *x, int progress);
/* After the transfer: the status into x->resp, the header list unset from
 * c, and rc as a wt_err_t (0 on success). */
int wt_http_finish(CURL *c, CURLcode rc, const wt_http_xfer_t *x, wt_err_t *err);

#endif
