/* wt_console_auth - token checks.
 *
 * Hash-then-compare: CRYPTO_memcmp needs equal lengths, and comparing only
 * when the lengths match would leak the length. Comparing SHA-256 digests
 * of both sides costs the same for every input. */
#include "wt_console_auth.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

int
wt_console_auth_equal(const char *presented, const char *token)
{
    if (presented == NULL || token == NULL)
        return 0;
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)presented, strlen(presented), a);
    SHA256((const unsigned char *)token, strlen(token), b);
    return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

int
wt_console_auth_token_ok(const char *token)
{
    size_t n = token ? strlen(token) : 0;
    if (n == 0 || n > WT_CONSOLE_AUTH_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = token[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("-._~+/=", c) != NULL))
            return 0;
    }
    return 1;
}

int
wt_console_auth_check(const char *token, const char *authorization, const char *cookie)
{
    if (token == NULL || *token == '\0')
        return 1;
    int ok = 0;
    if (authorization != NULL && strncasecmp(authorization, "Bearer ", 7) == 0) {
        const char *p = authorization + 7;
        while (*p == ' ')
            p++;
        ok |= wt_console_auth_equal(p, token);
    }
    if (cookie != NULL)
        ok |= wt_console_auth_equal(cookie, token);
    return ok;
}

int
wt_console_auth_host_ok(const char *host)
{
    if (host == NULL)
        return 1;
    char name[64];
    const char *end;
    if (host[0] == '[') { /* [v6]:port */
        end = strchr(host, ']');
        if (end == NULL || (size_t)(end - host - 1) >= sizeof name)
            return 0;
        memcpy(name, host + 1, (size_t)(end - host - 1));
        name[end - host - 1] = '\0';
        end++;
        struct in6_addr a6;
        if (inet_pton(AF_INET6, name, &a6) != 1)
            return 0;
    } else {
        end = strchr(host, ':');
        if (end == NULL)
            end = host + strlen(host);
        if (end == host || (size_t)(end - host) >= sizeof name)
            return 0;
        memcpy(name, host, (size_t)(end - host));
        name[end - host] = '\0';
        struct in_addr a4;
        if (strcasecmp(name, "localhost") != 0 && inet_pton(AF_INET, name, &a4) != 1)
            return 0;
    }
    if (*end == '\0')
        return 1;
    if (*end != ':' || end[1] == '\0' || strlen(end + 1) > 5)
        return 0;
    for (const char *p = end + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

int
wt_console_auth_encode(wt_buf_t *out, const char *s, int keep_slash, wt_err_t *err)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/');
        char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
        if (wt_buf_append(out, plain ? (const char *)p : enc, plain ? 1 : 3, err) != 0)
            return -1;
    }
    return 0;
}

int
wt_console_auth_location(wt_buf_t *out, const char *path, int n, const char *const *keys,
                         const char *const *values, wt_err_t *err)
{
    while (*path == '/')
        path++;
    if (wt_buf_puts(out, "/", err) != 0 || wt_console_auth_encode(out, path, 1, err) != 0)
        return -1;
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (strcmp(keys[i], "token") == 0)
            continue;
        if (wt_buf_puts(out, first ? "?" : "&", err) != 0 ||
            wt_console_auth_encode(out, keys[i], 0, err) != 0)
            return -1;
        first = 0;
        if (values[i] != NULL && (wt_buf_puts(out, "=", err) != 0 ||
                                  wt_console_auth_encode(out, values[i], 0, err) != 0))
            return -1;
    }
    return 0;
}

int
wt_console_auth_cookie(wt_buf_t *out, const char *token, wt_err_t *err)
{
    if (!wt_console_auth_token_ok(token))
        return wt_err_set(err, WT_EINVAL, "token has characters a cookie cannot carry");
    if (wt_buf_puts(out, WT_CONSOLE_AUTH_COOKIE "=", err) != 0 || wt_buf_puts(out, token, err) != 0)
        return -1;
    return wt_buf_puts(out, "; HttpOnly; SameSite=Strict; Path=/", err);
}
