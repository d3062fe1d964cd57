/* wt_repo - workspaces from a remote git repository (DESIGN.md section 15):
 * one bare mirror per repository per worker, shared by its sessions and
 * changed only under a lock, a worktree per session on branch
 * worktrain/<sid>, commits of the agent's work and the push.
 *
 * git runs as a child process with an argument vector (never a shell) and
 * a time limit; credentials reach it through its environment only (an
 * http.extraHeader set by GIT_CONFIG_COUNT/KEY/VALUE), never a URL, argv,
 * a config file, Redis or a log line. */
#ifndef WT_REPO_H
#define WT_REPO_H

#include "wt_buf.h"
#include "wt_err.h"

#include <stddef.h>

#define WT_REPO_GIT_TIMEOUT_MS 120000 /* a clone, fetch or push that takes longer is stopped */
#define WT_REPO_LOCK_WAIT_MS   300000 /* waiting for another session's mirror update */

/* A session's workspace request. The SPAWN/ASSIGN `workspace` field holds
 * either a local path (a repository to make a worktree of) or this spec as
 * a JSON object {"repo", "ref", "auto_commit", "deliver", "forge",
 * "project", "labels", "draft", "no_verify", "author"}. */
typedef struct wt_repo_spec {
    char *url;       /* remote URL (https, ssh, file, or a path), owned */
    char *ref;       /* branch, tag or commit; NULL = the remote's HEAD */
    int auto_commit; /* commit after every step_advanced */
    char *deliver;   /* NULL, "branch" or "pr" */
    char *forge;     /* NULL (from the host), "github" or "gitlab" */
    char *project;   /* NULL (from the URL) or OWNER/NAME */
    char *labels;    /* comma-separated PR labels, or NULL */
    int draft;       /* PR as a draft (default 1) */
    int no_verify;   /* 1: commits skip pre-commit hooks */
    char *author;    /* "Name <email>"; NULL = WorkTrain <worktrain@localhost> */
} wt_repo_spec_t;

/* Parses a workspace field. Returns 1 and fills spec when it is a JSON
 * spec, 0 when it is a plain path (spec zeroed), -1 with err when it looks
 * like a spec but is malformed (names the bad field). */
int wt_repo_spec_parse(const char *field, wt_repo_spec_t *spec, wt_err_t *err);
/* The JSON text of spec (caller frees). */
char *wt_repo_spec_dump(const wt_repo_spec_t *spec);
void wt_repo_spec_release(wt_repo_spec_t *spec);
/* "github", "gitlab" or NULL: spec->forge, else from the URL's host. */
const char *wt_repo_forge_of(const wt_repo_spec_t *spec);
/* OWNER/NAME: spec->project, else the URL's last two path components
 * without ".git". 0, or -1 when the URL has fewer than two. */
int wt_repo_project_of(const wt_repo_spec_t *spec, char *out, size_t cap);

/* One git invocation. */
typedef struct wt_repo_cmd {
    const char *dir;         /* git -C dir, or NULL */
    const char *const *args; /* arguments after "git [-C dir]", NULL-terminated */
    const char *const *env;  /* extra NAME=value entries, NULL-terminated; may be NULL */
    const char *input;       /* written to git's stdin, or NULL (/dev/null) */
    int timeout_ms;          /* killed (its process group) after this; 0 = the default */
    wt_buf_t *out;           /* stdout collected here, or NULL (discarded) */
} wt_repo_cmd_t;

/* The limit of one git run: WORKTRAIN_GIT_TIMEOUT_MS from the worker's
 * environment, else WT_REPO_GIT_TIMEOUT_MS. */
int wt_repo_timeout_ms(void);
/* Runs git; returns its exit status, or -1 when it could not run or was
 * killed on timeout. The first line of stderr (or "timed out after N ms")
 * goes to why. */
int wt_repo_git(const wt_repo_cmd_t *cmd, char *why, size_t cap);

/* The credential environment for url (NULL-terminated, caller frees with
 * wt_repo_env_free): for http(s) URLs, GITHUB_TOKEN (github) or
 * GITLAB_TOKEN (gitlab) of this process as an Authorization header, plus
 * GIT_TERMINAL_PROMPT=0 always. A git credential helper configured for the
 * worker's user keeps working. */
char **wt_repo_env(const wt_repo_spec_t *spec);
void wt_repo_env_free(char **env);

/* Creates the worktree of session sid at dir (which must not exist) on a
 * new branch worktrain/<sid> from spec->ref (default the remote's HEAD),
 * cloning or fetching the mirror <root>/.mirrors/<name>.git first under its
 * lock file (which records pid, branch and time; git lock files a killed
 * git left behind are removed under it). Fails with WT_EIO naming the
 * repository and git's message (clone/fetch failure, timeout) or
 * WT_ENOTFOUND when the ref does not exist. */
int wt_repo_worktree(const char *root, const wt_repo_spec_t *spec, const char *sid, const char *dir,
                     wt_err_t *err);

/* Commits everything changed in the worktree dir: subject, body (may be
 * NULL or ""), and a trailer "WorkTrain-Session: <sid>". *made = 0 when
 * nothing changed (no commit), 1 otherwise; the commit id goes to sha
 * (41 bytes) when not NULL. */
int wt_repo_commit(const char *dir, const wt_repo_spec_t *spec, const char *sid,
                   const char *subject, const char *body, int *made, char *sha, wt_err_t *err);

/* Pushes HEAD of the worktree dir to branch on the remote, never forced:
 * when the remote branch moved to a commit that is not an ancestor of
 * HEAD, it pushes to branch-2, branch-3 ... instead. The branch pushed goes
 * to pushed, HEAD's commit id to sha (41 bytes). */
int wt_repo_push(const char *dir, const wt_repo_spec_t *spec, const char *branch, char *pushed,
                 size_t cap, char *sha, wt_err_t *err);

/* <root>/.mirrors/<name>.git of spec's URL. */
int wt_repo_mirror_path(const char *root, const char *url, char *out, size_t cap);
/* The branch a PR of the worktree dir targets: spec->ref when it is a
 * branch of the remote, else the remote's default branch ("main" when
 * unknown). */
void wt_repo_base_branch(const char *dir, const wt_repo_spec_t *spec, char *out, size_t cap);

/* The paths HEAD of the worktree dir changed since it forked from the
 * remote's base branch (wt_repo_base_branch; git diff --name-only
 * origin/BASE...HEAD), one a line, into out: at most WT_REPO_FILES_MAX
 * paths and cap bytes (whole lines; the rest left out). 0, or -1 (err)
 * when git fails. */
#define WT_REPO_FILES_MAX 200
int wt_repo_changed_files(const char *dir, const wt_repo_spec_t *spec, char *out, size_t cap,
                          wt_err_t *err);

/* The change of the worktree dir against the remote's base branch:
 * `git diff --stat --patch origin/<base>...HEAD` (a file list, then the
 * patch), bounded to max bytes so it fits a session's context: longer
 * output is cut at the last line that fits and ends with a note naming the
 * full size and the command that shows it all (branch: the pushed one). Bytes that are not UTF-8
 * become '?'. A new string, or NULL with err when git fails. */
char *wt_repo_diff(const char *dir, const char *base, const char *branch, size_t max,
                   wt_err_t *err);

#endif
