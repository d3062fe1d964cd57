# ctest-timeout: 120
"""WORKTRAIN_LOG_FORMAT=json: every stderr line of a real broker and worker
running a real session is one JSON object with ts, level, proc and msg; the
worker's lines carry its name, and the lines about the session carry its id
in "session" (set by the session thread, or read from a "session ID" message
of the broker)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, Check, Fleet  # noqa: E402


def lines(fleet, key):
    with open(os.path.join(fleet.dir, key + ".log"), errors="replace") as f:
        return [ln for ln in f.read().splitlines() if ln.strip()]


def main():
    check = Check()
    os.environ["WORKTRAIN_LOG_FORMAT"] = "json"
    os.environ["WORKTRAIN_LOG"] = "debug"
    fleet = Fleet("logjson")
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("j1", 1, os.path.join(SCRIPTS, "goal-command.json"))
        fleet.wait_workers(1)
        c = fleet.client()
        sid = c.spawn("two-step", 'echo "quoted" and \\\\ backslash')
        c.close()
        fleet.wait_completed([sid], 60)
        fleet.stop(keep=True)
        for key in ("broker", "worker-j1"):
            objs, bad = [], []
            for ln in lines(fleet, key):
                try:
                    objs.append(json.loads(ln))
                except ValueError:
                    bad.append(ln)
            check(objs and not bad, "%s: %d lines, all JSON (bad: %r)" % (key, len(objs), bad[:2]))
            check(all({"ts", "level", "proc", "msg"} <= set(o) for o in objs),
                  "%s: every line has ts, level, proc, msg" % key)
            check(all(o["level"] in ("error", "warn", "info", "debug") for o in objs),
                  "%s: levels are names" % key)
        w = [json.loads(ln) for ln in lines(fleet, "worker-j1")]
        check(all(o.get("worker") == "j1" and o["proc"] == "wt-worker" for o in w),
              "worker lines carry worker=j1")
        check(any(o.get("session") == sid for o in w), "worker lines about the session carry it")
        b = [json.loads(ln) for ln in lines(fleet, "broker")]
        check(all(o["proc"] == "wt-broker" for o in b), "broker lines carry proc=wt-broker")
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
