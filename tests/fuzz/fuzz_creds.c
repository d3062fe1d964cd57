/* fuzz_creds - the credentials a process reads from outside: CURVE
 * certificate files (any bytes, as a .key and as a .pub) and Redis URLs.
 * A bad certificate fails with a message naming the file; a good one holds
 * 40-character Z85 keys. A URL either fails without quoting its password or
 * parses, and its display form never shows the password. */
#include "wt_alloc.h"
#include "wt_cert.h"
#include "wt_redis.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
try_cert(const char *path, wt_cert_kind_t kind)
{
    wt_cert_t c;
    wt_err_t err = {0};
    if (wt_cert_load(&c, path, kind, "--curve-key", &err) != 0) {
        wt_assert(err.msg[0] != '\0' && strstr(err.msg, "--curve-key") != NULL);
        return;
    }
    wt_assert(strlen(c.public_key) == WT_CERT_Z85_LEN);
    wt_assert(kind == WT_CERT_PUBLIC ? c.secret_key[0] == '\0'
                                     : strlen(c.secret_key) == WT_CERT_Z85_LEN);
}

/* Occurrences of needle in hay, overlapping ones too. */
static int
count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Occurrences of needle in the display form, outside its "***" masks: a
 * password made of '*' (or ending or starting with them) matches inside
 * the mask that replaced it, which is not a leak. */
static int
count_unmasked(const char *shown, const char *needle)
{
    char *copy = wt_xstrdup(shown);
    for (char *m = strstr(copy, "***"); m; m = strstr(m + 3, "***"))
        memset(m, '\0', 3);
    int n = 0;
    size_t len = strlen(shown);
    for (size_t i = 0; i < len;) {
        n += count(copy + i, needle);
        i += strlen(copy + i) + 1;
    }
    free(copy);
    return n;
}

static void
try_url(const char *url)
{
    wt_redis_url_t u;
    wt_err_t err = {0};
    int rc = wt_redis_parse_url(url, &u, &err);
    char shown[1024];
    wt_redis_url_display(url, shown, sizeof shown);
    if (rc != 0) {
        wt_assert(err.msg[0] != '\0');
        return;
    }
    /* The password may also occur elsewhere in the URL by chance (in
     * "redis://x@..." the password "//x" does); the display shows *** and
     * drops at least its own occurrence. */
    if (u.password[0] != '\0') {
        wt_assert(strstr(shown, "***") != NULL);
        if (strchr(url, '%') == NULL) /* written as is: one occurrence is its own */
            wt_assert(count_unmasked(shown, u.password) < count(url, u.password));
        else /* %-encoded: it may not be there literally; at least none is added */
            wt_assert(count_unmasked(shown, u.password) <= count(url, u.password));
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (path[0] == '\0')
        snprintf(path, sizeof path, "/tmp/fuzz_creds.%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    try_cert(path, WT_CERT_SECRET);
    try_cert(path, WT_CERT_PUBLIC);
    unlink(path);
    if (size < 4096) {
        char *url = wt_xstrndup((const char *)data, size);
        try_url(url);
        free(url);
    }
    return 0;
}
