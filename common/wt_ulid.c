/* wt_ulid - ULID generation. Randomness from getrandom(2), so two processes
 * (broker, coordinator) never need to coordinate to produce unique ids.
 * Each thread draws its random bytes from its own pool, refilled by one
 * getrandom(2) every POOL / 16 ids (the broker made one system call per
 * spawned session); a forked child empties its pool so it never reuses
 * bytes its parent also hands out. */
#include "wt_ulid.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#define POOL 512

static __thread unsigned char pool[POOL];
static __thread size_t pool_left; /* unused bytes at the end of pool */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
pool_forget(void)
{
    pool_left = 0;
}

static void
atfork_register(void)
{
    pthread_atfork(NULL, NULL, pool_forget);
}

/* 16 random bytes, from the pool (refilled when empty). */
static void
random16(unsigned char out[16])
{
    pthread_once(&atfork_once, atfork_register);
    if (pool_left < 16) {
        size_t got = 0;
        while (got < POOL) {
            ssize_t n = getrandom(pool + got, POOL - got, 0);
            if (n > 0)
                got += (size_t)n;
        }
        pool_left = POOL;
    }
    memcpy(out, pool + POOL - pool_left, 16);
    memset(pool + POOL - pool_left, 0, 16); /* handed out: not kept around */
    pool_left -= 16;
}

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
    random16(rnd);
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
