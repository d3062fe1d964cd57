/* fuzz_pipeline - the pipeline loader and checker: any bytes either fail to
 * load with at least one error diagnostic, or load into a pipeline that
 * checks, orders and prints without crashing. */
#include "wt_alloc.h"
#include "wt_pipeline.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
known(void *ud, const char *id)
{
    (void)ud;
    return id[0] != 'x'; /* some workflows exist, some do not */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wt_diags_t d;
    wt_diags_init(&d);
    wt_pipeline_t *p = wt_pipeline_load_buffer((const char *)data, size, "fuzz.yml", &d);
    if (p == NULL) {
        wt_assert(d.errors > 0);
    } else {
        wt_assert(p->name != NULL && p->nphases > 0);
        for (int i = 0; i < p->nphases; i++)
            wt_assert(p->phases[i].id != NULL && p->phases[i].goal != NULL);
        int errors = wt_pipeline_check(p, known, NULL, &d);
        int *order = wt_pipeline_topo_order(p);
        if (order == NULL)
            wt_assert(errors > 0); /* a cycle is always reported */
        free(order);
        wt_pipeline_check(p, NULL, NULL, &d);
    }
    wt_diags_sort(&d);
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull) {
        wt_diags_print(&d, devnull);
        fclose(devnull);
    }
    wt_pipeline_destroy(&p);
    wt_diags_release(&d);
    return 0;
}
