/* wt_cert - CURVE certificate files (see wt_cert.h for the format). The
 * reader takes only what a certificate may hold: comments, blank lines,
 * section names at column 0 and indented `name = value` properties. */
#include "wt_cert.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define LINE_MAX_BYTES 1024
#define FILE_MAX_LINES 1000 /* a certificate is a dozen lines; more is not one */

/* A Z85 key: 40 characters that decode to 32 bytes. */
static int
z85_ok(const char *s)
{
    uint8_t raw[32];
    return strlen(s) == WT_CERT_Z85_LEN && zmq_z85_decode(raw, s) != NULL;
}

/* Splits "name = value" (value optionally quoted) in place. */
static int
split_prop(char *line, char **name, char **value)
{
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    *name = p;
    while (*p && *p != '=' && *p != ' ' && *p != '\t')
        p++;
    char *name_end = p;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '=' || name_end == *name)
        return -1;
    *name_end = '\0';
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    char *end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    if (*p == '"' || *p == '\'') {
        if (end - p < 2 || end[-1] != *p)
            return -2;
        end[-1] = '\0';
        p++;
    }
    *value = p;
    return 0;
}

static int
take_key(char *dst, const char *value, const char *name, const char *what, const char *path,
         int line, wt_err_t *err)
{
    if (dst[0])
        return wt_err_set(err, WT_EINVAL, "%s '%s' line %d: %s given twice", what, path, line,
                          name);
    if (!z85_ok(value))
        return wt_err_set(err, WT_EINVAL,
                          "%s '%s' line %d: %s is not a 40-character Z85 key (truncated or "
                          "edited file?)",
                          what, path, line, name);
    memcpy(dst, value, WT_CERT_Z85_LEN + 1);
    return 0;
}

/* Parses the text of one certificate; line numbers for messages. */
static int
parse(wt_cert_t *cert, FILE *f, const char *path, const char *what, int *secret_line, wt_err_t *err)
{
    char buf[LINE_MAX_BYTES + 2];
    int line = 0, in_curve = 0, any_section = 0;
    while (fgets(buf, sizeof buf, f) != NULL) {
        line++;
        size_t n = strlen(buf);
        if (n > LINE_MAX_BYTES || line > FILE_MAX_LINES)
            return wt_err_set(err, WT_EINVAL,
                              "%s '%s' line %d: too long to be a ZeroMQ certificate", what, path,
                              line);
        if (n && buf[n - 1] == '\n')
            buf[--n] = '\0';
        if (n && buf[n - 1] == '\r')
            buf[--n] = '\0';
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] < 0x20 && buf[i] != '\t')
                return wt_err_set(err, WT_EINVAL,
                                  "%s '%s' line %d: binary data, not a ZeroMQ certificate", what,
                                  path, line);
        const char *t = buf + strspn(buf, " \t");
        if (*t == '\0' || *t == '#')
            continue;
        if (t == buf) { /* a section name at column 0 */
            if (strchr(buf, '=') != NULL)
                return wt_err_set(err, WT_EINVAL,
                                  "%s '%s' line %d: property '%s' outside a section (expected "
                                  "'curve' then an indented 'public-key = \"...\"')",
                                  what, path, line, buf);
            in_curve = strcmp(buf, "curve") == 0;
            any_section = 1;
            continue;
        }
        char *name, *value;
        int sp = split_prop(buf, &name, &value);
        if (sp == -2)
            return wt_err_set(err, WT_EINVAL,
                              "%s '%s' line %d: value of '%s' has no closing quote (truncated "
                              "file?)",
                              what, path, line, name);
        if (sp != 0)
            return wt_err_set(err, WT_EINVAL,
                              "%s '%s' line %d: expected 'name = \"value\"', got '%.60s'", what,
                              path, line, t);
        if (!any_section)
            return wt_err_set(err, WT_EINVAL, "%s '%s' line %d: property '%s' before any section",
                              what, path, line, name);
        if (!in_curve)
            continue; /* metadata: free-form, not ours */
        if (strcmp(name, "public-key") == 0) {
            if (take_key(cert->public_key, value, name, what, path, line, err) != 0)
                return -1;
        } else if (strcmp(name, "secret-key") == 0) {
            if (take_key(cert->secret_key, value, name, what, path, line, err) != 0)
                return -1;
            *secret_line = line;
        }
    }
    if (ferror(f))
        return wt_err_set(err, WT_EIO, "%s '%s': read error", what, path);
    if (cert->public_key[0] == '\0')
        return wt_err_set(err, WT_EINVAL,
                          "%s '%s': no 'public-key' in a 'curve' section (%d lines; truncated, "
                          "or not a ZeroMQ certificate?)",
                          what, path, line);
    return 0;
}

int
wt_cert_load(wt_cert_t *cert, const char *path, wt_cert_kind_t kind, const char *what,
             wt_err_t *err)
{
    memset(cert, 0, sizeof *cert);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return wt_err_set(err, WT_EIO, "%s '%s': cannot read: %s", what, path, strerror(errno));
    int secret_line = 0;
    int rc = parse(cert, f, path, what, &secret_line, err);
    fclose(f);
    if (rc != 0)
        return -1;
    if (kind == WT_CERT_PUBLIC && cert->secret_key[0])
        return wt_err_set(err, WT_EINVAL,
                          "%s '%s' line %d: holds a secret key; give the public certificate "
                          "(.pub) here and keep the .key file on its own host",
                          what, path, secret_line);
    if (kind == WT_CERT_SECRET) {
        if (cert->secret_key[0] == '\0')
            return wt_err_set(err, WT_EINVAL,
                              "%s '%s': no 'secret-key': a public certificate (.pub) where the "
                              "secret one (.key from worktrain keygen) is needed",
                              what, path);
        char derived[WT_CERT_Z85_LEN + 1];
        if (zmq_curve_public(derived, cert->secret_key) != 0 ||
            strcmp(derived, cert->public_key) != 0)
            return wt_err_set(err, WT_EINVAL,
                              "%s '%s' line %d: secret-key does not belong to the public-key of "
                              "the same file (keys from two certificates?)",
                              what, path, secret_line);
    }
    return 0;
}

int
wt_cert_generate(wt_cert_t *cert, wt_err_t *err)
{
    memset(cert, 0, sizeof *cert);
    if (zmq_curve_keypair(cert->public_key, cert->secret_key) != 0)
        return wt_err_set(err, WT_EIO, "cannot make a CURVE keypair: %s (libzmq without CURVE?)",
                          zmq_strerror(errno));
    return 0;
}

static int
write_one(const char *path, mode_t mode, const wt_cert_t *cert, int with_secret, wt_err_t *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return wt_err_set(err, WT_EIO, "cannot create '%s': %s", path, strerror(errno));
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return wt_err_set(err, WT_EIO, "cannot write '%s': %s", path, strerror(errno));
    }
    fchmod(fd, mode); /* whatever the umask, the secret file is 0600 */
    fprintf(f, "#   ****  Generated on %s by worktrain keygen  ****\n", when);
    if (with_secret)
        fprintf(f, "#   ZeroMQ CURVE **Secret** Certificate\n"
                   "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\n");
    else
        fprintf(f, "#   ZeroMQ CURVE Public Certificate\n"
                   "#   Copy it to the hosts that must accept this key (--allow-workers,\n"
                   "#   --allow-clients) or talk to it (--broker-pub).\n\n");
    fprintf(f, "metadata\ncurve\n    public-key = \"%s\"\n", cert->public_key);
    if (with_secret)
        fprintf(f, "    secret-key = \"%s\"\n", cert->secret_key);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        unlink(path);
        return wt_err_set(err, WT_EIO, "cannot write '%s': %s", path, strerror(errno));
    }
    return 0;
}

int
wt_cert_write_pair(const wt_cert_t *cert, const char *dir, const char *name, wt_err_t *err)
{
    char key[1024], pub[1024];
    snprintf(key, sizeof key, "%s/%s.key", dir, name);
    snprintf(pub, sizeof pub, "%s/%s.pub", dir, name);
    struct stat st;
    if (stat(key, &st) == 0 || stat(pub, &st) == 0)
        return wt_err_set(err, WT_EINVAL, "'%s' exists: not overwriting a key (remove it first)",
                          stat(key, &st) == 0 ? key : pub);
    if (write_one(key, 0600, cert, 1, err) != 0)
        return -1;
    if (write_one(pub, 0644, cert, 0, err) != 0) {
        unlink(key);
        return -1;
    }
    return 0;
}

int
wt_cert_write_public(const wt_cert_t *cert, const char *path, wt_err_t *err)
{
    return write_one(path, 0644, cert, 0, err);
}

void
wt_cert_peer_defaults(wt_cert_peer_t *p)
{
    memset(p, 0, sizeof *p);
    const char *v = getenv("WORKTRAIN_CURVE_KEY");
    snprintf(p->key_path, sizeof p->key_path, "%s", v ? v : "");
    v = getenv("WORKTRAIN_BROKER_PUB");
    snprintf(p->pub_path, sizeof p->pub_path, "%s", v ? v : "");
}

int
wt_cert_peer_load(wt_cert_peer_t *p, wt_err_t *err)
{
    p->on = 0;
    if (p->key_path[0] == '\0' && p->pub_path[0] == '\0')
        return 0;
    if (p->key_path[0] == '\0')
        return wt_err_set(err, WT_EINVAL,
                          "--broker-pub given without --curve-key (or WORKTRAIN_CURVE_KEY): "
                          "CURVE needs this host's own .key file too");
    if (p->pub_path[0] == '\0')
        return wt_err_set(err, WT_EINVAL,
                          "--curve-key given without --broker-pub (or WORKTRAIN_BROKER_PUB): "
                          "CURVE needs the broker's .pub file too");
    if (wt_cert_load(&p->own, p->key_path, WT_CERT_SECRET, "--curve-key", err) != 0)
        return -1;
    wt_cert_t server;
    if (wt_cert_load(&server, p->pub_path, WT_CERT_PUBLIC, "--broker-pub", err) != 0)
        return -1;
    memcpy(p->server_key, server.public_key, sizeof p->server_key);
    p->on = 1;
    return 0;
}

int
wt_cert_peer_apply(const wt_cert_peer_t *p, void *sock, wt_err_t *err)
{
    if (!p || !p->on)
        return 0;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, p->server_key, WT_CERT_Z85_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, p->own.public_key, WT_CERT_Z85_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, p->own.secret_key, WT_CERT_Z85_LEN) != 0)
        return wt_err_set(err, WT_EIO, "cannot set CURVE keys: %s", zmq_strerror(errno));
    return 0;
}
