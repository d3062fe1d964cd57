# ctest-timeout: 60
"""CZMQ's zcert reads what `worktrain keygen` writes (issue 13: "so pyzmq's
zmq.auth.load_certificate and CZMQ's zcert read them"). A tiny C program
built here against Debian's libczmq-dev loads NAME.key and NAME.pub with
zcert_load and prints both keys; they must equal what pyzmq reads, the .key
must give the secret key and the .pub none. Skipped (exit 77, saying why)
when czmq's header or a C compiler is absent.

Run: /usr/bin/python3 tests/integration/test_czmq_cert.py"""
import os
import shutil
import subprocess
import sys
import tempfile

import zmq
import zmq.auth

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, Check  # noqa: E402

PROG = r"""
#include <czmq.h>
int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    zcert_t *c = zcert_load(argv[1]);
    if (c == NULL) {
        fprintf(stderr, "zcert_load('%s') failed\n", argv[1]);
        return 1;
    }
    printf("%s %s\n", zcert_public_txt(c), zcert_secret_txt(c));
    zcert_destroy(&c);
    return 0;
}
"""


def main():
    cc = shutil.which("cc")
    if not os.path.exists("/usr/include/czmq.h") or cc is None:
        print("SKIP: needs %s (apt-get install libczmq-dev)"
              % ("a C compiler" if cc is None else "czmq.h"), flush=True)
        sys.exit(77)
    check = Check()
    d = tempfile.mkdtemp(prefix="wt-czmq-")
    try:
        src, exe = os.path.join(d, "zc.c"), os.path.join(d, "zc")
        with open(src, "w") as f:
            f.write(PROG)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libczmq"],
                               capture_output=True, text=True).stdout.split() or ["-lczmq", "-lzmq"]
        b = subprocess.run([cc, "-o", exe, src] + flags, capture_output=True, text=True, timeout=60)
        check(b.returncode == 0, "the zcert reader builds (%s)" % b.stderr.strip()[-300:])
        r = subprocess.run([BIN, "keygen", "host-a", "--dir", d], capture_output=True, text=True,
                           timeout=10)
        check(r.returncode == 0, "keygen host-a (%s)" % r.stderr.strip())
        pub, sec = zmq.auth.load_certificate(os.path.join(d, "host-a.key"))
        for name, want_secret in (("host-a.key", sec.decode()), ("host-a.pub", None)):
            z = subprocess.run([exe, os.path.join(d, name)], capture_output=True, text=True,
                               timeout=10)
            got = z.stdout.split()
            check(z.returncode == 0 and len(got) == 2, "zcert_load reads %s (%s)"
                  % (name, (z.stdout + z.stderr).strip()))
            if len(got) != 2:
                continue
            check(got[0] == pub.decode(), "%s: zcert's public key is keygen's (%s)" % (name, got[0]))
            if want_secret:
                check(got[1] == want_secret, "%s: zcert's secret key is keygen's" % name)
                check(zmq.curve_public(got[1].encode()) == pub,
                      "%s: the secret zcert read belongs to the public key" % name)
            else:
                check(got[1] == "0" * 40, "%s: zcert finds no secret key in the .pub" % name)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    check.done()


if __name__ == "__main__":
    main()
