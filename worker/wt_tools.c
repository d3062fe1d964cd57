/* wt_tools - tool dispatch, definitions, path confinement and the secret
 * filter. Bash lives in wt_tool_bash.c, the file tools in wt_tool_files.c. */
#include "wt_tools.h"

#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_tools_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void
wt_tool_result_release(wt_tool_result_t *r)
{
    free(r->text);
    r->text = NULL;
    r->is_error = 0;
}

int
wt_tools_fail(wt_tool_result_t *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    out->text = wt_xstrdup(buf);
    out->is_error = 1;
    return 0;
}

int
wt_tools_run(const wt_tool_env_t *env, const char *name, json_t *args, wt_tool_result_t *out)
{
    out->text = NULL;
    out->is_error = 0;
    if (!json_is_object(args))
        return wt_tools_fail(out, "%s: arguments must be a JSON object", name);
    if (strcmp(name, "Bash") == 0)
        return wt_tool_bash(env, args, out);
    if (strcmp(name, "Read") == 0)
        return wt_tool_read(env, args, out);
    if (strcmp(name, "Write") == 0)
        return wt_tool_write(env, args, out);
    if (strcmp(name, "Edit") == 0)
        return wt_tool_edit(env, args, out);
    if (strcmp(name, "Glob") == 0)
        return wt_tool_glob(env, args, out);
    if (strcmp(name, "Grep") == 0)
        return wt_tool_grep(env, args, out);
    return -1;
}

static json_t *
tool(const char *name, const char *desc, json_t *props, const char *required)
{
    json_t *req = json_array();
    char buf[128];
    snprintf(buf, sizeof buf, "%s", required);
    for (char *p = buf, *sp; p && *p; p = sp ? sp + 1 : NULL) {
        sp = strchr(p, ' ');
        if (sp)
            *sp = '\0';
        json_array_append_new(req, json_string(p));
    }
    return json_pack("{s:s,s:s,s:{s:s,s:o,s:o}}", "name", name, "description", desc, "input_schema",
                     "type", "object", "properties", props, "required", req);
}

#define STR(d)  json_pack("{s:s,s:s}", "type", "string", "description", d)
#define INT(d)  json_pack("{s:s,s:s}", "type", "integer", "description", d)
#define BOOL(d) json_pack("{s:s,s:s}", "type", "boolean", "description", d)

json_t *
wt_tools_definitions(void)
{
    json_t *t = json_array();
    json_array_append_new(t, tool("Bash",
                                  "Run a shell command in the session workspace (stdin closed).",
                                  json_pack("{s:o,s:o}", "command", STR("the command for bash -c"),
                                            "timeout", INT("milliseconds, default 300000")),
                                  "command"));
    json_array_append_new(
        t, tool("Read", "Read a text file in the workspace, with line numbers.",
                json_pack("{s:o,s:o,s:o}", "path", STR("file path"), "offset",
                          INT("first line, 1-based"), "limit", INT("number of lines")),
                "path"));
    json_array_append_new(t, tool("Write", "Create or overwrite a file in the workspace.",
                                  json_pack("{s:o,s:o}", "path", STR("file path"), "content",
                                            STR("the whole new content")),
                                  "path content"));
    json_array_append_new(
        t, tool("Edit", "Replace text in a file; old_string must be unique unless replace_all.",
                json_pack("{s:o,s:o,s:o,s:o}", "path", STR("file path"), "old_string",
                          STR("exact text to replace"), "new_string", STR("replacement"),
                          "replace_all", BOOL("replace every occurrence")),
                "path old_string new_string"));
    json_array_append_new(t,
                          tool("Glob", "List workspace files matching a glob (** allowed).",
                               json_pack("{s:o}", "pattern", STR("e.g. src/**/*.c")), "pattern"));
    json_array_append_new(t,
                          tool("Grep", "Search file contents with an extended regular expression.",
                               json_pack("{s:o,s:o}", "pattern", STR("POSIX extended regex"),
                                         "path", STR("file or directory, default the workspace")),
                               "pattern"));
    json_array_append_new(
        t, tool("complete_step",
                "Finish the current workflow step: notes on what you did (at least 50 "
                "characters), context values the step asks for, and the artifacts it asks for "
                "(e.g. wr.assessment, wr.loop_control). The result presents the next step.",
                json_pack("{s:o,s:o,s:o}", "notes",
                          STR("what you did, produced and decided (at least 50 characters)"),
                          "context",
                          json_pack("{s:s,s:s}", "type", "object", "description",
                                    "values to merge into the session context"),
                          "artifacts",
                          json_pack("{s:s,s:{s:s}}", "type", "array", "items", "type", "object")),
                "notes"));
    json_array_append_new(
        t, tool("report_issue", "Report a problem for a human to look at; the session goes on.",
                json_pack("{s:o,s:o,s:o}", "kind", STR("e.g. blocker, bug, question"), "severity",
                          STR("low, medium, high, critical"), "summary", STR("one paragraph")),
                "kind severity summary"));
    json_array_append_new(
        t, tool("spawn_agent", "Run a child session with another workflow and wait for its result.",
                json_pack("{s:o,s:o,s:o}", "workflowId", STR("workflow id"), "goal",
                          STR("the child's goal"), "context", json_pack("{s:s}", "type", "object")),
                "workflowId goal"));
    return t;
}

int
wt_tools_is_secret_name(const char *name)
{
    static const char *const parts[] = {"KEY",        "TOKEN",   "SECRET", "PASSWORD", "PASSWD",
                                        "CREDENTIAL", "WEBHOOK", "SLACK",  NULL};
    static const char *const prefixes[] = {"ANTHROPIC_", "OPENAI_", "AWS_",   "WORKTRAIN_",
                                           "GITHUB_",    "GITLAB_", "SLACK_", NULL};
    char up[256];
    size_t i;
    for (i = 0; name[i] && name[i] != '=' && i < sizeof up - 1; i++)
        up[i] = (char)((name[i] >= 'a' && name[i] <= 'z') ? name[i] - 32 : name[i]);
    up[i] = '\0';
    for (const char *const *p = parts; *p; p++)
        if (strstr(up, *p))
            return 1;
    /* AUTH as in FOO_AUTH or AUTH_HEADER, but not GIT_AUTHOR_NAME. */
    for (const char *a = strstr(up, "AUTH"); a; a = strstr(a + 4, "AUTH"))
        if (strncmp(a + 4, "OR", 2) != 0)
            return 1;
    for (const char *const *p = prefixes; *p; p++)
        if (strncmp(up, *p, strlen(*p)) == 0)
            return 1;
    return 0;
}

char **
wt_tools_scrub_env(char **env_in)
{
    size_t n = 0;
    while (env_in && env_in[n])
        n++;
    char **out = wt_xcalloc(n + 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!wt_tools_is_secret_name(env_in[i]))
            out[k++] = wt_xstrdup(env_in[i]);
    out[k] = NULL;
    return out;
}

void
wt_tools_env_free(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

static int
inside(const char *ws, const char *p)
{
    size_t n = strlen(ws);
    return strncmp(ws, p, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* mkdir -p of dir (absolute, under ws), refusing ".." and checking that each
 * created or existing component resolves inside the workspace. */
static int
make_dirs(const char *ws, const char *dir, char *why, size_t cap)
{
    size_t n = strlen(ws);
    if (strncmp(dir, ws, n) != 0 || (dir[n] != '/' && dir[n] != '\0'))
        return snprintf(why, cap, "path escapes the workspace"), -1;
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + n + 1; *p; p++) {
        int last = 0;
        char *end = strchr(p, '/');
        if (end == NULL) {
            end = p + strlen(p);
            last = 1;
        }
        *end = '\0';
        if (strcmp(p, "..") == 0)
            return snprintf(why, cap, "path escapes the workspace: '..' in a new directory"), -1;
        char r[PATH_MAX];
        if (realpath(buf, r) == NULL && (mkdir(buf, 0755) != 0 || realpath(buf, r) == NULL))
            return snprintf(why, cap, "cannot create directory '%s': %s", buf, strerror(errno)), -1;
        if (!inside(ws, r))
            return snprintf(why, cap, "path escapes the workspace through '%s'", buf), -1;
        if (last)
            break;
        *end = '/';
        p = end;
    }
    return 0;
}

char *
wt_tools_resolve(const char *ws, const char *path, int for_write, char *why, size_t cap)
{
    if (path == NULL || *path == '\0') {
        snprintf(why, cap, "path is empty");
        return NULL;
    }
    char joined[PATH_MAX];
    if (path[0] == '/')
        snprintf(joined, sizeof joined, "%s", path);
    else
        snprintf(joined, sizeof joined, "%s/%s", ws, path);
    struct stat lst;
    if (for_write && lstat(joined, &lst) == 0 && S_ISLNK(lst.st_mode) && stat(joined, &lst) != 0) {
        /* A dangling symlink: writing through it could create a file anywhere. */
        snprintf(why, cap, "path escapes the workspace: '%s' is a dangling symlink", path);
        return NULL;
    }
    char real[PATH_MAX];
    if (realpath(joined, real) != NULL) {
        if (!inside(ws, real)) {
            snprintf(why, cap, "path escapes the workspace: '%s'", path);
            return NULL;
        }
        return wt_xstrdup(real);
    }
    if (!for_write || errno != ENOENT) {
        snprintf(why, cap, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    /* New file: the lexical path must stay inside, then its parent must
     * resolve inside (which catches symlinked directories). */
    char *slash = strrchr(joined, '/');
    const char *base = slash + 1;
    if (*base == '\0' || strcmp(base, "..") == 0 || strcmp(base, ".") == 0) {
        snprintf(why, cap, "not a file name: '%s'", path);
        return NULL;
    }
    *slash = '\0';
    char parent_real[PATH_MAX];
    if (realpath(joined, parent_real) == NULL && make_dirs(ws, joined, why, cap) != 0)
        return NULL;
    if (realpath(joined, parent_real) == NULL) {
        snprintf(why, cap, "cannot resolve '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (!inside(ws, parent_real)) {
        snprintf(why, cap, "path escapes the workspace: '%s'", path);
        return NULL;
    }
    return wt_xasprintf("%s/%s", parent_real, base);
}

char *
wt_tools_summary(json_t *args, size_t max_chars)
{
    const char *primary = NULL;
    const char *keys[] = {"command", "path", "pattern", "workflowId", "summary", "notes"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && !primary; i++)
        primary = json_string_value(json_object_get(args, keys[i]));
    char *s = primary ? wt_xstrdup(primary) : json_dumps(args, JSON_COMPACT);
    if (s == NULL)
        s = wt_xstrdup("");
    if (strlen(s) > max_chars) {
        s[max_chars] = '\0';
        if (max_chars > 3)
            memcpy(s + max_chars - 3, "...", 3);
    }
    for (char *p = s; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return s;
}
