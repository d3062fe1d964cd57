/* fuzz_proto - the wire codec: whatever decodes must re-encode and decode
 * to the same bytes; nothing may crash or read out of bounds. */
#include "wt_alloc.h"
#include "wt_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int code = 0;
    wt_msg_t *msg = wt_proto_decode(data, size, &code, NULL);
    if (msg == NULL) {
        wt_assert(code >= WT_PROTO_E_BAD_FRAME &&
                  code <= WT_PROTO_E_INTERNAL); /* decode errors only */
        return 0;
    }
    wt_buf_t a, b;
    wt_buf_init(&a, WT_PROTO_MAX_BODY + 16);
    wt_buf_init(&b, WT_PROTO_MAX_BODY + 16);
    /* A BATCH decodes to a chain: it re-encodes as a BATCH of the chain. */
    size_t n = 0;
    for (wt_msg_t *m = msg; m; m = m->next)
        n++;
    const wt_msg_t **v = wt_xcalloc(n, sizeof *v), **w = wt_xcalloc(n, sizeof *w);
    n = 0;
    for (wt_msg_t *m = msg; m; m = m->next)
        v[n++] = m;
    int batch = msg->batched;
    int rc =
        batch ? wt_proto_encode_batch(msg->chan, v, n, &a, NULL) : wt_proto_encode(msg, &a, NULL);
    wt_msg_t *again = rc == 0 ? wt_proto_decode(a.data, a.len, NULL, NULL) : NULL;
    /* Re-encoding can only fail when the decoded strings sum past the body cap. */
    if (rc == 0) {
        wt_assert(again != NULL);
        size_t k = 0;
        for (wt_msg_t *m = again; m && k < n; m = m->next)
            w[k++] = m;
        wt_assert(k == n);
        wt_assert((batch ? wt_proto_encode_batch(again->chan, w, k, &b, NULL)
                         : wt_proto_encode(again, &b, NULL)) == 0);
        wt_assert(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    }
    free(v);
    free(w);
    wt_msg_destroy(&again);
    wt_msg_destroy(&msg);
    wt_buf_release(&a);
    wt_buf_release(&b);
    return 0;
}
