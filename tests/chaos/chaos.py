#!/usr/bin/python3
"""chaos - sessions through a fleet while a random worker or the broker is
killed with SIGKILL every 2-5 s and restarted, then a checker that reads
Redis and prints `submitted, completed, lost, duplicated`.

  /usr/bin/python3 tests/chaos/chaos.py [--sessions N] [--minutes M] [--workers K]

Lost: a session with no session_completed. Duplicated: more than one
session_completed, or a workflow step recorded twice. Exit 0 iff both are 0
and every session succeeded. Needs the built binary (build/worktrain, or
WORKTRAIN_BIN)."""
import argparse
import json
import os
import random
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from wtfleet import SCRIPTS, Fleet  # noqa: E402


def spawn_all(fleet, n):
    c = fleet.client()
    sids = c.spawn_many(n, "two-step", goal_fmt="chaos %d", window=500)
    c.close()
    return sids


def check(fleet, sids):
    lost = dup = failed = 0
    for sid in sids:
        evs = fleet.events(sid)
        done = sum(1 for _, t, _, _ in evs if t == "session_completed")
        steps = [d["step"] for _, t, d, _ in evs if t == "step_advanced"]
        lost += done == 0
        dup += done > 1 or len(steps) != len(set(steps))
        failed += done == 1 and fleet.r.hget("wt:session:%s" % sid, "outcome") != "success"
    return lost, dup, failed


def run(sessions, minutes, workers, seed=None):
    rng = random.Random(seed)
    fleet = Fleet("chaos", appendonly=True)
    kills = {"broker": 0, "worker": 0}
    try:
        fleet.start_redis()
        fleet.start_broker("--max-attempts", "20")
        names = ["c%d" % i for i in range(workers)]
        script = os.path.join(SCRIPTS, "two-step-chaos.json")
        for n in names:
            fleet.start_worker(n, 4, script)
        fleet.wait_workers(workers)
        sids = spawn_all(fleet, sessions)
        end_chaos = time.monotonic() + minutes * 60
        next_kill = time.monotonic() + rng.uniform(2, 5)
        done, last = set(), "0"
        want = set(sids)
        while done != want:
            now = time.monotonic()
            if now > end_chaos + 180:
                break
            if now >= next_kill and now < end_chaos:
                target = rng.choice(["broker"] + names)
                key = "broker" if target == "broker" else "worker-" + target
                fleet.kill(key, signal.SIGKILL)
                fleet.procs[key].wait(timeout=10)
                if target == "broker":
                    fleet.start_broker("--max-attempts", "20")
                else:
                    fleet.start_worker(target, 4, script)
                kills["broker" if target == "broker" else "worker"] += 1
                next_kill = time.monotonic() + rng.uniform(2, 5)
            for _, entries in fleet.r.xread({"wt:events": last}, count=5000, block=200) or []:
                for eid, f in entries:
                    last = eid
                    if f["type"] == "session_completed" and f["session"] in want:
                        done.add(f["session"])
        lost, dup, failed = check(fleet, sids)
        print("submitted %d, completed %d, lost %d, duplicated %d (failed %d; killed broker %d x, "
              "workers %d x)" % (len(sids), len(sids) - lost, lost, dup, failed,
                                 kills["broker"], kills["worker"]), flush=True)
        return len(sids), lost, dup, failed, kills
    finally:
        fleet.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=1.0, help="how long to keep killing")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--seed", type=int)
    a = ap.parse_args()
    _, lost, dup, failed, _ = run(a.sessions, a.minutes, a.workers, a.seed)
    sys.exit(0 if lost == dup == failed == 0 else 1)


if __name__ == "__main__":
    main()
