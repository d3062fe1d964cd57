# ctest-timeout: 180
"""`worktrain up --demo --exit` (what `make demo` runs, minus the wait for
Ctrl-C): its own redis, broker, two workers and the console; every demo session succeeds;
the bundled implement-feature pipeline runs to success; exit 0; and no process it started is left behind. Then the interactive form:
SIGINT stops the whole fleet."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, REPO, Check  # noqa: E402


def children_of(pid):
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,pgid=,args="], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if str(pid) in l.split()[1:3]]


def strays(tag):
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if tag in l and "ps -eo" not in l]


def main():
    check = Check()
    d = tempfile.mkdtemp(prefix="wt-demo-")
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")}
    r = subprocess.run([BIN, "up", "--demo", "--exit", "--dir", d], capture_output=True, text=True,
                       timeout=150, env=env, cwd=REPO, stdin=subprocess.DEVNULL)
    print(r.stdout[-3000:])
    print(r.stderr[-2000:])
    lines = r.stdout.splitlines()
    check(r.returncode == 0, "up --demo --exit exits 0 (got %d)" % r.returncode)
    check(lines and "scripted provider" in lines[0], "first line says the scripted provider is used")
    check(r.stdout.count("success") >= 2, "demo sessions report success")
    check(re.search(r"Pipeline run [0-9A-Z]{26} succeeded", r.stdout) is not None,
          "the demo runs the implement-feature pipeline to success")
    review = [l for l in lines if l.split()[:1] == ["review"]]
    check(review and "done" in review[0] and "attempts 2" in review[0],
          "the demo pipeline's review loop took 2 passes: %s" % review[:1])
    check(any(l.split()[:2] == ["escalate", "skipped"] for l in lines),
          "and did not escalate")
    time.sleep(0)  # processes were reaped by `up` before it exited
    check(not strays(d), "no stray processes left (%s)" % strays(d)[:3])

    # Interactive: keeps running until SIGINT, then stops everything.
    d2 = tempfile.mkdtemp(prefix="wt-demo2-")
    p = subprocess.Popen([BIN, "up", "--demo", "--dir", d2], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
                         stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    seen = ""
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        seen += line
        if "Fleet is up" in line:
            break
    check("Fleet is up" in seen, "interactive up prints that the fleet is up")
    m = re.search(r"console: (http://127\.0\.0\.1:(\d+)/)", seen)
    console_ok = False
    if m:
        deadline = time.monotonic() + 10
        while not console_ok and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(m.group(1) + "api/stats", timeout=5) as resp:
                    console_ok = json.load(resp)["workers"] == 2
            except (OSError, ValueError):
                time.sleep(0.1)
    check(console_ok, "up prints the console's URL and the console serves the fleet")
    check(p.poll() is None and len(strays(d2)) >= 3, "fleet keeps running until Ctrl-C")
    p.send_signal(signal.SIGINT)
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = -1
    check(rc == 0, "SIGINT -> exit 0 (got %s)" % rc)
    left = strays(d2)
    if m:
        try:
            socket.create_connection(("127.0.0.1", int(m.group(2))), timeout=2).close()
            left.append("console still listening on %s" % m.group(2))
        except OSError:
            pass
    check(not left, "no stray processes after Ctrl-C (%s)" % left[:3])
    check.done()


if __name__ == "__main__":
    main()
