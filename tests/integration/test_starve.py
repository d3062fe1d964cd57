# ctest-timeout: 240
"""A worker starved of CPU settles. One worker with 100 slots runs 100
sessions (two 3 s LLM turns each) and is frozen with SIGSTOP three times,
each time until the broker has declared it dead (liveness 3 x 1 s) and
requeued its sessions, then thawed with SIGCONT. The worker re-registers
once per freeze and the broker gives it back the sessions it still runs
under their old lease, so: every session completes exactly once with
outcome success, none is started twice or resumed, every event carries
lease epoch 1, no session is charged an attempt, and the broker counts
exactly one re-registration per freeze (wt_worker_reregistrations_total)
with no storm of READY lines in its log. Prints the time each freeze took
to settle (worker back, sessions reattached)."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, Check, Fleet  # noqa: E402

N = 100
FREEZES = 3
SCRIPT = os.path.join(SCRIPTS, "two-step-3s.json")


def metric(text, name):
    m = re.search(r"^%s (\d+)" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def stats(fleet):
    c = fleet.client()
    try:
        c.send("STATS", {})
        return c.recv(5)[1]
    finally:
        c.close()


def main():
    check = Check()
    fleet = Fleet("starve")
    try:
        fleet.start_redis()
        fleet.r.config_set("maxclients", 2000)
        fleet.start_broker()
        w = fleet.start_worker("st", N, SCRIPT)
        fleet.wait_workers(1)
        c = fleet.client()
        sids = c.spawn_many(N, "two-step", goal_fmt="s%d", window=N)
        c.close()
        fleet.wait_for(lambda: stats(fleet).get("active") == N, 60, "all sessions running")
        settle = []
        for i in range(FREEZES):
            t0 = time.monotonic()
            os.kill(w.pid, signal.SIGSTOP)
            fleet.wait_for(lambda: stats(fleet).get("workers", 0) == 0, 15,
                           "the broker to drop the frozen worker")
            dead_after = time.monotonic() - t0
            os.kill(w.pid, signal.SIGCONT)
            t1 = time.monotonic()
            # Settled: the worker is back and holds every session still open.
            fleet.wait_for(lambda: stats(fleet).get("workers") == 1
                           and stats(fleet).get("queued", 0) == 0, 30, "the worker to settle")
            settle.append(time.monotonic() - t1)
            print("freeze %d: dropped after %.2fs, settled %.2fs after SIGCONT"
                  % (i + 1, dead_after, settle[-1]), flush=True)
            check(dead_after < 6, "freeze %d: worker declared dead in %.2fs" % (i + 1, dead_after))
            time.sleep(0.5)  # let it run a little between freezes (not a synchronisation)
        fleet.wait_completed(sids, 120)
        ok = once = started_once = epoch1 = uncharged = 0
        for sid in sids:
            evs = fleet.events(sid)
            types = [t for _, t, _, _ in evs]
            once += types.count("session_completed") == 1
            started_once += types.count("session_started") == 1 and "session_resumed" not in types
            epoch1 += all(ep in ("0", "1") for _, _, _, ep in evs)
            h = fleet.r.hgetall("wt:session:%s" % sid)
            ok += h.get("outcome") == "success"
            uncharged += h.get("attempt") == "1" and h.get("spared", "0") == "0"
        check(ok == N, "all %d sessions succeeded (%d)" % (N, ok))
        check(once == N, "each completed exactly once (%d)" % once)
        check(started_once == N, "none was started twice or resumed (%d ran once)" % started_once)
        check(epoch1 == N, "every event was written under lease epoch 1 (%d)" % epoch1)
        check(uncharged == N, "no session was charged for the freezes (%d)" % uncharged)
        m = fleet.metrics()
        rereg = metric(m, "wt_worker_reregistrations_total")
        reatt = metric(m, "wt_sessions_reattached_total")
        misses = metric(m, "wt_heartbeat_misses_total")
        print("re-registrations %s, reattached %s, heartbeat misses %s, settle %s"
              % (rereg, reatt, misses, ["%.2f" % s for s in settle]))
        check(misses == FREEZES, "the broker dropped the worker once per freeze (%s)" % misses)
        check(rereg == FREEZES, "one re-registration per freeze (%s)" % rereg)
        with open(os.path.join(fleet.dir, "broker.log"), errors="replace") as f:
            readies = sum(" ready: " in line for line in f)
        check(readies <= 1 + 2 * FREEZES, "no READY storm: %d READY lines in the broker log"
              % readies)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
