/* wt_ulid - 26-character ULIDs (Crockford base32: 48-bit ms time + 80 random
 * bits), lexically sortable by creation time. Thread-safe. */
#ifndef WT_ULID_H
#define WT_ULID_H

#include <stdint.h>

#define WT_ULID_LEN 26

/* Writes a new ULID for time now_ms into out (27 bytes with the NUL). */
void wt_ulid_make(char out[WT_ULID_LEN + 1], int64_t now_ms);
/* Returns 1 when s is a well-formed ULID. */
int wt_ulid_valid(const char *s);

#endif
