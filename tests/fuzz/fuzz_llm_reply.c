/* fuzz_llm_reply - the two provider reply parsers on arbitrary bytes: a body
 * either parses into a reply or fails with a message; nothing crashes. */
#include "wt_alloc.h"
#include "wt_llm_int.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wt_llm_reply_t r;
    for (int which = 0; which < 2; which++) {
        memset(&r, 0, sizeof r);
        wt_err_t err = {0};
        int rc = which == 0 ? wt_llm_anthropic_parse((const char *)data, size, &r, &err)
                            : wt_llm_openai_parse((const char *)data, size, &r, &err);
        wt_assert(rc == 0 || err.msg[0] != '\0');
        for (size_t i = 0; i < r.ncalls; i++)
            wt_assert(r.calls[i].name != NULL && json_is_object(r.calls[i].input));
        wt_llm_reply_release(&r);
    }
    return 0;
}
