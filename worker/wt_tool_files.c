/* wt_tool_files - Read, Write, Edit, Glob, Grep. Every path goes through
 * wt_tools_resolve, so nothing outside the workspace is read or written.
 * Outputs are capped so a huge file cannot flood the conversation. */
#include "wt_alloc.h"
#include "wt_buf.h"
#include "wt_tools_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CAP (256 * 1024)
#define FILE_MAX (16u << 20)
#define MAX_HITS 200
#define MAX_GLOB 1000

static int
slurp(const char *path, wt_buf_t *b, char *why, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return snprintf(why, cap, "cannot open: %s", strerror(errno)), -1;
    char chunk[8192];
    size_t n;
    wt_err_t err = {0};
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (wt_buf_append(b, chunk, n, &err) != 0) {
            fclose(f);
            return snprintf(why, cap, "file larger than %u bytes", FILE_MAX), -1;
        }
    fclose(f);
    return 0;
}

/* Writes a whole file without following a symlink at its last component. */
static int
write_file(const char *path, const char *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, data + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)w;
    }
    return close(fd);
}

static const char *
rel(const wt_tool_env_t *env, const char *abs)
{
    size_t n = strlen(env->workspace);
    return strncmp(abs, env->workspace, n) == 0 && abs[n] == '/' ? abs + n + 1 : abs;
}

int
wt_tool_read(const wt_tool_env_t *env, json_t *args, wt_tool_result_t *out)
{
    char why[512];
    char *path = wt_tools_resolve(env->workspace, json_string_value(json_object_get(args, "path")),
                                  0, why, sizeof why);
    if (path == NULL)
        return wt_tools_fail(out, "Read: %s", why);
    json_int_t offset = json_integer_value(json_object_get(args, "offset"));
    json_int_t limit = json_integer_value(json_object_get(args, "limit"));
    if (offset < 1)
        offset = 1;
    if (limit <= 0)
        limit = 2000;
    wt_buf_t data, text;
    wt_buf_init(&data, FILE_MAX);
    wt_buf_init(&text, READ_CAP + 256);
    int rc = slurp(path, &data, why, sizeof why);
    free(path);
    if (rc != 0) {
        wt_buf_release(&data);
        return wt_tools_fail(out, "Read: %s", why);
    }
    json_int_t line = 1;
    const char *p = wt_buf_str(&data), *end = p + data.len;
    while (p < end && line < offset + limit) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (line >= offset &&
            wt_buf_printf(&text, NULL, "%6lld\t%.*s\n", (long long)line, (int)n, p) != 0) {
            wt_buf_puts(&text, "[output capped]\n", NULL);
            break;
        }
        line++;
        p += n + (nl ? 1 : 0);
    }
    wt_buf_release(&data);
    out->text = wt_buf_detach(&text);
    return 0;
}

int
wt_tool_write(const wt_tool_env_t *env, json_t *args, wt_tool_result_t *out)
{
    json_t *content = json_object_get(args, "content");
    if (!json_is_string(content))
        return wt_tools_fail(out, "Write: 'content' (string) is required");
    char why[512];
    char *path = wt_tools_resolve(env->workspace, json_string_value(json_object_get(args, "path")),
                                  1, why, sizeof why);
    if (path == NULL)
        return wt_tools_fail(out, "Write: %s", why);
    size_t n = json_string_length(content);
    int ok = write_file(path, json_string_value(content), n) == 0;
    char *msg = ok ? wt_xasprintf("wrote %zu bytes to %s", n, rel(env, path))
                   : wt_xasprintf("Write: cannot write %s: %s", rel(env, path), strerror(errno));
    free(path);
    out->text = msg;
    out->is_error = !ok;
    return 0;
}

static size_t
count_occurrences(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

int
wt_tool_edit(const wt_tool_env_t *env, json_t *args, wt_tool_result_t *out)
{
    const char *old_s = json_string_value(json_object_get(args, "old_string"));
    const char *new_s = json_string_value(json_object_get(args, "new_string"));
    int all = json_is_true(json_object_get(args, "replace_all"));
    if (old_s == NULL || new_s == NULL || *old_s == '\0')
        return wt_tools_fail(out, "Edit: 'old_string' (non-empty) and 'new_string' are required");
    char why[512];
    char *path = wt_tools_resolve(env->workspace, json_string_value(json_object_get(args, "path")),
                                  0, why, sizeof why);
    if (path == NULL)
        return wt_tools_fail(out, "Edit: %s", why);
    wt_buf_t data;
    wt_buf_init(&data, FILE_MAX);
    if (slurp(path, &data, why, sizeof why) != 0) {
        free(path);
        wt_buf_release(&data);
        return wt_tools_fail(out, "Edit: %s", why);
    }
    size_t n = count_occurrences(wt_buf_str(&data), old_s);
    if (n == 0 || (n > 1 && !all)) {
        if (n == 0)
            wt_tools_fail(out, "Edit: old_string not found in %s", rel(env, path));
        else
            wt_tools_fail(out,
                          "Edit: old_string occurs %zu times in %s; make it unique or set "
                          "replace_all",
                          n, rel(env, path));
        free(path);
        wt_buf_release(&data);
        return 0;
    }
    wt_buf_t res;
    wt_buf_init(&res, FILE_MAX * 2);
    const char *p = wt_buf_str(&data);
    size_t len = strlen(old_s);
    for (const char *hit = strstr(p, old_s); hit; hit = all ? strstr(p, old_s) : NULL) {
        wt_buf_append(&res, p, (size_t)(hit - p), NULL);
        wt_buf_puts(&res, new_s, NULL);
        p = hit + len;
    }
    wt_buf_puts(&res, p, NULL);
    int ok = write_file(path, wt_buf_str(&res), res.len) == 0;
    out->text = ok ? wt_xasprintf("replaced %zu occurrence%s in %s", all ? n : 1,
                                  (all ? n : 1) == 1 ? "" : "s", rel(env, path))
                   : wt_xasprintf("Edit: cannot write %s: %s", rel(env, path), strerror(errno));
    out->is_error = !ok;
    free(path);
    wt_buf_release(&data);
    wt_buf_release(&res);
    return 0;
}

/* Tree walk shared by Glob and Grep (nftw has no user pointer, so the walk
 * is done by hand with a small explicit recursion). */
typedef int (*visit_fn)(void *ud, const char *abs, const char *relpath);

static int
walk(const char *dir, const char *relbase, visit_fn fn, void *ud, int depth)
{
    if (depth > 32)
        return 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *de;
    int stop = 0;
    while (!stop && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, ".git") == 0)
            continue;
        char abs[PATH_MAX], relp[PATH_MAX];
        snprintf(abs, sizeof abs, "%s/%s", dir, de->d_name);
        snprintf(relp, sizeof relp, "%s%s%s", relbase, *relbase ? "/" : "", de->d_name);
        struct stat st;
        if (lstat(abs, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            stop = walk(abs, relp, fn, ud, depth + 1);
        else if (S_ISREG(st.st_mode))
            stop = fn(ud, abs, relp);
    }
    closedir(d);
    return stop;
}

typedef struct glob_ctx {
    const char *pattern; /* glob */
    int flags;           /* fnmatch flags */
    wt_buf_t *out;       /* matches */
    int n;               /* count */
} glob_ctx_t;

static int
glob_visit(void *ud, const char *abs, const char *relpath)
{
    (void)abs;
    glob_ctx_t *g = ud;
    if (fnmatch(g->pattern, relpath, g->flags) == 0) {
        wt_buf_printf(g->out, NULL, "%s\n", relpath);
        if (++g->n >= MAX_GLOB) {
            wt_buf_printf(g->out, NULL, "[stopped at %d matches]\n", MAX_GLOB);
            return 1;
        }
    }
    return 0;
}

int
wt_tool_glob(const wt_tool_env_t *env, json_t *args, wt_tool_result_t *out)
{
    const char *pattern = json_string_value(json_object_get(args, "pattern"));
    if (pattern == NULL || *pattern == '\0')
        return wt_tools_fail(out, "Glob: 'pattern' (string) is required");
    if (pattern[0] == '/' || strstr(pattern, "..") != NULL)
        return wt_tools_fail(out, "Glob: pattern must be relative to the workspace, without '..'");
    wt_buf_t b;
    wt_buf_init(&b, READ_CAP);
    glob_ctx_t g = {pattern, strstr(pattern, "**") ? 0 : FNM_PATHNAME, &b, 0};
    walk(env->workspace, "", glob_visit, &g, 0);
    if (g.n == 0)
        wt_buf_puts(&b, "no files match\n", NULL);
    out->text = wt_buf_detach(&b);
    return 0;
}

typedef struct grep_ctx {
    regex_t re;    /* compiled pattern */
    wt_buf_t *out; /* hits */
    int n;         /* hits so far */
} grep_ctx_t;

static int
grep_visit(void *ud, const char *abs, const char *relpath)
{
    grep_ctx_t *g = ud;
    wt_buf_t data;
    wt_buf_init(&data, 4u << 20);
    char why[128];
    if (slurp(abs, &data, why, sizeof why) != 0 ||
        memchr(data.data ? data.data : "", '\0', data.len < 1024 ? data.len : 1024) != NULL) {
        wt_buf_release(&data);
        return 0;
    }
    int line = 1, stop = 0;
    char *p = data.data;
    while (p && *p && !stop) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (regexec(&g->re, p, 0, NULL, 0) == 0) {
            wt_buf_printf(g->out, NULL, "%s:%d:%.300s\n", relpath, line, p);
            if (++g->n >= MAX_HITS) {
                wt_buf_printf(g->out, NULL, "[stopped at %d matches]\n", MAX_HITS);
                stop = 1;
            }
        }
        line++;
        p = nl ? nl + 1 : NULL;
    }
    wt_buf_release(&data);
    return stop;
}

int
wt_tool_grep(const wt_tool_env_t *env, json_t *args, wt_tool_result_t *out)
{
    const char *pattern = json_string_value(json_object_get(args, "pattern"));
    if (pattern == NULL)
        return wt_tools_fail(out, "Grep: 'pattern' (string) is required");
    const char *where = json_string_value(json_object_get(args, "path"));
    char why[512];
    char *root =
        wt_tools_resolve(env->workspace, where && *where ? where : ".", 0, why, sizeof why);
    if (root == NULL)
        return wt_tools_fail(out, "Grep: %s", why);
    grep_ctx_t g;
    int rc = regcomp(&g.re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        regerror(rc, &g.re, why, sizeof why);
        free(root);
        return wt_tools_fail(out, "Grep: bad pattern: %s", why);
    }
    wt_buf_t b;
    wt_buf_init(&b, READ_CAP);
    g.out = &b;
    g.n = 0;
    struct stat st;
    if (stat(root, &st) == 0 && S_ISREG(st.st_mode))
        grep_visit(&g, root, rel(env, root));
    else
        walk(root, strcmp(root, env->workspace) == 0 ? "" : rel(env, root), grep_visit, &g, 0);
    regfree(&g.re);
    free(root);
    if (g.n == 0)
        wt_buf_puts(&b, "no matches\n", NULL);
    out->text = wt_buf_detach(&b);
    return 0;
}
