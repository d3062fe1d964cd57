/* wt_poller - one polling trigger (github_issues_poll, github_prs_poll,
 * gitlab_poll) on its own thread: GETs the provider's list of open items
 * (libcurl, timeouts, capped body, ETag / If-None-Match), decides with
 * wt_poll which items start a session, hands those to a spawn callback and
 * remembers them in Redis (<prefix>trigger:<id>:seen), so a broker restart
 * dispatches nothing twice. Rate limits and failures back off; nothing a
 * provider answers can stop the broker. */
#ifndef WT_POLLER_H
#define WT_POLLER_H

#include "wt_err.h"
#include "wt_poll.h"
#include "wt_trigger.h"

#include <stddef.h>
#include <stdint.h>

/* Configuration of one poll trigger (plain data, read-only once started). */
typedef struct wt_poller_cfg {
    char trigger[64];                /* trigger id, for keys, logs and idempotency keys */
    wt_poll_rules_t rules;           /* provider + filters */
    char api_base[512];              /* API root, e.g. https://api.github.com */
    char where[256];                 /* GitHub "owner/repo", GitLab project id or path */
    char token[512];                 /* secret: sent as a header only, never logged or stored */
    int interval_ms;                 /* pollIntervalSeconds (at least 1 s) */
    int per_page;                    /* items per page, 1..100 */
    int max_pages;                   /* pages followed per poll while everything is new */
    char workflow[128];              /* workflowId of the sessions */
    char goal[4096];                 /* fixed goal when goal_template is "" */
    char goal_template[4096];        /* {{$.path}} template rendered from the item */
    const wt_trigger_t *trigger_def; /* contextMapping source, borrowed (may be NULL) */
    char workspace[1024];            /* workspacePath, or "" */
    int64_t session_timeout_ms;      /* agentConfig.maxSessionMinutes, 0 = default */
    int max_turns;                   /* agentConfig.maxTurns, 0 = default */
    char redis[512];                 /* Redis URL (the poller keeps its own connection) */
    char prefix[32];                 /* Redis key prefix, "" = WORKTRAIN_PREFIX or "wt:" */
    int http_timeout_ms;             /* whole request (CURLOPT_TIMEOUT_MS) */
    size_t max_response_bytes;       /* larger bodies fail with WT_ELIMIT */
    char clock_file[512];            /* TEST ONLY: wall clock from this file (wt_clock_file_ms) */
} wt_poller_cfg_t;

/* Sets defaults: interval 60 s, 50 per page, 5 pages, 30 s timeout, 8 MiB. */
void wt_poller_cfg_defaults(wt_poller_cfg_t *cfg);
/* Fills cfg from a loaded poll trigger (github_issues_poll, github_prs_poll,
 * gitlab_poll): apiBaseUrl, else https://api.github.com or the GitLab
 * baseUrl; events, filters, agentConfig. t is borrowed for contextMapping
 * and must outlive the poller. Fails with WT_EINVAL naming the trigger and
 * the field (unknown event, value too long, not a poll provider). */
int wt_poller_cfg_from_trigger(wt_poller_cfg_t *cfg, const wt_trigger_t *t, const char *redis,
                               wt_err_t *err);
/* Checks a filled config; fails with WT_EINVAL naming the field. */
int wt_poller_cfg_check(const wt_poller_cfg_t *cfg, wt_err_t *err);

/* One session to start. Strings are borrowed for the call. */
typedef struct wt_poller_spawn {
    const char *trigger;      /* trigger id */
    const char *workflow;     /* workflow id */
    const char *goal;         /* rendered goal */
    const char *context_json; /* JSON object: number, url, title, ... */
    const char *key;          /* idempotency key: poll:<trigger>:<item>:<updated_at> */
    const char *workspace;    /* or "" */
    int64_t timeout_ms;       /* 0 = default */
    int max_turns;            /* 0 = default */
    const char *item;         /* item number / iid */
    const char *event;        /* "opened", "updated", "labeled" */
    const char *url;          /* the item's web page */
} wt_poller_spawn_t;

/* Starts a session durably (the same key must never start two), filling
 * sid; returns 0, or -1 with err. Called on the poller's thread. */
typedef int (*wt_poller_spawn_fn)(void *arg, const wt_poller_spawn_t *s, char *sid, size_t cap,
                                  wt_err_t *err);

/* Counters of one poller. */
typedef struct wt_poller_stats {
    uint64_t polls;        /* requests sent */
    uint64_t not_modified; /* 304 answers (no rate cost) */
    uint64_t dispatched;   /* sessions started (new or existing key) */
    uint64_t errors;       /* failed polls: HTTP errors, timeouts, bad JSON, Redis */
    uint64_t rate_limited; /* refusals for rate reasons */
    uint64_t bad_items;    /* items skipped because they could not be read */
} wt_poller_stats_t;

typedef struct wt_poller wt_poller_t;

/* Copies cfg and starts the thread; the first poll goes out at once. */
wt_poller_t *wt_poller_start(const wt_poller_cfg_t *cfg, wt_poller_spawn_fn spawn, void *arg,
                             wt_err_t *err);
/* Stops the thread (an HTTP request in flight is abandoned within about a
 * second) and frees everything. NULL-safe. */
void wt_poller_stop(wt_poller_t **self_p);
void wt_poller_stats(wt_poller_t *self, wt_poller_stats_t *out);
const char *wt_poller_trigger(const wt_poller_t *self);

#endif
