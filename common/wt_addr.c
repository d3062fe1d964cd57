/* wt_addr - see wt_addr.h. */
#include "wt_addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
wt_addr_parse(const char *addr, const char *what, wt_addr_t *out, wt_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || colon - addr >= 64)
        return wt_err_set(err, WT_EINVAL, "bad %s '%s': expected ADDR:PORT or [IPV6]:PORT", what,
                          addr);
    char host[64];
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535)
        return wt_err_set(err, WT_EINVAL, "bad %s '%s': bad port", what, addr);
    out->port = (int)port;
    if (host[0] == '[') {
        size_t n = strlen(host);
        if (n < 3 || host[n - 1] != ']')
            return wt_err_set(err, WT_EINVAL, "bad %s '%s': expected [IPV6]:PORT", what, addr);
        host[n - 1] = '\0';
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->sa;
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return wt_err_set(err, WT_EINVAL, "bad %s '%s': '%s' is not an IPv6 address", what,
                              addr, host + 1);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        out->family = AF_INET6;
        out->len = sizeof *s6;
        return 0;
    }
    if (strchr(host, ':') != NULL)
        return wt_err_set(err, WT_EINVAL, "bad %s '%s': put an IPv6 address in brackets: [%s]:%ld",
                          what, addr, host, port);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    struct sockaddr_in *s4 = (struct sockaddr_in *)&out->sa;
    if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
        return wt_err_set(err, WT_EINVAL,
                          "bad %s '%s': '%s' is not an IPv4 address (or [IPv6] in brackets)", what,
                          addr, host);
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    out->family = AF_INET;
    out->len = sizeof *s4;
    return 0;
}
