/* wt_console_ideas - GET /api/ideas (see wt_console_ideas.h). */
#include "wt_console_ideas.h"

#include "wt_fleetq.h"

json_t *
wt_console_ideas(wt_store_t *st, wt_err_t *err)
{
    json_t *ideas = wt_fleetq_ideas(st, WT_CONSOLE_IDEAS_MAX, err);
    if (ideas == NULL)
        return NULL;
    json_t *gaps = wt_fleetq_inbox(st, "gap", WT_CONSOLE_IDEAS_MAX, NULL, err);
    if (gaps == NULL) {
        json_decref(ideas);
        return NULL;
    }
    json_t *out = json_pack("{s:O,s:O}", "ideas", json_object_get(ideas, "ideas"), "gaps",
                            json_object_get(gaps, "entries"));
    json_decref(ideas);
    json_decref(gaps);
    return out;
}
