/* Unit tests of wt_cert: a written pair reads back (secret 0600, public
 * without the secret), overwrite is refused, and every malformed file is an
 * error naming the file and line: truncated key, swapped files, a secret
 * key from another certificate, binary junk, properties outside a section. */
#include "wt_cert.h"
#include "wt_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void
put(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}

static int
load(const char *name, wt_cert_kind_t kind, wt_err_t *err)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    wt_cert_t c;
    memset(err, 0, sizeof *err);
    return wt_cert_load(&c, p, kind, "--curve-key", err);
}

static void
test_write_and_read_back(void)
{
    wt_cert_t c, k, p;
    wt_err_t err = {0};
    WT_CHECK(wt_cert_generate(&c, &err) == 0);
    WT_CHECK(wt_cert_write_pair(&c, dir, "a", &err) == 0);
    char kp[256], pp[256];
    snprintf(kp, sizeof kp, "%s/a.key", dir);
    snprintf(pp, sizeof pp, "%s/a.pub", dir);
    struct stat st;
    WT_CHECK(stat(kp, &st) == 0 && (st.st_mode & 0777) == 0600);
    WT_CHECK(wt_cert_load(&k, kp, WT_CERT_SECRET, "--curve-key", &err) == 0);
    WT_CHECK_STR(k.public_key, c.public_key);
    WT_CHECK_STR(k.secret_key, c.secret_key);
    WT_CHECK(wt_cert_load(&p, pp, WT_CERT_PUBLIC, "--broker-pub", &err) == 0);
    WT_CHECK_STR(p.public_key, c.public_key);
    WT_CHECK(p.secret_key[0] == '\0');
    /* overwrite refused, the existing file untouched */
    wt_cert_t d;
    wt_cert_generate(&d, &err);
    WT_CHECK(wt_cert_write_pair(&d, dir, "a", &err) == -1);
    WT_CHECK(strstr(err.msg, "exists") != NULL);
    WT_CHECK(wt_cert_load(&k, kp, WT_CERT_SECRET, "--curve-key", &err) == 0);
    WT_CHECK_STR(k.public_key, c.public_key);
}

static void
test_swapped_files(void)
{
    wt_err_t err;
    WT_CHECK(load("a.pub", WT_CERT_SECRET, &err) == -1);
    WT_CHECK(strstr(err.msg, "a.pub") && strstr(err.msg, "no 'secret-key'"));
    WT_CHECK(load("a.key", WT_CERT_PUBLIC, &err) == -1);
    WT_CHECK(strstr(err.msg, "a.key' line 8") && strstr(err.msg, "holds a secret key"));
}

static void
test_malformed(void)
{
    wt_err_t err;
    put("trunc.key",
        "metadata\ncurve\n    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n"
        "    secret-key = \"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh");
    WT_CHECK(load("trunc.key", WT_CERT_SECRET, &err) == -1);
    WT_CHECK(strstr(err.msg, "trunc.key' line 4") && strstr(err.msg, "secret-key") &&
             strstr(err.msg, "truncated"));
    put("empty.pub", "");
    WT_CHECK(load("empty.pub", WT_CERT_PUBLIC, &err) == -1);
    WT_CHECK(strstr(err.msg, "empty.pub") && strstr(err.msg, "no 'public-key'"));
    put("junk.pub", "metadata\n\x01\x02\x03\n");
    WT_CHECK(load("junk.pub", WT_CERT_PUBLIC, &err) == -1);
    WT_CHECK(strstr(err.msg, "junk.pub' line 2") && strstr(err.msg, "binary"));
    put("nosec.pub", "    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n");
    WT_CHECK(load("nosec.pub", WT_CERT_PUBLIC, &err) == -1);
    WT_CHECK(strstr(err.msg, "line 1") && strstr(err.msg, "before any section"));
    put("syntax.pub", "curve\n    public-key \"x\"\n");
    WT_CHECK(load("syntax.pub", WT_CERT_PUBLIC, &err) == -1);
    WT_CHECK(strstr(err.msg, "line 2") && strstr(err.msg, "expected"));
    /* a secret key of another certificate: the pair does not match */
    wt_cert_t a, b;
    wt_cert_generate(&a, &err);
    wt_cert_generate(&b, &err);
    char text[512];
    snprintf(text, sizeof text, "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
             a.public_key, b.secret_key);
    put("mixed.key", text);
    WT_CHECK(load("mixed.key", WT_CERT_SECRET, &err) == -1);
    WT_CHECK(strstr(err.msg, "line 3") && strstr(err.msg, "does not belong"));
    WT_CHECK(load("missing.key", WT_CERT_SECRET, &err) == -1);
    WT_CHECK(strstr(err.msg, "missing.key") && strstr(err.msg, "cannot read"));
}

static void
test_peer_needs_both(void)
{
    wt_cert_peer_t p;
    memset(&p, 0, sizeof p);
    wt_err_t err = {0};
    WT_CHECK(wt_cert_peer_load(&p, &err) == 0 && p.on == 0);
    snprintf(p.key_path, sizeof p.key_path, "%s/a.key", dir);
    WT_CHECK(wt_cert_peer_load(&p, &err) == -1 && strstr(err.msg, "--broker-pub"));
    snprintf(p.pub_path, sizeof p.pub_path, "%s/a.pub", dir);
    WT_CHECK(wt_cert_peer_load(&p, &err) == 0 && p.on == 1);
    snprintf(p.pub_path, sizeof p.pub_path, "%s/a.key", dir);
    WT_CHECK(wt_cert_peer_load(&p, &err) == -1 && strstr(err.msg, "--broker-pub"));
}

static void
cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

int
main(void)
{
    snprintf(dir, sizeof dir, "/tmp/wt-cert-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    static const wt_test_case_t cases[] = {WT_TEST(test_write_and_read_back),
                                           WT_TEST(test_swapped_files), WT_TEST(test_malformed),
                                           WT_TEST(test_peer_needs_both)};
    int rc = wt_test_run(cases, sizeof cases / sizeof cases[0]);
    cleanup();
    return rc;
}
