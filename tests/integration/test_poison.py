# ctest-timeout: 180
"""A poison session - its command kills the worker running it, every time -
is dead-lettered after --max-attempts (3) runs: it ends with outcome error,
one session_completed, and a record in wt:deadletter with the reason, while
the other sessions complete. Workers have one slot each here, so only the
poison shares a worker with its crash (test_poison_neighbours.py has
healthy sessions on the crashing worker). A supervisor
loop restarts dead workers, as systemd would."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, Check, Fleet  # noqa: E402

SCRIPT = os.path.join(SCRIPTS, "goal-command.json")
# The poison is a tool command that kills its worker (`kill -9 $PPID`). The
# tool sandbox (own pid namespace) makes exactly that impossible, so these
# workers run with --sandbox off to stand for a session that crashes its
# worker some other way (a worker bug, the OOM killer).
UNSANDBOXED = ("--sandbox", "off")


def main():
    check = Check()
    fleet = Fleet("poison")
    try:
        fleet.start_redis()
        fleet.start_broker("--max-attempts", "3")
        names = ("p1", "p2", "p3")
        for n in names:
            fleet.start_worker(n, 1, SCRIPT, *UNSANDBOXED)
        fleet.wait_workers(3)
        c = fleet.client()
        poison = c.spawn("two-step", "kill -9 $PPID")
        fine = [c.spawn("two-step", "echo fine %d" % i) for i in range(20)]
        c.close()
        want = set(fine + [poison])
        done, last, restarts = set(), "0", 0
        deadline = time.monotonic() + 120
        while done != want and time.monotonic() < deadline:
            for n in names:  # the supervisor
                if fleet.procs["worker-" + n].poll() is not None:
                    restarts += 1
                    fleet.start_worker(n, 1, SCRIPT, *UNSANDBOXED)
            for _, entries in fleet.r.xread({"wt:events": last}, block=200) or []:
                for eid, f in entries:
                    last = eid
                    if f["type"] == "session_completed" and f["session"] in want:
                        done.add(f["session"])
        check(done == want, "every session ended (%d of %d)" % (len(done), len(want)))
        h = fleet.r.hgetall("wt:session:%s" % poison)
        check(h["outcome"] == "error" and "gave up after 3 attempts" in h["error"],
              "poison session ended with error after 3 attempts (%s)" % h.get("error"))
        types = [t for _, t, _, _ in fleet.events(poison)]
        check(types.count("session_completed") == 1, "exactly one session_completed")
        dl = fleet.r.xrange("wt:deadletter")
        check(len(dl) == 1 and dl[0][1]["session"] == poison and dl[0][1]["attempts"] == "3",
              "one dead letter with the reason: %s" % (dl[0][1] if dl else None))
        check("\nwt_deadletters_total 1\n" in fleet.metrics(),
              "the broker counted the dead letter (wt_deadletters_total 1)")
        check(restarts >= 3, "the poison killed a worker on each attempt (%d restarts)" % restarts)
        ok = sum(fleet.r.hget("wt:session:%s" % s, "outcome") == "success" for s in fine)
        check(ok == 20, "the 20 other sessions succeeded (%d)" % ok)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
