/* wt_workspace - the directory a session works in (DESIGN.md section 6):
 * a fresh directory <root>/<sid>, or, when the session names a git
 * repository, a worktree of it at <root>/<sid> on branch worktrain/<sid>. */
#ifndef WT_WORKSPACE_H
#define WT_WORKSPACE_H

#include "wt_err.h"

#include <stddef.h>
#include <stdint.h>

/* Creates (or, for a resumed session, reuses) the workspace of sid under
 * root (created with its parents when missing). repo NULL or "" means a
 * plain directory. Writes the canonical absolute path to out. Fails with
 * WT_EIO (cannot create), WT_EINVAL (repo is not a git repository, bad
 * sid) or WT_ELIMIT (path too long). */
int wt_workspace_create(const char *root, const char *sid, const char *repo, char *out, size_t cap,
                        wt_err_t *err);
/* The canonical path wt_workspace_create gives the plain workspace of sid,
 * without creating it (root is, with its parents, when missing): a session
 * creates its directory only when it first runs a tool that may use it, so
 * a session that never does costs no mkdir/rmdir (issue 18). Fails like
 * wt_workspace_create. */
int wt_workspace_path(const char *root, const char *sid, char *out, size_t cap, wt_err_t *err);
/* wt_workspace_path in two halves, so a worker resolves its root once
 * rather than per session: the root made (with its parents) and resolved
 * to its canonical path; then the path of sid's workspace under such a
 * resolved root (sid checked as by wt_workspace_path). */
int wt_workspace_root_real(const char *root, char *out, size_t cap, wt_err_t *err);
int wt_workspace_path_under(const char *real_root, const char *sid, char *out, size_t cap,
                            wt_err_t *err);
/* The session sid has ended. remove_now (outcome success): its workspace
 * goes at once - a worktree through `git worktree remove` (its branch
 * worktrain/<sid> stays in the repo), a plain directory recursively.
 * Otherwise it stays for inspection and <root>/.ended/<sid> records when it
 * ended (and the repo, for a worktree) for wt_workspace_prune. Fails with
 * WT_EIO naming the path when something cannot be removed or recorded. */
int wt_workspace_retire(const char *root, const char *sid, const char *repo, int remove_now,
                        wt_err_t *err);
/* Removes at most max workspaces whose .ended record is older than keep_ms,
 * with their records. Returns how many were removed, -1 with err when the
 * record folder cannot be read (a missing one is fine: 0). */
int wt_workspace_prune(const char *root, int64_t keep_ms, int max, wt_err_t *err);
/* Runs git with argv (argv[0] is not "git": the arguments only, NULL
 * terminated) via fork/exec, no shell, stdin from /dev/null. Returns git's
 * exit status (0 = success), or -1 when it could not run; the first line of
 * its stderr goes to why. */
int wt_workspace_git(char *const *args, char *why, size_t cap);

#endif
