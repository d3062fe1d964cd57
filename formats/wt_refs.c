/* wt_refs - WorkRail reference ids and WorkTrain's wording of the guidance
 * each stands for (see wt_refs.h). */
#include "wt_refs.h"

#include <string.h>

static const struct {
    const char *id;
    const char *text;
} refs[] = {
    {"wr.refs.memory_usage",
     "Memory tools (when this session has them):\n"
     "- look up what earlier sessions learned about this workspace before you start\n"
     "- after significant work, store the discoveries and decisions under clear topics\n"
     "- treat memory as a help only: carry on if it fails"},
    {"wr.refs.memory_store",
     "Memory tools (when this session has them):\n"
     "- store this phase's findings under a clear topic, with paths, decisions and reasons\n"
     "- carry on if storing fails"},
    {"wr.refs.memory_query", "Memory tools (when this session has them):\n"
                             "- check for earlier context on this task, scoped to the workspace\n"
                             "- carry on without it if the lookup fails"},
    {"wr.refs.notes_first_durability",
     "Notes come first:\n"
     "- the notes you give complete_step are the durable record of each step\n"
     "- keep what the workflow needs in notes and context values, not in side files\n"
     "- documents you write for people are for reading; the workflow must not depend on them\n"
     "- record decisions, findings and reasons in the notes before you move on"},
    {"wr.refs.synthesis_under_disagreement",
     "When parallel results disagree:\n"
     "- resolve the disagreement explicitly; never gloss over contradicting results\n"
     "- an issue raised by two or more results at the same severity counts as confirmed\n"
     "- when severities differ, take the higher one unless the lower comes with evidence\n"
     "- an issue raised by one result only is investigated, and blocks only if clearly "
     "critical\n"
     "- when one result calls an issue valid and another a false positive, decide it in the "
     "notes\n"
     "- unresolved disagreement outranks any early recommendation\n"
     "- write down how each contradiction was resolved and why"},
    {"wr.refs.parallelize_cognition_serialize_synthesis",
     "Parallel work:\n"
     "- independent thinking (gathering context, hypotheses, audits, reviews) may run in "
     "parallel\n"
     "- merging results, resolving contradictions, deciding and writing final artifacts happen "
     "one at a time, by you\n"
     "- no parallel helper makes the final decision\n"
     "- prefer one well-scoped batch of delegated work to many small rounds\n"
     "- give each parallel helper its own, non-overlapping focus"},
    {"wr.refs.adversarial_challenge_rules",
     "Challenging a position:\n"
     "- try to break the leading position, not to confirm it\n"
     "- for each conclusion ask what evidence would refute it, and whether that evidence "
     "exists\n"
     "- a position that survives a real challenge is stronger; a weakness found becomes a "
     "finding and changes the position\n"
     "- rate severity by actual risk, in both directions: inflated and understated severities "
     "both cost\n"
     "- a serious concern raised by two or more independent challengers blocks by default"},
};

const char *
wt_refs_text(const char *ref_id)
{
    for (size_t i = 0; ref_id && i < sizeof refs / sizeof refs[0]; i++)
        if (strcmp(refs[i].id, ref_id) == 0)
            return refs[i].text;
    return NULL;
}

const char *
wt_refs_known(void)
{
    return "wr.refs.memory_usage, wr.refs.memory_store, wr.refs.memory_query, "
           "wr.refs.notes_first_durability, wr.refs.synthesis_under_disagreement, "
           "wr.refs.parallelize_cognition_serialize_synthesis, "
           "wr.refs.adversarial_challenge_rules";
}
