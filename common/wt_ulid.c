/* wt_ulid - ULID generation. Randomness from getrandom(2), so two processes
 * (broker, coordinator) never need to coordinate to produce unique ids. */
#include "wt_ulid.h"

#include <string.h>
#include <sys/random.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
wt_ulid_make(char out[WT_ULID_LEN + 1], int64_t now_ms)
{
    uint64_t t = (uint64_t)now_ms;
    for (int i = 9; i >= 0; i--) {
        out[i] = alphabet[t & 31];
        t >>= 5;
    }
    unsigned char rnd[16];
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    for (int i = 10; i < WT_ULID_LEN; i++)
        out[i] = alphabet[rnd[i - 10] & 31];
    out[WT_ULID_LEN] = '\0';
}

int
wt_ulid_valid(const char *s)
{
    if (s == NULL || strlen(s) != WT_ULID_LEN)
        return 0;
    for (int i = 0; i < WT_ULID_LEN; i++)
        if (strchr(alphabet, s[i]) == NULL || s[i] == '\0')
            return 0;
    return 1;
}
