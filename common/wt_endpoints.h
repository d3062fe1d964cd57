/* wt_endpoints - a comma-separated list of broker endpoints (DESIGN 13:
 * `--broker tcp://a:5556,tcp://b:5556`, WORKTRAIN_BROKER). Clients and
 * workers walk the list to find the active broker: the others are standbys
 * (ERROR NOT_ACTIVE) or dead (silent). */
#ifndef WT_ENDPOINTS_H
#define WT_ENDPOINTS_H

#include "wt_err.h"

#include <stddef.h>

/* Copies entry n (0-based, taken modulo the count; blanks around entries
 * are dropped) of list into out. Returns the number of non-empty entries
 * (0 for an empty list: out is then ""). */
int wt_endpoints_nth(const char *list, int n, char *out, size_t cap);

/* NULL when ep is a usable ZeroMQ endpoint, else what is wrong with it.
 * bind: a listening endpoint of the broker (tcp://HOST:PORT with PORT
 * 1-65535 or '*', ipc://PATH, inproc://NAME); otherwise an endpoint a peer
 * connects to (the same without '*', and a host is required). */
const char *wt_endpoint_problem(const char *ep, int bind);

/* Checks every entry of a connect list (--broker, --clients): 0, or -1
 * with err "bad FLAG 'entry': why" (an empty list is bad too). */
int wt_endpoints_check(const char *list, const char *flag, wt_err_t *err);

#endif
