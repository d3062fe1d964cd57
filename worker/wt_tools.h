/* wt_tools - the agent's workspace tools: Bash, Read, Write, Edit, Glob,
 * Grep. Each takes its JSON arguments and returns text plus an error flag.
 * File tools are confined to the workspace: a path that resolves outside it
 * (through "..", an absolute path or a symlink) is refused. Bash runs in its
 * own process group with stdin closed and secrets scrubbed from its
 * environment, inside the worker's sandbox (wt_sandbox: only the workspace
 * and system directories visible, no network unless allowed, rlimits); a
 * timeout or a cancel kills the whole group.
 * The session-level tools (complete_step, report_issue, spawn_agent) live
 * in wt_session because they change session state. */
#ifndef WT_TOOLS_H
#define WT_TOOLS_H

#include "wt_sandbox.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define WT_TOOLS_OUTPUT_CAP (30 * 1024) /* Bash output kept: head + tail */

typedef struct wt_tool_result {
    char *text;   /* owned */
    int is_error; /* 1 when the call failed */
} wt_tool_result_t;

typedef struct wt_tool_env {
    const char *workspace;       /* absolute, canonical workspace path */
    volatile int *cancel;        /* set -> Bash kills its group and returns */
    int default_timeout_ms;      /* Bash default (300 s) */
    char *const *scrubbed_env;   /* environment for Bash (NULL-terminated), secrets removed */
    int64_t deadline_mono_ms;    /* session deadline (monotonic ms): Bash stops there; 0 = none */
    const wt_sandbox_t *sandbox; /* where Bash runs; NULL = unsandboxed, no limits */
    int network;                 /* 1: the workflow asked for network ("network": true) */
} wt_tool_env_t;

/* Runs tool `name` with args; 0 when the tool exists (result filled, maybe
 * an error result), -1 when no such tool. */
int wt_tools_run(const wt_tool_env_t *env, const char *name, json_t *args, wt_tool_result_t *out);
void wt_tool_result_release(wt_tool_result_t *r);
/* Tool definitions ({name, description, input_schema}) for the LLM, new reference:
 * the workspace tools plus the session tools. */
json_t *wt_tools_definitions(void);
/* A copy of environ without secrets; free with wt_tools_env_free. */
char **wt_tools_scrub_env(char **environ_in);
void wt_tools_env_free(char **env);
/* 1 when an environment variable name looks like a secret. */
int wt_tools_is_secret_name(const char *name);
/* Resolves path (relative to workspace, or absolute inside it) for reading
 * (must exist) or writing (parent dirs are created); returns a new canonical
 * path or NULL with why filled. */
char *wt_tools_resolve(const char *workspace, const char *path, int for_write, char *why,
                       size_t cap);
/* Short one-line summary of args for events (caller frees). */
char *wt_tools_summary(json_t *args, size_t max_chars);

#endif
