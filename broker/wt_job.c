/* wt_job - session records held by the broker. */
#include "wt_job.h"

#include "wt_alloc.h"

#include <stdlib.h>
#include <string.h>

wt_job_t *
wt_job_new(const char *sid)
{
    wt_job_t *self = wt_xcalloc(1, sizeof *self);
    wt_strlcpy(self->sid, sid, sizeof self->sid);
    return self;
}

void
wt_job_destroy(wt_job_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    wt_job_t *self = *self_p;
    free(self->workflow);
    free(self->goal);
    free(self->context_json);
    free(self->parent);
    free(self->workspace);
    free(self->require);
    free(self);
    *self_p = NULL;
}
