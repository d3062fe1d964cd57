/* wt_workspace - the directory a session works in (DESIGN.md section 6):
 * a fresh directory <root>/<sid>, or, when the session names a git
 * repository, a worktree of it at <root>/<sid> on branch worktrain/<sid>. */
#ifndef WT_WORKSPACE_H
#define WT_WORKSPACE_H

#include "wt_err.h"

#include <stddef.h>

/* Creates (or, for a resumed session, reuses) the workspace of sid under
 * root (created with its parents when missing). repo NULL or "" means a
 * plain directory. Writes the canonical absolute path to out. Fails with
 * WT_EIO (cannot create), WT_EINVAL (repo is not a git repository, bad
 * sid) or WT_ELIMIT (path too long). */
int wt_workspace_create(const char *root, const char *sid, const char *repo, char *out, size_t cap,
                        wt_err_t *err);
/* Runs git with argv (argv[0] is not "git": the arguments only, NULL
 * terminated) via fork/exec, no shell, stdin from /dev/null. Returns git's
 * exit status (0 = success), or -1 when it could not run; the first line of
 * its stderr goes to why. */
int wt_workspace_git(char *const *args, char *why, size_t cap);

#endif
