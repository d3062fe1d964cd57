"""deploytest - what the static checks of deploy/ share: the repository
paths, running a real tool (systemd-analyze, promtool, kubectl, buildah)
and skipping with exit 77 (ctest SKIP_RETURN_CODE) only when the tool cannot
run on this machine, saying why."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
from wtfleet import BIN, REPO, Check, free_port  # noqa: E402,F401

DEPLOY = os.path.join(REPO, "deploy")
SKIP = 77


def skip(why):
    print("SKIP: " + why, flush=True)
    sys.exit(SKIP)


def need(tool, package):
    """The path of tool, or a skip naming the Debian package that has it."""
    path = shutil.which(tool)
    if path is None:
        skip("%s not installed (Debian package %s; deploy/install-deps.sh installs it)"
             % (tool, package))
    return path


def run(argv, timeout=120, **kw):
    """Runs argv; returns the CompletedProcess (text, both streams captured;
    stdin is input= when given, else /dev/null)."""
    if "input" not in kw:
        kw["stdin"] = subprocess.DEVNULL
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def clean(check, r, what):
    """Checks a tool run exited 0; prints its output on failure."""
    ok = check(r.returncode == 0, "%s (exit %d)" % (what, r.returncode))
    if not ok:
        print(r.stdout[-4000:], r.stderr[-4000:])
    return ok


def flags_parse(argv):
    """Runs `worktrain ARGV... --help`: getopt reads ARGV first, so exit 0
    means every flag and value in ARGV is one the verb accepts. Returns
    (ok, stderr)."""
    r = run([BIN] + list(argv) + ["--help"], timeout=30)
    return r.returncode == 0, r.stderr.strip()


def seconds(v):
    """Seconds of a duration as the manifests write them (30s, 2m, 45, 500ms)."""
    import re
    m = re.fullmatch(r"(\d+)(ms|s|m|min)?", str(v).strip())
    n = int(m.group(1))
    return {"ms": n / 1000, "m": n * 60, "min": n * 60}.get(m.group(2), n)
