/* wt_llm_replay - recorded LLM turns keyed by a hash of the request.
 *
 * The hashed text is one compact JSON document with sorted keys, so the
 * same request always gives the same bytes; the scrub of the session and
 * run ids is a plain substring replacement on that text. A recording is
 * {hash, case, turn, reply: {text, stop_reason, model, input_tokens,
 * output_tokens, calls: [{id, name, input}]}}. */
#include "wt_llm_replay.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_llm_int.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* text with every occurrence of what replaced by with (caller frees). */
static char *
replace_all(const char *text, const char *what, const char *with)
{
    if (what == NULL || *what == '\0')
        return wt_xstrdup(text);
    wt_buf_t b;
    wt_buf_init(&b, (size_t)1 << 30);
    size_t wl = strlen(what);
    const char *p = text, *hit;
    while ((hit = strstr(p, what)) != NULL) {
        wt_buf_append(&b, p, (size_t)(hit - p), NULL);
        wt_buf_puts(&b, with, NULL);
        p = hit + wl;
    }
    wt_buf_puts(&b, p, NULL);
    return wt_buf_detach(&b);
}

/* Replaces the context entry "key":"dir" as it appears inside a JSON
 * string of the hashed text (escaped once more). Takes *text. */
static char *
scrub_entry(char *text, const json_t *context, const char *key)
{
    const char *dir = json_string_value(json_object_get(context, key));
    if (dir == NULL)
        return text;
    json_t *one = json_pack("{s:s}", key, dir);
    char *inner = json_dumps(one, JSON_COMPACT); /* {"key":"dir"} */
    json_decref(one);
    inner[strlen(inner) - 1] = '\0';
    json_t *s = json_string(inner + 1);
    char *esc = json_dumps(s, JSON_ENCODE_ANY); /* "\"key\":\"dir\"" */
    json_decref(s);
    esc[strlen(esc) - 1] = '\0';
    char *out = replace_all(text, esc + 1, "<bench-io>");
    free(inner);
    free(esc);
    free(text);
    return out;
}

void
wt_llm_replay_hash(const wt_llm_t *llm, const wt_llm_request_t *req, const json_t *context,
                   char out[WT_LLM_REPLAY_HASH_LEN + 1])
{
    const char *sid = req->session;
    const char *run = json_string_value(json_object_get(context, "bench"));
    json_int_t repeat = json_integer_value(json_object_get(context, "repeat"));
    const char *model = req->model ? req->model : wt_llm_model_for(llm, req->tier);
    json_t *doc =
        json_pack("{s:s,s:s,s:s,s:i,s:s,s:O,s:O,s:I}", "provider", llm->cfg.provider, "model",
                  model ? model : "", "base_url", llm->cfg.base_url, "max_tokens",
                  llm->cfg.max_tokens, "system", req->system ? req->system : "", "messages",
                  req->messages ? req->messages : json_null(), "tools",
                  req->tools ? req->tools : json_null(), "repeat", (json_int_t)repeat);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    text = scrub_entry(text, context, "benchRecord");
    text = scrub_entry(text, context, "benchReplay");
    char *a = replace_all(text, sid, "<session>");
    char *b = replace_all(a, run, "<run>");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(b, strlen(b), md, &mdlen, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < mdlen && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[WT_LLM_REPLAY_HASH_LEN] = '\0';
    free(text);
    free(a);
    free(b);
}

int
wt_llm_replay_store(const char *dir, const char *hash, const char *case_id, int turn,
                    const wt_llm_reply_t *reply, wt_err_t *err)
{
    json_t *calls = json_array();
    for (size_t i = 0; i < reply->ncalls; i++)
        json_array_append_new(
            calls,
            json_pack("{s:s?,s:s,s:O}", "id", reply->calls[i].id, "name", reply->calls[i].name,
                      "input", reply->calls[i].input ? reply->calls[i].input : json_object()));
    json_t *doc = json_pack("{s:s,s:s,s:i,s:{s:s,s:s,s:s,s:I,s:I,s:o}}", "hash", hash, "case",
                            case_id ? case_id : "", "turn", turn, "reply", "text",
                            reply->text ? reply->text : "", "stop_reason", reply->stop_reason,
                            "model", reply->model, "input_tokens", (json_int_t)reply->input_tokens,
                            "output_tokens", (json_int_t)reply->output_tokens, "calls", calls);
    char path[PATH_MAX], tmp[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s.json", dir, hash);
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    int rc = json_dump_file(doc, tmp, JSON_INDENT(1));
    json_decref(doc);
    if (rc != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return wt_err_set(err, WT_EIO, "cannot record the LLM reply in '%s': %s", path,
                          strerror(errno));
    }
    return 0;
}

int
wt_llm_replay_load(const char *dir, const char *hash, const char *case_id, int turn,
                   wt_llm_reply_t *reply, wt_err_t *err)
{
    memset(reply, 0, sizeof *reply);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.json", dir, hash);
    if (access(path, F_OK) != 0)
        return wt_err_set(err, WT_ENOTFOUND,
                          "replay: no recording for case %s turn %d (request hash %.12s) in %s",
                          case_id ? case_id : "?", turn, hash, dir);
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    json_t *r = json_object_get(doc, "reply");
    if (!json_is_object(r)) {
        json_decref(doc);
        return wt_err_set(err, WT_EPROTO, "replay: damaged recording '%s': %s", path,
                          doc ? "no reply object" : je.text);
    }
    reply->text = wt_xstrdup(json_string_value(json_object_get(r, "text")) ?: "");
    snprintf(reply->stop_reason, sizeof reply->stop_reason, "%s",
             json_string_value(json_object_get(r, "stop_reason")) ?: "end_turn");
    snprintf(reply->model, sizeof reply->model, "%s",
             json_string_value(json_object_get(r, "model")) ?: "");
    reply->input_tokens = json_integer_value(json_object_get(r, "input_tokens"));
    reply->output_tokens = json_integer_value(json_object_get(r, "output_tokens"));
    json_t *calls = json_object_get(r, "calls");
    reply->ncalls = json_array_size(calls);
    reply->calls = wt_xcalloc(reply->ncalls ? reply->ncalls : 1, sizeof *reply->calls);
    for (size_t i = 0; i < reply->ncalls; i++) {
        json_t *c = json_array_get(calls, i);
        reply->calls[i].id = wt_xstrdup(json_string_value(json_object_get(c, "id")) ?: "");
        reply->calls[i].name = wt_xstrdup(json_string_value(json_object_get(c, "name")) ?: "");
        json_t *in = json_object_get(c, "input");
        reply->calls[i].input = json_is_object(in) ? json_deep_copy(in) : json_object();
    }
    json_decref(doc);
    return 0;
}

int
wt_llm_replay_complete(wt_llm_t *llm, const wt_llm_request_t *req, const json_t *context,
                       wt_llm_reply_t *reply, wt_err_t *err)
{
    const char *rec = json_string_value(json_object_get(context, "benchRecord"));
    const char *rep = json_string_value(json_object_get(context, "benchReplay"));
    if ((rec == NULL || *rec == '\0') && (rep == NULL || *rep == '\0'))
        return wt_llm_complete(llm, req, reply, err);
    const char *case_id = json_string_value(json_object_get(context, "case"));
    char hash[WT_LLM_REPLAY_HASH_LEN + 1];
    wt_llm_replay_hash(llm, req, context, hash);
    if (rep && *rep)
        return wt_llm_replay_load(rep, hash, case_id, req->turn, reply, err);
    if (wt_llm_complete(llm, req, reply, err) != 0)
        return -1; /* errors are never recorded */
    if (wt_llm_replay_store(rec, hash, case_id, req->turn, reply, err) != 0) {
        wt_llm_reply_release(reply);
        return -1;
    }
    return 0;
}
