# ctest-timeout: 180
"""Healthy sessions sharing a worker with a poison session survive its
crashes. One worker with 4 slots runs 3 neighbours (each waits 8 s on its
first LLM turn, so it is mid-turn, not in a tool, whenever the worker dies)
and a poison whose Bash tool kills the worker, on every run. A supervisor
loop restarts the worker, as systemd would. Only the session that was
running a tool when the worker died is charged an attempt: the poison is
dead-lettered after 3 runs, the neighbours were lost with the worker on
every one of those crashes (their Redis 'spared' count) and still complete
with outcome success, and are not dead-lettered."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, Check, Fleet  # noqa: E402

SCRIPT = os.path.join(SCRIPTS, "poison-neighbours.json")
# The poison's tool command kills its worker (`kill -9 $PPID`), which the
# tool sandbox (own pid namespace) prevents: --sandbox off here stands for a
# session that crashes its worker some other way (a worker bug, the OOM killer).
UNSANDBOXED = ("--sandbox", "off")


def main():
    check = Check()
    fleet = Fleet("poisonnb")
    try:
        fleet.start_redis()
        fleet.start_broker("--max-attempts", "3")
        fleet.start_worker("pn", 4, SCRIPT, *UNSANDBOXED)
        fleet.wait_workers(1)
        c = fleet.client()
        fine = [c.spawn("two-step", "neighbour %d" % i) for i in range(3)]
        # The neighbours run first, so the poison lands next to them.
        fleet.wait_for(lambda: all(fleet.r.hget("wt:session:%s" % s, "status") == "running"
                                   for s in fine), 30, "neighbours running")
        poison = c.spawn("two-step", "POISON")
        c.close()
        want = set(fine + [poison])
        done, last, restarts = set(), "0", 0
        deadline = time.monotonic() + 150
        while done != want and time.monotonic() < deadline:
            if fleet.procs["worker-pn"].poll() is not None:  # the supervisor
                restarts += 1
                fleet.start_worker("pn", 4, SCRIPT, *UNSANDBOXED)
            for _, entries in fleet.r.xread({"wt:events": last}, block=200) or []:
                for eid, f in entries:
                    last = eid
                    if f["type"] == "session_completed" and f["session"] in want:
                        done.add(f["session"])
        check(done == want, "every session ended (%d of %d)" % (len(done), len(want)))
        h = fleet.r.hgetall("wt:session:%s" % poison)
        check(h.get("outcome") == "error" and "gave up after 3 attempts" in h.get("error", ""),
              "poison session ended with error after 3 attempts (%s)" % h.get("error"))
        check(restarts >= 3, "the poison killed the worker on each run (%d restarts)" % restarts)
        dl = fleet.r.xrange("wt:deadletter")
        check([e[1]["session"] for e in dl] == [poison],
              "only the poison is dead-lettered (%s)" % [e[1] for e in dl])
        for s in fine:
            n = fleet.r.hgetall("wt:session:%s" % s)
            print("neighbour %s: attempt %s spared %s epoch %s" %
                  (s, n.get("attempt"), n.get("spared"), n.get("epoch")))
            check(n.get("outcome") == "success", "neighbour %s succeeded (%s: %s)"
                  % (s, n.get("outcome"), n.get("error")))
            check(int(n.get("spared") or 0) >= 3,
                  "neighbour %s was on the worker for the poison's 3 crashes, uncharged "
                  "(spared %s)" % (s, n.get("spared")))
            types = [t for _, t, _, _ in fleet.events(s)]
            check(types.count("session_completed") == 1, "neighbour %s completed once" % s)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
