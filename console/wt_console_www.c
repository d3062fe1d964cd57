/* wt_console_www - lookup in the embedded file table. The table itself is
 * generated (build/console/wt_console_www_data.c). */
#include "wt_console_www.h"

#include <string.h>

const wt_console_www_file_t *
wt_console_www_find(const char *path)
{
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    for (const wt_console_www_file_t *f = wt_console_www_files; f->path != NULL; f++)
        if (strcmp(f->path, path) == 0)
            return f;
    return NULL;
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *
wt_console_www_type(const char *path)
{
    if (strcmp(path, "/") == 0 || ends_with(path, ".html"))
        return "text/html; charset=utf-8";
    if (ends_with(path, ".js"))
        return "text/javascript; charset=utf-8";
    if (ends_with(path, ".css"))
        return "text/css; charset=utf-8";
    if (ends_with(path, ".svg"))
        return "image/svg+xml";
    if (ends_with(path, ".png"))
        return "image/png";
    if (ends_with(path, ".json"))
        return "application/json";
    return "application/octet-stream";
}
