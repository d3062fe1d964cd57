/* fuzz_workflow - the workflow loader and run cursor: any bytes either fail
 * to load with an error message, or load and can be run, rendered,
 * completed, snapshotted and restored without crashing. */
#include "wt_alloc.h"
#include "wt_wfrun.h"
#include "wt_workflow.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wt_err_t err = {0};
    wt_workflow_t *wf = wt_workflow_parse((const char *)data, size, "fuzz.json", &err);
    if (wf == NULL) {
        wt_assert(err.msg[0] != '\0');
        return 0;
    }
    json_t *ctx = json_pack("{s:[i,i],s:s,s:i}", "items", 1, 2, "mode", "full", "n", 2);
    wt_wfrun_t *run = wt_wfrun_new(wf, ctx, NULL);
    for (int i = 0; run && i < 12 && !wt_wfrun_done(run); i++) {
        char *text = wt_wfrun_render_step(run);
        free(text);
        json_t *args = json_pack("{s:s,s:O,s:[{s:s,s:s}]}", "notes", "n", "context", ctx,
                                 "artifacts", "kind", "wr.loop_control", "decision", "stop");
        wt_wfrun_complete(run, args, NULL);
        json_decref(args);
        json_t *st = wt_wfrun_state(run);
        wt_wfrun_t *copy = wt_wfrun_restore(wf, st, NULL);
        wt_assert(copy != NULL);
        wt_wfrun_destroy(&copy);
        json_decref(st);
    }
    wt_wfrun_destroy(&run);
    json_decref(ctx);
    wt_workflow_destroy(&wf);
    return 0;
}
