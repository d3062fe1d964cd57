/* fuzz_proto - the wire codec: whatever decodes must re-encode and decode
 * to the same bytes; nothing may crash or read out of bounds. */
#include "wt_alloc.h"
#include "wt_proto.h"

#include <stdint.h>
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
    int rc = wt_proto_encode(msg, &a, NULL);
    wt_msg_t *again = rc == 0 ? wt_proto_decode(a.data, a.len, NULL, NULL) : NULL;
    /* Re-encoding can only fail when the decoded strings sum past the body cap. */
    if (rc == 0) {
        wt_assert(again != NULL);
        wt_assert(wt_proto_encode(again, &b, NULL) == 0);
        wt_assert(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    }
    wt_msg_destroy(&again);
    wt_msg_destroy(&msg);
    wt_buf_release(&a);
    wt_buf_release(&b);
    return 0;
}
