# ctest-timeout: 150
"""Delivery survives its worker (DESIGN.md 15): the worker is killed -9
after the push, while the fake GitHub holds the answer to the PR it has
just created; another worker (another workspace root) takes the delivery
over once the lease lapses, looks the PR up and uses it: exactly one PR.
Also: a repository that cannot be cloned (no such path; a git daemon port
that accepts and never answers, cut by WORKTRAIN_GIT_TIMEOUT_MS) ends the
session with outcome error naming the cause, not a hang; a stale git lock
file in the mirror is recovered."""
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from deliverkit import (TOKEN, control, make_remote, remote_log, script,  # noqa: E402
                        start_forge, wait_delivery)
from wtfleet import Check, Fleet  # noqa: E402


def main():
    check = Check()
    fleet = Fleet("delivery-crash")
    d = tempfile.mkdtemp(prefix="wt-dlc-")
    gh, gh_base = start_forge(d, "github", TOKEN)
    bare = make_remote(d)
    url = "file://" + bare
    env = {"GITHUB_TOKEN": TOKEN, "WORKTRAIN_GITHUB_API": gh_base,
           "WORKTRAIN_GIT_TIMEOUT_MS": "4000"}
    sc = script(os.path.join(d, "script.json"))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("w1", 2, sc, env=env)
        fleet.wait_workers(1)
        # The create is carried out, then its answer is held for 60 s.
        control(gh_base, "/_control/hold", {"method": "POST", "suffix": "/pulls", "seconds": 60})
        r = fleet.run_cli("spawn", "--workflow", "demo", "--goal", "Crash between push and PR",
                          "--repo", url, "--auto-commit", "--deliver", "pr", "--forge", "github",
                          "--forge-project", "acme/app")
        sid = r.stdout.strip()
        fleet.wait_completed([sid], 60)
        fleet.wait_for(lambda: any(q["method"] == "POST" for q in
                                   control(gh_base, "/_control/requests")), 60, "the PR create")
        check(fleet.r.hget("wt:delivery:%s" % sid, "state") == "pushed",
              "the push is recorded before the PR is asked for")
        fleet.kill("worker-w1")  # SIGKILL
        fleet.procs["worker-w1"].wait(10)
        check(len(control(gh_base, "/_control/items")) == 1, "the PR exists, its worker is dead")
        fleet.start_worker("w2", 2, sc, "--workspace-root", os.path.join(fleet.dir, "ws2"),
                           env=env)
        typ, data = wait_delivery(fleet, sid, 90)
        items = control(gh_base, "/_control/items")
        check(typ == "delivery_completed" and data.get("existed") is True,
              "another worker finished it by finding the PR: %r" % data)
        check(len(items) == 1 and data.get("number") == items[0]["number"],
              "exactly one PR (%d)" % len(items))
        check(len(remote_log(bare, "worktrain/%s" % sid)) == 4, "the branch holds the 3 commits")

        # Clone failures end the session with a clear error.
        bad = fleet.run_cli("spawn", "--workflow", "demo", "--goal", "no such repo", "--repo",
                            "file://" + os.path.join(d, "missing.git")).stdout.strip()
        hang = fleet.run_cli("spawn", "--workflow", "demo", "--goal", "silent daemon", "--repo",
                             "git://127.0.0.1:%d/app.git" % silent.getsockname()[1]
                             ).stdout.strip()
        t0 = time.monotonic()
        fleet.wait_completed([bad, hang], 60)
        h1 = fleet.r.hgetall("wt:session:%s" % bad)
        h2 = fleet.r.hgetall("wt:session:%s" % hang)
        check(h1.get("outcome") == "error" and "cannot fetch" in h1.get("error", "") and
              "missing.git" in h1.get("error", ""), "clone failure: %s" % h1.get("error"))
        check(h2.get("outcome") == "error" and "timed out" in h2.get("error", ""),
              "a remote that never answers times out: %s (%.0f s)"
              % (h2.get("error"), time.monotonic() - t0))

        # A git lock file left by a killed git in the mirror is removed under our lock.
        mirrors = os.path.join(fleet.dir, "ws2", ".mirrors")
        m = [x for x in os.listdir(mirrors) if x.endswith(".git")][0]
        open(os.path.join(mirrors, m, "config.lock"), "w").close()
        again = fleet.run_cli("spawn", "--workflow", "demo", "--goal", "after a stale lock",
                              "--repo", url).stdout.strip()
        fleet.wait_completed([again], 60)
        check(fleet.r.hget("wt:session:%s" % again, "outcome") == "success",
              "a stale config.lock is recovered")
    except Exception as e:
        import traceback
        traceback.print_exc()
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        silent.close()
        gh.kill()
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
