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
    /* a password of a few characters could occur elsewhere by chance */
    if (strlen(u.password) >= 8) {
        wt_assert(strstr(shown, u.password) == NULL);
        wt_assert(strstr(err.msg, u.password) == NULL);
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
