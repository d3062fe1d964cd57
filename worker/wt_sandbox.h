/* wt_sandbox - where agent tool processes run. With the sandbox on, the
 * Bash tool's command runs under Debian's bubblewrap (bwrap): the session's
 * workspace read-write, the system directories (/usr and the merged-/usr
 * links, /etc minus its secrets) read-only, a private /tmp, a minimal /proc
 * and /dev, and nothing else of the host (the worker's key, config and
 * password files, other sessions' workspaces, home directories). New user,
 * pid, ipc, uts and net namespaces (net only unless network is allowed), all
 * capabilities dropped, a new session (no terminal injection), killed when
 * the worker's child dies. Resource limits (CPU time, address space,
 * processes, file size) are set with setrlimit in the forked child before
 * exec, so they hold with the sandbox off too. */
#ifndef WT_SANDBOX_H
#define WT_SANDBOX_H

#include "wt_err.h"

#include <stdint.h>

typedef struct wt_sandbox_cfg {
    int enabled;         /* --sandbox on|off (default on) */
    int network;         /* --tool-network on|off (default off) */
    int64_t max_cpu_s;   /* RLIMIT_CPU per process, seconds; 0 = unlimited */
    int64_t max_mem_mb;  /* RLIMIT_AS per process, MiB; 0 = unlimited */
    int64_t max_procs;   /* RLIMIT_NPROC (counts the worker user's processes); 0 = unlimited */
    int64_t max_file_mb; /* RLIMIT_FSIZE, MiB; 0 = unlimited */
} wt_sandbox_cfg_t;

#define WT_SANDBOX_MAX_HIDDEN 16

typedef struct wt_sandbox wt_sandbox_t;

/* The defaults: on, no network, 600 s CPU, 4096 MiB, 1024 processes,
 * 1024 MiB files. */
void wt_sandbox_cfg_defaults(wt_sandbox_cfg_t *cfg);

/* Finds bwrap in PATH (when enabled) and fixes the mounts. hidden lists
 * files or directories (NULL-terminated, may be NULL) that must not be
 * visible even when they lie inside a read-only system directory, e.g. a
 * key or password file under /etc. Does not run anything yet. */
wt_sandbox_t *wt_sandbox_new(const wt_sandbox_cfg_t *cfg, const char *const *hidden, wt_err_t *err);
void wt_sandbox_destroy(wt_sandbox_t **self_p);

/* Runs /bin/true in the sandbox with dir as its workspace: -1 with err
 * (bwrap's own words) when namespaces cannot be created here. */
int wt_sandbox_probe(const wt_sandbox_t *self, const char *dir, wt_err_t *err);

/* The argv (NULL-terminated; free with wt_sandbox_argv_free) that runs
 * `/bin/bash -c command` in workspace, sandboxed when enabled; network is
 * allowed when the worker or the caller (the workflow) allows it. Built
 * before fork: the child must not allocate. */
char **wt_sandbox_argv(const wt_sandbox_t *self, const char *workspace, int network,
                       const char *command);
void wt_sandbox_argv_free(char **argv);

/* In the forked child, before exec: applies the resource limits. Only
 * async-signal-safe calls. */
void wt_sandbox_child_limits(const wt_sandbox_t *self);

/* 1 when tools run sandboxed. */
int wt_sandbox_enabled(const wt_sandbox_t *self);

#endif
