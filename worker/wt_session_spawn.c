/* wt_session_spawn - the spawn_agent tool. Child sessions go through the
 * broker like any other; this worker has no client connection to it yet, so
 * the tool answers with an error result the agent can act on. */
#include "wt_alloc.h"
#include "wt_session_int.h"

int
wt_session_spawn_agent(wt_session_t *self, json_t *input, wt_tool_result_t *res)
{
    (void)self;
    (void)input;
    res->text = wt_xstrdup("spawn_agent is not available on this worker: do the work yourself");
    res->is_error = 1;
    return 0;
}
