/* wt_forge - opens the one pull request (GitHub REST) or merge request
 * (GitLab REST) of a delivered branch (DESIGN.md section 15).
 *
 * Exactly one: every call first looks for an open request whose head is
 * the branch and uses it; a create answered with GitHub's 422 "A pull
 * request already exists" or GitLab's 409 looks again. One call makes one
 * try of that sequence; the caller (wt_deliver) keeps the retry schedule
 * durable in Redis, so a retry survives the worker. API bases come from
 * WORKTRAIN_GITHUB_API (default https://api.github.com) and
 * WORKTRAIN_GITLAB_API (default https://gitlab.com/api/v4); tokens from
 * GITHUB_TOKEN / GITLAB_TOKEN, sent in a header only. */
#ifndef WT_FORGE_H
#define WT_FORGE_H

#include "wt_err.h"
#include "wt_http.h"

#include <stddef.h>
#include <stdint.h>

#define WT_FORGE_GITHUB_BODY_MAX 65536   /* GitHub's limit on a PR body, in characters */
#define WT_FORGE_GITLAB_BODY_MAX 1000000 /* GitLab's description limit (1 MB), in characters */

typedef struct wt_forge_pr {
    const char *forge;   /* "github" or "gitlab" */
    const char *project; /* OWNER/NAME */
    const char *branch;  /* head (source) branch */
    const char *base;    /* base (target) branch */
    const char *title;   /* without the draft prefix */
    const char *body;    /* already truncated (wt_forge_truncate) */
    const char *labels;  /* comma-separated, or NULL */
    int draft;           /* draft PR / "Draft: " MR title */
} wt_forge_pr_t;

typedef struct wt_forge_result {
    char url[512];       /* web URL of the PR/MR */
    long number;         /* PR number / MR iid */
    int existed;         /* 1: found, not created by this call */
    long status;         /* last HTTP status (0: no answer) */
    int64_t retry_in_ms; /* on failure: wait this long and retry; -1: do not retry */
} wt_forge_result_t;

/* Finds or opens the PR/MR. 0 with res filled; -1 with err and
 * res->retry_in_ms (>= 0 for 5xx, 429, a rate-limited 403, no answer:
 * the server's Retry-After or rate-limit reset when given, else an
 * exponential backoff for attempt, 1-based). */
int wt_forge_open(wt_http_t *http, const wt_forge_pr_t *pr, int attempt, wt_forge_result_t *res,
                  wt_err_t *err);

/* Opens an issue (GitHub) or issue (GitLab) on project (OWNER/NAME or
 * GROUP/PROJECT) with title, body and comma-separated labels (or NULL);
 * forge is "github" or "gitlab", API base and token as for wt_forge_open.
 * One try: 0 with res->url and res->number, -1 with err. Used by the
 * record_idea tool (DESIGN.md 17). */
int wt_forge_issue(wt_http_t *http, const char *forge, const char *project, const char *title,
                   const char *body, const char *labels, wt_forge_result_t *res, wt_err_t *err);

/* Cuts text to at most max characters (UTF-8 code points), always at the
 * same place for the same input, ending with a note that names where the
 * full text is (more, e.g. a console link). Returns a new string. */
char *wt_forge_truncate(const char *text, size_t max, const char *more);

#endif
