# ctest-timeout: 60
"""deploy/systemd: every unit passes `systemd-analyze verify` with no
warning (unknown keys are only warnings there, so any stderr line fails), and
keeps the contracts of DESIGN.md section 16: Type=notify with a watchdog,
DynamicUser, ProtectSystem=strict, NoNewPrivileges, EnvironmentFile for
secrets, a restart policy, and for the worker ReadWritePaths for its
workspace root and TimeoutStopSec above its --drain-timeout. ExecStart is
pointed at the built binary (verify checks that it is executable)."""
import configparser
import os
import re
import tempfile

from deploytest import BIN, DEPLOY, Check, clean, flags_parse, need, run, seconds

UNITS = ("worktrain-broker.service", "worktrain-worker@.service", "worktrain-console.service")


def main():
    check = Check()
    tool = need("systemd-analyze", "systemd")
    src = os.path.join(DEPLOY, "systemd")
    with tempfile.TemporaryDirectory() as d:
        names = []
        for u in UNITS:
            with open(os.path.join(src, u)) as f:
                text = f.read().replace("/usr/local/bin/worktrain", BIN)
            name = u.replace("@.", "@01.")  # an instance of the template
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
            names.append(name)
        r = run([tool, "verify"] + names, cwd=d)
        clean(check, r, "systemd-analyze verify " + " ".join(names))
        check(r.stderr.strip() == "", "no warnings: %r" % r.stderr.strip()[:500])

    for u in UNITS:
        cp = configparser.ConfigParser(strict=False, interpolation=None)
        cp.optionxform = str
        cp.read(os.path.join(src, u))
        s = cp["Service"]
        for key, want in (("Type", "notify"), ("DynamicUser", "yes"),
                          ("ProtectSystem", "strict"), ("NoNewPrivileges", "yes"),
                          ("Restart", "always")):
            check(s.get(key) == want, "%s: %s=%s" % (u, key, want))
        check("WatchdogSec" in s, "%s: WatchdogSec set" % u)
        check(s.get("EnvironmentFile", "").endswith("/etc/worktrain/worktrain.env"),
              "%s: secrets from an EnvironmentFile" % u)
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str
    cp.read(os.path.join(src, "worktrain-worker@.service"))
    s = cp["Service"]
    m = re.search(r"--drain-timeout (\S+)", s["ExecStart"])
    ws = re.search(r"--workspace-root (\S+)", s["ExecStart"])
    check(m and seconds(s["TimeoutStopSec"]) > seconds(m.group(1)),
          "worker: TimeoutStopSec %s > --drain-timeout %s" % (s["TimeoutStopSec"],
                                                             m.group(1) if m else None))
    check(ws and ws.group(1).startswith(s.get("ReadWritePaths", "?").lstrip("-")),
          "worker: the workspace root lies in ReadWritePaths")
    check("--http" in s["ExecStart"], "worker: --http for probes and scrapes")
    for u in UNITS:  # the flags of every ExecStart are ones worktrain accepts
        cp = configparser.ConfigParser(strict=False, interpolation=None)
        cp.read(os.path.join(src, u))
        argv = cp["Service"]["ExecStart"].replace("\\\n", " ").replace("%i", "01").replace("%H", "h").split()[1:]
        ok, err = flags_parse(argv)
        check(ok, "%s: worktrain accepts its ExecStart flags (%s)" % (u, err))
    check.done()


if __name__ == "__main__":
    main()
