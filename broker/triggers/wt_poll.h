/* wt_poll - the I/O-free half of the GitHub / GitLab pollers (DESIGN.md
 * section 9): which URL to ask, what a response's headers say about rate
 * limits, ETags and the next page, and which items of a page to dispatch
 * given what was remembered. Everything here is pure so it is unit-tested
 * without HTTP or Redis; wt_poller does the talking. */
#ifndef WT_POLL_H
#define WT_POLL_H

#include "wt_err.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    WT_POLL_GITHUB_ISSUES = 1, /* GET /repos/{owner}/{repo}/issues, PRs skipped */
    WT_POLL_GITHUB_PRS = 2,    /* GET /repos/{owner}/{repo}/pulls */
    WT_POLL_GITLAB_MRS = 3,    /* GET /api/v4/projects/{id}/merge_requests */
} wt_poll_provider_t;

/* events bits: which changes of an item start a session. */
#define WT_POLL_EV_OPENED  1 /* an item not dispatched before */
#define WT_POLL_EV_UPDATED 2 /* its updated_at (or head sha) moved */
#define WT_POLL_EV_LABELED 4 /* it gained a label it did not have */

#define WT_POLL_MAX_LIST 32 /* entries of excludeAuthors / labelFilter / notLabels */

/* The filters of one poll trigger (plain data, fixed-size strings). */
typedef struct wt_poll_rules {
    wt_poll_provider_t provider;                /* which API shape the items have */
    unsigned events;                            /* WT_POLL_EV_* bits; 0 means OPENED */
    char exclude_authors[WT_POLL_MAX_LIST][64]; /* user.login / author.username to skip */
    int n_exclude_authors;                      /* used entries */
    char label_filter[WT_POLL_MAX_LIST][64];    /* item must carry one of these (if any) */
    int n_label_filter;                         /* used entries */
    char not_labels[WT_POLL_MAX_LIST][64];      /* item must carry none of these */
    int n_not_labels;                           /* used entries */
} wt_poll_rules_t;

/* Parses a provider name ("github_issues_poll", "github_prs_poll",
 * "gitlab_poll"); returns 0 for an unknown one. */
wt_poll_provider_t wt_poll_provider_parse(const char *name);
/* Parses one events entry ("opened", "updated", "labeled"; also "created",
 * "synchronize" and "edited" as aliases); returns its bit or 0. */
unsigned wt_poll_event_parse(const char *name);

/* Builds the first-page URL of a poll: base is the API root (for GitHub
 * e.g. "https://api.github.com", for GitLab "https://gitlab.com" or one
 * ending in "/api/v4"), where is "owner/repo" (GitHub) or the project id or
 * path (GitLab, URL-encoded here). Returns a new string or NULL with err
 * (bad repo, too long). */
char *wt_poll_url(wt_poll_provider_t p, const char *base, const char *where, int per_page,
                  wt_err_t *err);

/* What a response's headers said. Fill by feeding each header line to
 * wt_poll_meta_header (a status line starts over, as after a redirect). */
typedef struct wt_poll_meta {
    long status;             /* HTTP status of the last status line */
    char etag[256];          /* ETag, "" if none */
    char next_url[1024];     /* Link rel="next", "" if none */
    int64_t remaining;       /* X-RateLimit-Remaining / RateLimit-Remaining, -1 if absent */
    int64_t reset_s;         /* X-RateLimit-Reset / RateLimit-Reset (Unix s), -1 if absent */
    int64_t retry_after_s;   /* Retry-After in seconds from now, -1 if absent */
    int64_t poll_interval_s; /* X-Poll-Interval, -1 if absent */
} wt_poll_meta_t;

void wt_poll_meta_init(wt_poll_meta_t *m);
/* Takes one raw header line (with or without CRLF). now_s converts an
 * HTTP-date Retry-After into seconds. */
void wt_poll_meta_header(wt_poll_meta_t *m, const char *line, size_t len, int64_t now_s);

/* When (Unix ms) the next request of this trigger may go out at the
 * earliest, judging by the response alone: Retry-After first, then an
 * exhausted quota's reset time (also on a 200 whose remaining is 0), then
 * for a 403/429 without either a one-minute wait; now_ms when nothing
 * forbids asking at once. rate_limited (may be NULL) is set to 1 when the
 * response was a refusal for rate reasons (403/429 with these headers, or
 * any 429). */
int64_t wt_poll_meta_not_before_ms(const wt_poll_meta_t *m, int64_t now_ms, int *rate_limited);

/* The same in the monotonic clock the pollers schedule with: the wall clock
 * (wall_now_ms) serves only to turn an absolute header time (reset, an
 * HTTP-date Retry-After) into a delay, once; the result is mono_now_ms plus
 * that delay, so setting the wall clock later cannot stall or rush a
 * poller. */
int64_t wt_poll_meta_not_before_mono(const wt_poll_meta_t *m, int64_t wall_now_ms,
                                     int64_t mono_now_ms, int *rate_limited);

/* The longest wait any header can impose (s): Retry-After, a reset time and
 * X-Poll-Interval are capped to it (a poller asks again after at most this
 * long; a broken or hostile header cannot stop it for good). */
#define WT_POLL_MAX_WAIT_S 3600

/* 1 when url has the scheme, host and port of base (both absolute http(s)
 * URLs): a Link rel="next" elsewhere is not followed, since the request
 * carries the token. */
int wt_poll_same_origin(const char *base, const char *url);

/* One item of a page, normalized across providers. Strings borrow from the
 * item's JSON. */
typedef struct wt_poll_item {
    char id[32];            /* number (GitHub) or iid (GitLab) as text */
    const char *title;      /* "" if absent */
    const char *url;        /* html_url / web_url, "" if absent */
    const char *author;     /* user.login / author.username, "" if absent */
    const char *updated_at; /* ISO time as the API gave it */
    const char *sha;        /* head.sha / sha for PRs and MRs, "" otherwise */
    int is_pr;              /* a pull request on the issues endpoint */
    const json_t *labels;   /* the labels array (names or {name}), may be NULL */
} wt_poll_item_t;

/* Reads one page item; fails with WT_EPROTO naming the missing field. */
int wt_poll_item_read(wt_poll_provider_t p, const json_t *j, wt_poll_item_t *it, wt_err_t *err);
/* 1 when the item carries the label (case-insensitive, as GitHub). */
int wt_poll_item_has_label(const wt_poll_item_t *it, const char *label);

typedef enum {
    WT_POLL_SKIP = 0,     /* nothing to do */
    WT_POLL_REMEMBER = 1, /* record the new state, start nothing */
    WT_POLL_DISPATCH = 2, /* start a session, then record the new state */
} wt_poll_action_t;

/* The decision for one item. */
typedef struct wt_poll_decision {
    wt_poll_action_t action; /* what to do */
    const char *event;       /* "opened", "updated", "labeled" when dispatching, else NULL */
    const char *why;         /* a short reason for logs when skipping ("author excluded") */
    char *state;             /* new remembered state (JSON text), owned; NULL for SKIP */
} wt_poll_decision_t;

/* Decides about one item given its remembered state (the JSON text stored
 * by an earlier decision, NULL when never seen). baseline != 0 means this is
 * the trigger's very first poll: items already there are remembered, not
 * dispatched. Free d->state with free(). */
void wt_poll_decide(const wt_poll_rules_t *r, const wt_poll_item_t *it, const char *remembered,
                    int baseline, wt_poll_decision_t *d);

/* The idempotency key of a dispatch: "poll:<trigger>:<id>:<updated_at>"
 * (plus the sha when there is one). Returns a new string. */
char *wt_poll_idem_key(const char *trigger, const wt_poll_item_t *it);

/* The session context of a dispatch: {"trigger", "provider", "event",
 * "number", "url", "title", "author", "updatedAt", "sha"?}. New JSON text. */
char *wt_poll_context(const char *trigger, wt_poll_provider_t p, const wt_poll_item_t *it,
                      const char *event);

#endif
