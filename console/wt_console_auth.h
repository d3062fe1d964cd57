/* wt_console_auth - the console's optional token (console/API.md
 * "Security"), with no I/O: the HTTP layer hands in the header, cookie and
 * query values. Tokens are compared in constant time and never logged. */
#ifndef WT_CONSOLE_AUTH_H
#define WT_CONSOLE_AUTH_H

#include "wt_buf.h"
#include "wt_err.h"

#define WT_CONSOLE_AUTH_COOKIE    "wt_token" /* cookie name */
#define WT_CONSOLE_AUTH_TOKEN_MAX 256        /* longest token accepted */

/* 1 when token is 1..WT_CONSOLE_AUTH_TOKEN_MAX characters of
 * [A-Za-z0-9-._~+/=] (so a cookie and a header carry it unchanged). */
int wt_console_auth_token_ok(const char *token);

/* 1 when presented equals token. Both are hashed (SHA-256) and the digests
 * compared with CRYPTO_memcmp, so the time depends on neither the position
 * of the first difference nor the length of the token. NULL is no match. */
int wt_console_auth_equal(const char *presented, const char *token);

/* 1 when the request may pass: no token configured, or authorization is
 * "Bearer <token>", or the cookie value is the token. Either may be NULL. */
int wt_console_auth_check(const char *token, const char *authorization, const char *cookie);

/* 1 when the Host header value may be served by a console without a
 * token: an IPv4 literal, a bracketed IPv6 literal or "localhost", each with
 * an optional port; also when host is NULL (no Host header: not a browser).
 * Any other name may be an attacker's, pointed at 127.0.0.1 by DNS
 * rebinding, so a page on that site could read the console. */
int wt_console_auth_host_ok(const char *host);

/* Appends s percent-encoded (RFC 3986 unreserved characters stay; '/'
 * stays too when keep_slash). */
int wt_console_auth_encode(wt_buf_t *out, const char *s, int keep_slash, wt_err_t *err);

/* Builds the Location of the 303 that follows ?token=: path plus the other
 * query parameters (n pairs; a NULL value is a bare key), re-encoded, with
 * every `token` parameter left out. Leading slashes of path collapse to one
 * ("//host/x" would be protocol-relative: a redirect off the console). */
int wt_console_auth_location(wt_buf_t *out, const char *path, int n, const char *const *keys,
                             const char *const *values, wt_err_t *err);

/* The Set-Cookie value for token (HttpOnly; SameSite=Strict; Path=/). */
int wt_console_auth_cookie(wt_buf_t *out, const char *token, wt_err_t *err);

#endif
