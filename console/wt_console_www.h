/* wt_console_www - the page's files (console/www), embedded at build time by
 * embed.cmake. Read-only data; safe from any thread. */
#ifndef WT_CONSOLE_WWW_H
#define WT_CONSOLE_WWW_H

#include <stddef.h>

typedef struct wt_console_www_file {
    const char *path;          /* URL path, e.g. "/app.js" */
    const unsigned char *data; /* the bytes (NUL-terminated for convenience) */
    size_t len;                /* byte count without that NUL */
} wt_console_www_file_t;

/* The table, ended by an entry whose path is NULL. */
extern const wt_console_www_file_t wt_console_www_files[];

/* Returns the file served at path ("/" is "/index.html"), or NULL. */
const wt_console_www_file_t *wt_console_www_find(const char *path);
/* Content type by extension ("text/html; charset=utf-8", ...). */
const char *wt_console_www_type(const char *path);

#endif
