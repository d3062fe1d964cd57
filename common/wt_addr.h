/* wt_addr - the "ADDR:PORT" of our HTTP listeners (broker --http, console
 * --http): an IPv4 address, "[IPv6]" in brackets (RFC 3986 style, so the
 * port's colon is unambiguous), or "localhost"; and a port 0..65535. Only
 * numeric addresses: a listener must not depend on name resolution. */
#ifndef WT_ADDR_H
#define WT_ADDR_H

#include "wt_err.h"

#include <netinet/in.h>
#include <sys/socket.h>

typedef struct wt_addr {
    struct sockaddr_storage sa; /* sockaddr_in or sockaddr_in6 */
    socklen_t len;              /* its size */
    int family;                 /* AF_INET or AF_INET6 */
    int port;
} wt_addr_t;

/* Fills out from addr; 0, or -1 with err "bad WHAT 'addr': why" (what names
 * the setting for the message, e.g. "--http"). */
int wt_addr_parse(const char *addr, const char *what, wt_addr_t *out, wt_err_t *err);

#endif
