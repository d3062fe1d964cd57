/* wt_trigger - the triggers.yml model (DESIGN.md section 9, WorkRail's
 * format) and its loader.
 *
 * The loader reads the file with wt_yaml and reports every problem at once
 * into a wt_diags_t with line and column. `$NAME` and `${NAME}` in string
 * values are read from the environment (an unset variable is an error
 * naming it); `$$` is a literal '$'. goal, goalTemplate, contextMapping and
 * dispatchCondition are not expanded: they hold payload text and JSON paths.
 * The workspace (DESIGN.md 15): `workspace` (a repository URL or a local
 * path), WorkRail's `workspacePath` (a local path) or `repo`, with
 * autoCommit, autoOpenPR (= deliver: pr), deliver, ref, forge, forgeProject
 * and labels, as spawn --repo/--auto-commit/--deliver take them. WorkRail
 * fields this fleet has no use for (autoMerge, branchPrefix, ...) are
 * accepted and ignored; other unknown keys get a warning.
 *
 * Secrets (hmacSecret(s), auth, source.token) live only in this struct: never log
 * them, never write them to Redis. */
#ifndef WT_TRIGGER_H
#define WT_TRIGGER_H

#include "wt_cron.h"
#include "wt_diag.h"

#include <stddef.h>

typedef enum wt_trigger_provider {
    WT_TRIGGER_GENERIC = 1,            /* webhook POST /webhook/<id> */
    WT_TRIGGER_GITHUB_ISSUES_POLL = 2, /* GitHub issues poller */
    WT_TRIGGER_GITHUB_PRS_POLL = 3,    /* GitHub pull requests poller */
    WT_TRIGGER_GITLAB_POLL = 4,        /* GitLab merge requests poller */
    WT_TRIGGER_CRON = 5,               /* five-field schedule */
    WT_TRIGGER_ALERTMANAGER = 6,       /* webhook, Alertmanager v4 payload (DESIGN 18) */
    WT_TRIGGER_PAGERDUTY = 7,          /* webhook, PagerDuty V3 */
    WT_TRIGGER_REDIS_STREAM = 8,       /* consumer group on a Redis stream */
} wt_trigger_provider_t;

/* A list of strings (owned). */
typedef struct wt_trigger_strv {
    char **v; /* owned strings */
    size_t n; /* count */
} wt_trigger_strv_t;

/* contextMapping entry: context variable <- JSON path into the payload. */
typedef struct wt_trigger_map {
    char *var;  /* context variable name */
    char *path; /* "$.a.b[0].c" */
} wt_trigger_map_t;

/* dispatchCondition: all of these must hold for the payload. */
typedef enum wt_trigger_cond_op {
    WT_TRIGGER_COND_EQUALS = 1,     /* value at path, as text, equals `value` */
    WT_TRIGGER_COND_NOT_EQUALS = 2, /* value absent or different */
    WT_TRIGGER_COND_IN = 3,         /* value equals one of `values` */
    WT_TRIGGER_COND_EXISTS = 4,     /* path present and not null (exists: true) */
    WT_TRIGGER_COND_ABSENT = 5,     /* path missing or null (exists: false) */
} wt_trigger_cond_op_t;

typedef struct wt_trigger_cond {
    char *path;               /* JSON path */
    wt_trigger_cond_op_t op;  /* test */
    char *value;              /* EQUALS / NOT_EQUALS operand */
    wt_trigger_strv_t values; /* IN operands */
} wt_trigger_cond_t;

typedef struct wt_trigger_agent {
    char *model;               /* model name, or NULL */
    char *model_tier;          /* fast | balanced | best, or NULL */
    int max_session_minutes;   /* 0 = worker default */
    int max_turns;             /* 0 = worker default */
    int stall_timeout_seconds; /* 0 = worker default */
} wt_trigger_agent_t;

typedef struct wt_trigger_source {
    char *repo;                        /* GitHub "owner/name" */
    char *base_url;                    /* GitLab base URL */
    char *project_id;                  /* GitLab project id or path */
    char *token;                       /* secret: API token */
    char *api_base_url;                /* REST API root override (tests: a fake) */
    int poll_interval_seconds;         /* 0 = poller default */
    wt_trigger_strv_t events;          /* e.g. opened, updated */
    wt_trigger_strv_t exclude_authors; /* logins to ignore */
    wt_trigger_strv_t label_filter;    /* dispatch only items with one of these */
    wt_trigger_strv_t not_labels;      /* skip items with any of these */
    char *stream;                      /* redis_stream: stream key */
    char *group;                       /* redis_stream: consumer group */
    char *redis;                       /* redis_stream: Redis URL (NULL: the broker's) */
    int claim_idle_seconds;            /* redis_stream: XAUTOCLAIM after (0 = default 30) */
} wt_trigger_source_t;

/* auth: how an alertmanager webhook proves itself (secrets). */
typedef struct wt_trigger_auth {
    char *bearer;   /* Authorization: Bearer <this>, or NULL */
    char *user;     /* basic auth user, or NULL */
    char *password; /* basic auth password */
} wt_trigger_auth_t;

typedef struct wt_trigger {
    char *id;                       /* [A-Za-z0-9_.-]{1,64}, unique */
    wt_trigger_provider_t provider; /* kind */
    char *workflow_id;              /* workflow to run */
    char *workspace_path;           /* SPAWN's workspace: a local repo path, the JSON spec
                                       of a repo URL with its delivery fields, or NULL */
    char *goal;                     /* fixed goal, or NULL */
    char *goal_template;            /* "{{$.a.b}}" template, or NULL */
    wt_trigger_map_t *context;      /* contextMapping, owned */
    size_t ncontext;                /* entries */
    wt_trigger_cond_t *conds;       /* dispatchCondition, owned */
    size_t nconds;                  /* entries */
    char *hmac_secret;              /* secret, or NULL (webhook unsigned) */
    wt_trigger_strv_t hmac_secrets; /* hmacSecrets: more accepted secrets (rotation) */
    wt_trigger_auth_t auth;         /* alertmanager: bearer or basic (secrets) */
    int serial;                     /* concurrencyMode: 1 serial, 0 parallel */
    int max_queue_depth;            /* 0 = no limit */
    int64_t retain_ms;              /* retain: life of its ended sessions, 0 = broker default */
    wt_trigger_agent_t agent;       /* agentConfig */
    wt_trigger_source_t source;     /* pollers */
    char *schedule;                 /* cron expression (cron provider) */
    wt_cron_t cron;                 /* parsed schedule */
    char *timezone;                 /* as written (see README: the broker's zone is used) */
    int line;                       /* where the entry starts */
} wt_trigger_t;

typedef struct wt_triggers {
    wt_trigger_t *v; /* owned, file order */
    size_t n;        /* count */
} wt_triggers_t;

/* How the loader checks workflow ids. known(ud, id) says whether the fleet
 * has a workflow; NULL means no list is available: every workflowId gets a
 * warning instead (see README, Triggers). path_warn: a missing
 * workspacePath is a warning (always; it may live on the workers). */
typedef struct wt_trigger_opts {
    int (*known_workflow)(void *ud, const char *id);
    void *ud;
} wt_trigger_opts_t;

/* Loads path; problems go to d (errors and warnings, with FILE:LINE:COL).
 * Returns the triggers when d gained no errors, else NULL. */
wt_triggers_t *wt_triggers_load_file(const char *path, const wt_trigger_opts_t *opts,
                                     wt_diags_t *d);
/* Same, from memory; file names the source in messages. */
wt_triggers_t *wt_triggers_load_buffer(const char *text, size_t len, const char *file,
                                       const wt_trigger_opts_t *opts, wt_diags_t *d);
void wt_triggers_destroy(wt_triggers_t **self_p);

/* The trigger with this id (borrowed), or NULL. */
const wt_trigger_t *wt_triggers_find(const wt_triggers_t *self, const char *id);
/* "generic", "cron", "alertmanager", ... */
const char *wt_trigger_provider_name(wt_trigger_provider_t p);
/* 1 when path is YAML whose top level is a mapping with a `triggers` key. */
int wt_triggers_sniff(const char *path);

#endif
