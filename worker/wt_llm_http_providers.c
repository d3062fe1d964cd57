/* Temporary: HTTP providers land in wt_llm_anthropic.c / wt_llm_openai.c. */
#include "wt_llm_int.h"

static int
unavailable(wt_llm_t *self, const wt_llm_request_t *req, const char *model, wt_llm_reply_t *reply,
            long *status, int64_t *retry_after, wt_err_t *err)
{
    (void)self, (void)req, (void)model, (void)reply, (void)status, (void)retry_after;
    return wt_err_set(err, WT_EINVAL, "this provider is not available in this build");
}

const wt_llm_provider_t wt_llm_anthropic_provider = {"anthropic", unavailable};
const wt_llm_provider_t wt_llm_openai_provider = {"openai", unavailable};
