/* wt_httpd - what every libmicrohttpd listener of WorkTrain shares (the
 * broker's and the worker's --http): listening on an "ADDR:PORT" from
 * wt_addr with one internal polling thread, and answering with a wt_buf
 * body. The routes stay with their owners. */
#ifndef WT_HTTPD_H
#define WT_HTTPD_H

#include "wt_buf.h"
#include "wt_err.h"

#include <microhttpd.h>

/* Starts a daemon on addr ("--http" names the setting in errors) calling
 * handler(cls, ...) per request and done (may be NULL) when one ends; at most
 * conn_limit connections, idle ones closed after 10 s. NULL with err set
 * when addr is bad or taken. */
struct MHD_Daemon *wt_httpd_start(const char *addr, unsigned conn_limit,
                                  MHD_AccessHandlerCallback handler, void *cls,
                                  MHD_RequestCompletedCallback done, wt_err_t *err);

/* Queues status with body (taken: body is left empty) as Content-Type type. */
enum MHD_Result wt_httpd_reply(struct MHD_Connection *conn, unsigned status, const char *type,
                               wt_buf_t *body);

#endif
