/* wt_endpoints - a comma-separated list of broker endpoints (DESIGN 13:
 * `--broker tcp://a:5556,tcp://b:5556`, WORKTRAIN_BROKER). Clients and
 * workers walk the list to find the active broker: the others are standbys
 * (ERROR NOT_ACTIVE) or dead (silent). */
#ifndef WT_ENDPOINTS_H
#define WT_ENDPOINTS_H

#include <stddef.h>

/* Copies entry n (0-based, taken modulo the count; blanks around entries
 * are dropped) of list into out. Returns the number of non-empty entries
 * (0 for an empty list: out is then ""). */
int wt_endpoints_nth(const char *list, int n, char *out, size_t cap);

#endif
