/* Unit tests of wt_llm_replay: the request hash ignores the session id,
 * run id and record/replay folder but not the repeat index or the
 * messages; a stored reply loads back equal; a missing recording names
 * case, turn and hash. */
#include "wt_llm_replay.h"

#include "wt_alloc.h"
#include "wt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static wt_llm_t *
scripted(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/script.json", dir);
    FILE *f = fopen(path, "w");
    fputs("[{\"text\": \"hi\"}]", f);
    fclose(f);
    wt_llm_cfg_t cfg;
    wt_llm_cfg_defaults(&cfg);
    snprintf(cfg.provider, sizeof cfg.provider, "scripted");
    snprintf(cfg.script_path, sizeof cfg.script_path, "%s", path);
    wt_err_t err = {0};
    return wt_llm_new(&cfg, &err);
}

static void
hash_for(wt_llm_t *llm, const char *sid, const char *run, int repeat, const char *io_key,
         const char *extra, char out[WT_LLM_REPLAY_HASH_LEN + 1])
{
    json_t *ctx = json_pack("{s:s,s:i,s:s,s:s}", "bench", run, "repeat", repeat, "case", "c1",
                            io_key, io_key[6] == 'c' ? "/rec/dir" : "/replay/other");
    char *ctx_json = json_dumps(ctx, JSON_COMPACT);
    char *first = wt_xasprintf("Goal: g\nSession context (JSON): %s\nworkspace /ws/%s %s", ctx_json,
                               sid, extra);
    json_t *msgs = json_pack("[{s:s,s:s}]", "role", "user", "content", first);
    wt_llm_request_t req = {.system = "sys", .messages = msgs, .session = sid, .turn = 0};
    wt_llm_replay_hash(llm, &req, ctx, out);
    json_decref(msgs);
    json_decref(ctx);
    free(ctx_json);
    free(first);
}

static void
test_hash(void)
{
    wt_llm_t *llm = scripted();
    WT_CHECK(llm != NULL);
    char a[65], b[65], c[65], d[65];
    hash_for(llm, "01SIDAAAA", "RUN1", 0, "benchRecord", "", a);
    hash_for(llm, "01SIDBBBB", "RUN2", 0, "benchReplay", "", b);
    WT_CHECK(strlen(a) == 64);
    WT_CHECK_STR(a, b); /* same conversation in another run, replayed */
    hash_for(llm, "01SIDAAAA", "RUN1", 1, "benchRecord", "", c);
    WT_CHECK(strcmp(a, c) != 0); /* repeats stay distinct */
    hash_for(llm, "01SIDAAAA", "RUN1", 0, "benchRecord", "more", d);
    WT_CHECK(strcmp(a, d) != 0); /* other messages */
    wt_llm_destroy(&llm);
}

static void
test_store_load(void)
{
    wt_llm_reply_t r = {0}, back;
    r.text = "thinking";
    wt_llm_tool_call_t call = {
        .id = "call_1", .name = "complete_step", .input = json_pack("{s:s}", "notes", "done")};
    r.calls = &call;
    r.ncalls = 1;
    snprintf(r.stop_reason, sizeof r.stop_reason, "tool_use");
    snprintf(r.model, sizeof r.model, "m1");
    r.input_tokens = 12;
    r.output_tokens = 3;
    wt_err_t err = {0};
    WT_CHECK(wt_llm_replay_store(dir, "abc", "c1", 2, &r, &err) == 0);
    WT_CHECK(wt_llm_replay_load(dir, "abc", "c1", 2, &back, &err) == 0);
    WT_CHECK_STR(back.text, "thinking");
    WT_CHECK(back.ncalls == 1 && strcmp(back.calls[0].name, "complete_step") == 0);
    WT_CHECK_STR(json_string_value(json_object_get(back.calls[0].input, "notes")), "done");
    WT_CHECK(back.input_tokens == 12 && back.output_tokens == 3);
    WT_CHECK_STR(back.stop_reason, "tool_use");
    wt_llm_reply_release(&back);
    json_decref(call.input);
    WT_CHECK(wt_llm_replay_load(dir, "0123456789abcdef", "case-x", 4, &back, &err) == -1);
    WT_CHECK(err.code == WT_ENOTFOUND);
    WT_CHECK(strstr(err.msg, "case case-x turn 4") && strstr(err.msg, "0123456789ab"));
}

int
main(void)
{
    snprintf(dir, sizeof dir, "/tmp/wt-replay-test-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    static const wt_test_case_t cases[] = {WT_TEST(test_hash), WT_TEST(test_store_load)};
    int rc = wt_test_run(cases, sizeof cases / sizeof cases[0]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
