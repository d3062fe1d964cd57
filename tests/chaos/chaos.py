#!/usr/bin/python3
"""chaos - sessions through a fleet while a random worker or the broker is
killed with SIGKILL every 2-5 s and restarted, then a checker that reads
Redis and prints `submitted, completed, lost, duplicated`.

  /usr/bin/python3 tests/chaos/chaos.py [--sessions N] [--minutes M] [--workers K] [--ha]

--ha (issue 14): Redis is a master, two replicas and three sentinels, two
brokers share it (one active, one standby) with --redis-min-replicas 1, and
the victim is drawn from the Redis master (only while the set is healthy:
sentinels agree and both replicas are in sync, so no failover can promote an
empty node), the active broker and the workers. A killed master is started
again as a replica once another is promoted, a killed broker as a standby.
Half the sessions are spawned before the chaos, half during it.

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


def run_ha(sessions, minutes, workers, seed=None):
    """The --ha chaos run; returns (submitted, lost, duplicated, failed, kills)."""
    import threading
    from wtha import HAClient, HAFleet, active

    rng = random.Random(seed)
    fleet = HAFleet("chaos-ha")
    kills = {"master": 0, "broker": 0, "worker": 0}
    mr = ("--redis-min-replicas", "1")
    script = os.path.join(SCRIPTS, "two-step-chaos.json")
    names = ["c%d" % i for i in range(workers)]
    fixers = []

    def fix(what, f):
        def go():
            try:
                f()
            except Exception as e:  # noqa: BLE001 - the next health check notices
                print("chaos: restarting %s failed: %r" % (what, e), flush=True)
        t = threading.Thread(target=go, daemon=True)
        t.start()
        fixers.append(t)

    try:
        fleet.start_ha(replicas=2, down_after_ms=2000)
        brokers = fleet.brokers(2, *mr)
        eps = ",".join(b.workers for b in brokers)

        def start_worker(n):
            fleet.start_worker(n, 4, script, "--heartbeat", "500ms", "--liveness", "3",
                               "--broker", eps, *mr)
        for n in names:
            start_worker(n)
        fleet.wait_for(lambda: (brokers[0].health() or {}).get("workers") == workers, 30,
                       "%d workers" % workers)
        c = HAClient(fleet.ctx, [b.clients for b in brokers])
        run = "%x" % rng.randrange(1 << 32)
        sids = []

        def spawn(k, deadline):
            for i in range(len(sids), min(sessions, len(sids) + k)):
                sid = c.spawn("two-step", "chaos %d" % i, "chaos-%s-%d" % (run, i), deadline)
                if sid is None:
                    raise RuntimeError("spawn %d not acknowledged by the deadline" % i)
                sids.append(sid)
        spawn(sessions // 2, time.monotonic() + 120)
        end_chaos = time.monotonic() + minutes * 60
        next_kill = time.monotonic() + rng.uniform(2, 5)
        while time.monotonic() < end_chaos:
            if time.monotonic() >= next_kill:
                targets = ["broker"] + names + (["master"] if fleet.healthy(2) else [])
                target = rng.choice(targets)
                leader = active(fleet, brokers)
                if target == "master":
                    port = fleet.kill_master()
                    fix("master", lambda port=port: fleet.restart_as_replica(port))
                    kills["master"] += 1
                elif target == "broker" and leader is not None:
                    fleet.kill(leader.key, signal.SIGKILL)
                    fleet.procs[leader.key].wait(10)
                    fix("broker", lambda b=leader: b.start(*mr))
                    kills["broker"] += 1
                elif target in names:
                    key = "worker-" + target
                    fleet.kill(key, signal.SIGKILL)
                    fleet.procs[key].wait(10)
                    start_worker(target)
                    kills["worker"] += 1
                else:
                    target = "nothing (no broker active yet)"
                print("chaos: %.1f s: killed %s" % (minutes * 60 - (end_chaos - time.monotonic()),
                                                    target), flush=True)
                next_kill = time.monotonic() + rng.uniform(2, 5)
            if len(sids) < sessions:
                spawn(10, time.monotonic() + 120)  # intake goes on through the faults
            else:
                time.sleep(0.1)
        spawn(sessions, time.monotonic() + 120)
        c.close()
        for t in fixers:
            t.join(90)
        fleet.wait_healthy(2, 90)  # every node back: nothing is lost by an outage at the end
        want, done, last = set(sids), set(), "0"
        deadline = time.monotonic() + 180
        while done != want and time.monotonic() < deadline:
            try:
                for _, entries in fleet.r.xread({"wt:events": last}, count=5000,
                                                block=500) or []:
                    for eid, f in entries:
                        last = eid
                        if f["type"] == "session_completed" and f["session"] in want:
                            done.add(f["session"])
            except Exception:  # noqa: BLE001 - a failover in progress: read again
                time.sleep(0.2)
        lost, dup, failed = check(fleet, sids)
        print("submitted %d, completed %d, lost %d, duplicated %d (failed %d; killed redis master "
              "%d x, active broker %d x, workers %d x)"
              % (len(sids), len(sids) - lost, lost, dup, failed, kills["master"],
                 kills["broker"], kills["worker"]), flush=True)
        return len(sids), lost, dup, failed, kills
    except Exception:
        fleet.dump_logs()
        raise
    finally:
        fleet.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=1.0, help="how long to keep killing")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--ha", action="store_true",
                    help="sentinel Redis and two brokers; also kill the master and active broker")
    a = ap.parse_args()
    _, lost, dup, failed, _ = (run_ha if a.ha else run)(a.sessions, a.minutes, a.workers, a.seed)
    sys.exit(0 if lost == dup == failed == 0 else 1)


if __name__ == "__main__":
    main()
