/* wt_cli_keygen - `worktrain keygen NAME [--dir DIR]`: a CURVE keypair for
 * one broker, worker host or client, as NAME.key (secret, 0600) and
 * NAME.pub (public) certificates (wt_cert). Never overwrites. */
#include "wt_cert.h"
#include "wt_cli.h"
#include "wt_cli_common.h"

#include <stdio.h>
#include <string.h>

static void
usage(FILE *out)
{
    fprintf(out, "usage: worktrain keygen NAME [--dir DIR]\n"
                 "\n"
                 "Writes a CURVE keypair in ZeroMQ's certificate format (readable by pyzmq's\n"
                 "zmq.auth.load_certificate and CZMQ's zcert):\n"
                 "  DIR/NAME.key  public + secret key, mode 0600: stays on the host that uses it\n"
                 "                (broker --curve-key, or a peer's --curve-key)\n"
                 "  DIR/NAME.pub  public key only: copy it to the broker's --allow-workers or\n"
                 "                --allow-clients directory, or (the broker's) to every peer's\n"
                 "                --broker-pub\n"
                 "Refuses to overwrite either file. Exit 0 written, 2 usage or file error.\n"
                 "\n"
                 "  --dir DIR   where to write (default: the current directory)\n");
}

int
wt_cli_keygen_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *dir = ".";
    wt_cli_getopt_reset();
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'h')
            return usage(stdout), 0;
        else
            return wt_cli_usage_error("keygen", "unknown or incomplete option '%s'",
                                      argv[optind - 1]);
    }
    if (optind != argc - 1)
        return wt_cli_usage_error("keygen", "expected one NAME");
    const char *name = argv[optind];
    if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL)
        return wt_cli_usage_error("keygen", "bad NAME '%s' (a file name: no '/', no leading '.')",
                                  name);
    wt_cert_t cert;
    wt_err_t err = {0};
    if (wt_cert_generate(&cert, &err) != 0 || wt_cert_write_pair(&cert, dir, name, &err) != 0) {
        fprintf(stderr, "worktrain keygen: %s\n", err.msg);
        return 2;
    }
    printf("%s/%s.key (secret, 0600)\n%s/%s.pub (public: %s)\n", dir, name, dir, name,
           cert.public_key);
    return 0;
}
