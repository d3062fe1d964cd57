/* fuzz_http_header - header lines from any HTTP server we call (LLM APIs,
 * forges, webhook receivers): Retry-After (seconds or HTTP date) and the
 * rate-limit headers. Any bytes leave the hints either absent (-1) or
 * non-negative, and never crash the reader. */
#include "wt_alloc.h"
#include "wt_http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int64_t now_s = 1764000000; /* fixed: the same input, the same result */
    wt_http_hints_t h;
    wt_http_hints_init(&h);
    /* every line of the input is one header line, fed raw (no NUL needed) */
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            wt_http_hints_header(&h, (const char *)data + start, i - start, now_s);
            start = i + 1;
        }
    }
    wt_assert(h.retry_after_ms == -1 || h.retry_after_ms >= 0);
    wt_assert(h.reset_s == -1 || h.reset_s >= 0);
    wt_assert(h.remaining == -1 || h.remaining >= 0);
    char *v = wt_xstrndup((const char *)data, size < 512 ? size : 512);
    int64_t ms = wt_http_parse_retry_after(v, now_s);
    wt_assert(ms == -1 || ms >= 0);
    free(v);
    return 0;
}
