/* wt_refs - the texts behind WorkRail's prompt references ({"kind": "ref",
 * "refId": "wr.refs.*"} parts of promptBlocks). WorkRail v3.37.1 resolves a
 * closed set of ids to fixed guidance when it compiles a workflow and
 * refuses unknown ones; WorkTrain knows the same ids and renders its own
 * wording of the same rules (WorkRail's text is not copied). */
#ifndef WT_REFS_H
#define WT_REFS_H

/* The text for refId, or NULL when unknown. */
const char *wt_refs_text(const char *ref_id);
/* The known ids, comma-separated (for error messages). */
const char *wt_refs_known(void);

#endif
