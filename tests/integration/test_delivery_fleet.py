# ctest-timeout: 240
"""Two workers on different workspace roots serve 40 sessions on one
repository at once, served by a git daemon on loopback (git://), each with
--auto-commit --deliver branch: every branch worktrain/<sid> on the remote
holds exactly its own session's three commits (trailer = its sid, a.txt
naming it) on top of main, and both mirrors pass git fsck."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from deliverkit import git, make_remote, remote_log, script, start_daemon  # noqa: E402
from wtfleet import Check, Fleet  # noqa: E402

N = 40


def main():
    check = Check()
    fleet = Fleet("delivery-fleet")
    d = tempfile.mkdtemp(prefix="wt-dlf-")
    bare = make_remote(d)
    daemon, port = start_daemon(d, d)
    url = "git://127.0.0.1:%d/app.git" % port
    sc = script(os.path.join(d, "script.json"))
    try:
        fleet.start_redis()
        fleet.start_broker()
        for name in ("a", "b"):
            fleet.start_worker(name, 8, sc, "--workspace-root",
                               os.path.join(fleet.dir, "ws-" + name))
        fleet.wait_workers(2)
        c = fleet.client()
        spec = '{"repo":"%s","auto_commit":true,"deliver":"branch"}' % url
        sids = c.spawn_many(N, "demo", "concurrent %d", workspace=spec)
        c.close()
        fleet.wait_completed(sids, 180)
        fleet.wait_for(lambda: all(fleet.r.hget("wt:delivery:%s" % s, "state") in
                                   ("done", "failed") for s in sids), 120, "all deliveries")
        states = [fleet.r.hget("wt:delivery:%s" % s, "state") for s in sids]
        check(states.count("done") == N, "%d of %d delivered" % (states.count("done"), N))
        workers = {fleet.r.hget("wt:session:%s" % s, "worker") for s in sids}
        check(workers == {"a", "b"}, "both workers served sessions: %r" % workers)
        main_sha = git("--git-dir", bare, "rev-parse", "main").strip()
        bad = []
        for s in sids:
            b = "worktrain/%s" % s
            log = remote_log(bare, b)
            ok = (len(log) == 4 and all(("WorkTrain-Session: %s" % s) in e[1] for e in log[:3])
                  and git("--git-dir", bare, "rev-parse", b + "~3").strip() == main_sha
                  and ("alpha" not in git("--git-dir", bare, "show", b + ":a.txt"))
                  and s in git("--git-dir", bare, "show", b + ":a.txt"))
            if not ok:
                bad.append(s)
        check(not bad, "every branch holds exactly its own 3 commits on main (%d bad)" % len(bad))
        for name in ("a", "b"):
            mdir = os.path.join(fleet.dir, "ws-" + name, ".mirrors")
            ms = [m for m in os.listdir(mdir) if m.endswith(".git")]
            r = subprocess.run(["git", "--git-dir", os.path.join(mdir, ms[0]), "fsck", "--strict"],
                               capture_output=True, text=True)
            check(len(ms) == 1 and r.returncode == 0,
                  "worker %s: one mirror, fsck clean %s" % (name, r.stderr[:200]))
        r = subprocess.run(["git", "--git-dir", bare, "fsck"], capture_output=True, text=True)
        check(r.returncode == 0, "the remote is sound")
    except Exception as e:
        import traceback
        traceback.print_exc()
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        daemon.kill()
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
