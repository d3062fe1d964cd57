/* wt_bench_judge - the llm_judge scorer's one LLM call: the rubric, the
 * case's goal and expected values and the session's answer go to an
 * OpenAI-compatible Chat Completions or an Anthropic Messages endpoint;
 * the reply must be a bare score in [0, 1] (wt_bench_judge_parse). The
 * API key is read from OPENAI_API_KEY / ANTHROPIC_API_KEY and goes only
 * into the request header; the judge's own tokens are returned for the
 * run's totals. */
#ifndef WT_BENCH_JUDGE_H
#define WT_BENCH_JUDGE_H

#include "wt_bench_score.h"

#include <jansson.h>
#include <stdint.h>

/* Scores answer (the value at the scorer's output path, or the whole
 * output) for goal and expect. 0 with *score and the tokens, -1 with why
 * (HTTP failure, unparsable reply - quoted, cut - or no key). */
int wt_bench_judge_score(const wt_bench_scorer_t *sc, const char *goal, const json_t *expect,
                         const json_t *answer, double *score, int64_t *in_tokens,
                         int64_t *out_tokens, char *why, size_t cap);

#endif
