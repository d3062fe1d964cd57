"""Standby broker failover times (issue 14): two brokers on one Redis, two
workers with free slots and a steady queue of short sessions; kills the
active broker (kill -9) N times (the killed one is restarted as the new
standby) and reports, over the kills, p50/p99 of the time from the kill to
(a) the standby's /healthz role active, (b) its first worker registered,
(c) its first dispatch. Usage: python3 bench/standby_failover.py [N]
(default 10). Prints one JSON object."""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "integration"))
from test_standby import SCRIPTS, Broker, Fleet, poll, spawn_all  # noqa: E402

SCRIPT = os.path.join(SCRIPTS, "two-step-500ms.json")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def measure(n=10):
    """The figures as a dict (bench/bench.py part `standby` calls this)."""
    fleet = Fleet("standby-bench")
    out = {"kills": n, "active_s": [], "worker_s": [], "dispatch_s": []}
    try:
        fleet.start_redis()
        brokers = [Broker(fleet, "a"), Broker(fleet, "b")]
        brokers[0].start()
        poll(lambda: brokers[0].role() == "active", 10, "a active")
        brokers[1].start()
        eps = ",".join(b.workers for b in brokers)
        for i in range(2):
            fleet.start_worker("w%d" % i, 4, SCRIPT, "--heartbeat", "500ms", "--liveness", "3",
                               "--broker", eps)
        active, standby = brokers
        for k in range(n):
            poll(lambda: (active.health() or {}).get("workers") == 2, 30, "2 workers")
            spawn_all(fleet, brokers, 60, "b%d-%%d" % k)
            poll(lambda: fleet.r.zcard("wt:queue") > 0 and fleet.r.hlen("wt:running") > 0, 20,
                 "work queued and running")
            fleet.kill(active.key, signal.SIGKILL)
            t0 = time.monotonic()
            ta = poll(lambda: standby.role() == "active", 10, "takeover")
            tw = poll(lambda: (standby.health() or {}).get("workers", 0) > 0, 30, "a worker")
            td = poll(lambda: (standby.metric("wt_dispatches_total") or 0) > 0, 30, "dispatch")
            out["active_s"].append(round(ta - t0, 3))
            out["worker_s"].append(round(tw - t0, 3))
            out["dispatch_s"].append(round(td - t0, 3))
            fleet.procs[active.key].wait(5)
            active.start()
            active, standby = standby, active
            poll(lambda: standby.role() == "standby", 10, "restarted standby")
        for k in ("active_s", "worker_s", "dispatch_s"):
            out[k.replace("_s", "_p50_s")] = pct(out[k], 50)
            out[k.replace("_s", "_p99_s")] = pct(out[k], 99)
    finally:
        fleet.stop()
    return out


def main():
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 10)))


if __name__ == "__main__":
    main()
