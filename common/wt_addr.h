/* wt_addr - the "ADDR:PORT" of our HTTP listeners (broker --http, console
 * --http): an IPv4 address or "localhost", and a port 0..65535. */
#ifndef WT_ADDR_H
#define WT_ADDR_H

#include "wt_err.h"

#include <netinet/in.h>

/* Fills out from addr; 0, or -1 with err "bad WHAT 'addr': why" (what names
 * the setting for the message, e.g. "--http"). */
int wt_addr_parse(const char *addr, const char *what, struct sockaddr_in *out, wt_err_t *err);

#endif
