/* wt_httpd - shared libmicrohttpd start-up and replies. The bind address is
 * parsed by wt_addr (numeric only, so a listener never waits on DNS) and
 * handed over as MHD_OPTION_SOCK_ADDR. */
#include "wt_httpd.h"

#include "wt_addr.h"

#include <stdint.h>

struct MHD_Daemon *
wt_httpd_start(const char *addr, unsigned conn_limit, MHD_AccessHandlerCallback handler, void *cls,
               MHD_RequestCompletedCallback done, wt_err_t *err)
{
    wt_addr_t sa;
    if (wt_addr_parse(addr, "--http", &sa, err) != 0)
        return NULL;
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
                             (sa.family == AF_INET6 ? MHD_USE_IPv6 : 0),
                         (uint16_t)sa.port, NULL, NULL, handler, cls, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&sa.sa, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                         MHD_OPTION_CONNECTION_LIMIT, conn_limit, MHD_OPTION_NOTIFY_COMPLETED, done,
                         NULL, MHD_OPTION_END);
    if (d == NULL)
        wt_err_set(err, WT_EIO, "cannot listen for HTTP on %s (address in use?)", addr);
    return d;
}

enum MHD_Result
wt_httpd_reply(struct MHD_Connection *conn, unsigned status, const char *type, wt_buf_t *body)
{
    size_t n = body->len;
    char *p = wt_buf_detach(body);
    struct MHD_Response *r = MHD_create_response_from_buffer(n, p, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}
