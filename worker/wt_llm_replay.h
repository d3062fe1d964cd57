/* wt_llm_replay - record and replay of LLM turns for `worktrain bench
 * --record DIR / --replay DIR` (DESIGN section 14). A session whose
 * context holds benchRecord: DIR stores each successful reply in
 * DIR/<hash>.json; one holding benchReplay: DIR is served from there and
 * never reaches the provider (the `replay` provider), so CI re-runs a suite
 * deterministically at no token cost. Errors are never recorded.
 *
 * The hash (SHA-256, hex) covers the provider, model, base URL, max_tokens,
 * system prompt, messages, tools and the case's repeat index (so repeats
 * stay distinct). Before hashing, the session id, the bench run id and the
 * record/replay folder entry of the context (shown to the model in the
 * first message) are replaced by fixed words in the request text: they
 * differ between the recording run and the replaying one while the
 * conversation is the same. A replaying worker must run with
 * the recording worker's --provider/--model/--base-url. */
#ifndef WT_LLM_REPLAY_H
#define WT_LLM_REPLAY_H

#include "wt_llm.h"

#include <jansson.h>

#define WT_LLM_REPLAY_HASH_LEN 64 /* hex SHA-256 */

/* The hash of req as llm would send it, for a session (req->session) of
 * a bench run whose initial context is context (bench, repeat,
 * benchRecord/benchReplay read from it). out gets 65 bytes. */
void wt_llm_replay_hash(const wt_llm_t *llm, const wt_llm_request_t *req, const json_t *context,
                        char out[WT_LLM_REPLAY_HASH_LEN + 1]);

/* Writes reply as DIR/<hash>.json (atomically: temp file and rename), with
 * case and turn for people reading the folder. */
int wt_llm_replay_store(const char *dir, const char *hash, const char *case_id, int turn,
                        const wt_llm_reply_t *reply, wt_err_t *err);

/* Reads DIR/<hash>.json into reply. WT_ENOTFOUND names case, turn and hash
 * when there is no recording; WT_EPROTO for a damaged file. */
int wt_llm_replay_load(const char *dir, const char *hash, const char *case_id, int turn,
                       wt_llm_reply_t *reply, wt_err_t *err);

/* wt_llm_complete with the session context's benchRecord / benchReplay
 * applied (context may be NULL: a plain call). */
int wt_llm_replay_complete(wt_llm_t *llm, const wt_llm_request_t *req, const json_t *context,
                           wt_llm_reply_t *reply, wt_err_t *err);

#endif
