/* wt_addr - see wt_addr.h. */
#include "wt_addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
wt_addr_parse(const char *addr, const char *what, struct sockaddr_in *out, wt_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || colon - addr >= 64)
        return wt_err_set(err, WT_EINVAL, "bad %s '%s': expected ADDR:PORT", what, addr);
    char host[64];
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535)
        return wt_err_set(err, WT_EINVAL, "bad %s '%s': bad port", what, addr);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &out->sin_addr) != 1)
        return wt_err_set(err, WT_EINVAL, "bad %s '%s': '%s' is not an IPv4 address", what, addr,
                          host);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    return 0;
}
