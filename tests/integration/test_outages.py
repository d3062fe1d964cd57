# ctest-timeout: 300
"""The fleet survives its infrastructure:
- kill -9 of the broker with 100 queued and 10 running sessions, then a
  restart: state comes back from Redis, workers reconnect and report what
  they run, and all 110 sessions complete exactly once;
- Redis killed for 5 s (AOF, fsync always) in the middle of 200 sessions and
  restarted: processes keep running and retry, nothing is lost or doubled."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, Check, Fleet  # noqa: E402


def exactly_once(check, fleet, sids, label):
    bad = []
    for i, sid in enumerate(sids):
        evs = fleet.events(sid)
        types = [t for _, t, _, _ in evs]
        steps = [d["step"] for _, t, d, _ in evs if t == "step_advanced"]
        h = fleet.r.hgetall("wt:session:%s" % sid)
        if (types.count("session_completed") != 1 or steps != ["first", "second"]
                or h.get("outcome") != "success"):
            bad.append((sid, types.count("session_completed"), steps, h.get("outcome"), h.get("error")))
    lost = sum(1 for b in bad if b[1] == 0)
    dup = sum(1 for b in bad if b[1] > 1 or (b[2] and len(b[2]) > 2))
    print("%s: submitted %d, completed %d, lost %d, duplicated %d"
          % (label, len(sids), len(sids) - lost, lost, dup))
    check(not bad, "%s: every session completed exactly once, each step once %s" % (label, bad[:3]))


def spawn_retrying(c, n, goal_fmt, deadline_s=60):
    """Spawns with idempotency keys, retrying refused ones (Redis down)."""
    sids = {}
    deadline = time.monotonic() + deadline_s
    while len(sids) < n:
        for i in range(n):
            if i in sids:
                continue
            c.send("SPAWN", {"workflow": "two-step", "goal": goal_fmt % i, "key": "k-%d" % i})
            cmd, body = c.recv(10)
            if cmd == "SPAWNED":
                sids[i] = body["session"]
        if time.monotonic() > deadline:
            raise TimeoutError("could not spawn")
    return [sids[i] for i in range(n)]


def broker_restart(check):
    fleet = Fleet("broker-restart")
    try:
        fleet.start_redis()
        fleet.start_broker()
        for w in ("w1", "w2"):
            fleet.start_worker(w, 5, os.path.join(SCRIPTS, "two-step-500ms.json"))
        fleet.wait_workers(2)
        c = fleet.client()
        sids = c.spawn_many(110, "two-step", goal_fmt="br %d")
        c.close()
        fleet.wait_for(lambda: fleet.r.hlen("wt:running") == 10 and fleet.r.zcard("wt:queue") == 100,
                       15, "10 running and 100 queued")
        fleet.kill("broker", signal.SIGKILL)
        fleet.procs["broker"].wait(timeout=10)
        fleet.start_broker()
        fleet.wait_completed(sids, 120)
        exactly_once(check, fleet, sids, "broker kill -9")
        check(fleet.r.zcard("wt:queue") == 0 and fleet.r.hlen("wt:running") == 0,
              "queue and running index are empty afterwards")
    except Exception as e:
        check(False, "broker restart: unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()


def redis_outage(check):
    fleet = Fleet("redis-outage", appendonly=True)
    try:
        fleet.start_redis()
        fleet.start_broker()
        for w in ("w1", "w2"):
            fleet.start_worker(w, 8, os.path.join(SCRIPTS, "two-step-300ms.json"))
        fleet.wait_workers(2)
        c = fleet.client()
        sids = spawn_retrying(c, 200, "ro %d")
        fleet.wait_for(lambda: fleet.r.xlen("wt:events") > 300, 30,
                       "the run to be under way")
        fleet.kill("redis", signal.SIGKILL)
        fleet.procs["redis"].wait(timeout=10)
        time.sleep(5)  # the outage itself
        alive = all(fleet.procs[k].poll() is None for k in ("broker", "worker-w1", "worker-w2"))
        fleet.start_redis()
        check(alive, "broker and workers kept running while Redis was down")
        # SPAWN during/after the outage is retried by the client with the same key
        again = spawn_retrying(c, 200, "ro %d")
        check(again == sids, "retried spawns return the same sessions (idempotency survived)")
        c.close()
        fleet.wait_completed(sids, 120)
        exactly_once(check, fleet, sids, "redis outage")
        check(fleet.r.zcard("wt:sessions") == 200, "no session lost or added (%d)"
              % fleet.r.zcard("wt:sessions"))
        logs = "".join(open(os.path.join(fleet.dir, "worker-%s.log" % w)).read() for w in ("w1", "w2"))
        check("buffering events" in logs and "Redis answers again" in logs,
              "sessions buffered events during the outage and flushed them after")
    except Exception as e:
        check(False, "redis outage: unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()


def main():
    check = Check()
    broker_restart(check)
    redis_outage(check)
    check.done()


if __name__ == "__main__":
    main()
