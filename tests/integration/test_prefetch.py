# ctest-timeout: 180
"""Worker prefetch (PROTOCOL.md 6.3): a 1-slot worker busy with a session
holds one more assigned session, not started, and the guarantees hold for it:
- the held session is assigned to the worker (lease taken) but writes nothing
  until a slot frees;
- CANCEL of a held session ends it at once (cancelled, exactly one
  session_completed), while the session in the slot goes on;
- kill -9 of the worker before it starts the held session: the session is
  resumed on another worker, started exactly once, completed exactly once;
- SIGTERM (drain) hands a held session back at once: it starts elsewhere;
- --prefetch 0 (the default) holds nothing: a second session stays queued;
- with 1 slot and --prefetch 2, no two sessions ever run at once;
- when the slot's session ends, its slot thread starts the held session
  itself (counted on the worker's /metrics as wt_worker_prefetch_taken_total),
  after the first one's session_completed, once."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, Check, Fleet, free_port  # noqa: E402
from wtfleet import http_metric as metric  # noqa: E402

LONG = os.path.join(SCRIPTS, "two-step-60s.json")  # first LLM reply after 60 s
FAST = os.path.join(SCRIPTS, "two-step.json")
SLOW = os.path.join(SCRIPTS, "two-step-slow.json")


def types(fleet, sid):
    return [t for _, t, _, _ in fleet.events(sid)]


def wait_llm_turn(fleet, sid, worker):
    """Until sid runs on worker and waits on its (slow) first LLM reply."""
    fleet.wait_for(lambda: fleet.r.hget("wt:session:%s" % sid, "worker") == worker
                   and "llm_turn_started" in types(fleet, sid), 30,
                   "%s waiting on its LLM on %s" % (sid, worker))


def wait_held(fleet, sid, worker):
    """Until the broker gave sid to worker (its lease is taken)."""
    fleet.wait_for(lambda: fleet.r.hget("wt:running", sid) == worker, 30,
                   "%s assigned to %s" % (sid, worker))


def cancel(c, sid):
    c.send("CANCEL", {"session": sid, "req": 77})
    cmd, body = c.recv(10)
    if cmd != "CANCELLED":
        raise RuntimeError("cancel refused: %s %s" % (cmd, body))


def completed_once(check, fleet, sid, outcome, label):
    ts = types(fleet, sid)
    h = fleet.r.hgetall("wt:session:%s" % sid)
    check(h.get("outcome") == outcome and ts.count("session_completed") == 1
          and ts[-1] == "session_completed",
          "%s: %s, exactly one session_completed (%s, %s)" % (label, outcome, h.get("outcome"),
                                                              ts))
    return ts, h


def main():
    check = Check()
    fleet = Fleet("prefetch")
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("a", 1, LONG, "--prefetch", "1")
        fleet.wait_workers(1)
        c = fleet.client()

        s1 = c.spawn("two-step", "in the slot")
        wait_llm_turn(fleet, s1, "a")
        s2 = c.spawn("two-step", "held then cancelled")
        wait_held(fleet, s2, "a")
        check(types(fleet, s2) == ["session_queued"],
              "held session wrote nothing on the worker: %s" % types(fleet, s2))

        # CANCEL of the held session: ends now, the slot's session goes on
        cancel(c, s2)
        fleet.wait_completed([s2], 30)
        completed_once(check, fleet, s2, "cancelled", "cancelled held session")
        check("session_completed" not in types(fleet, s1),
              "the session in the slot still runs after the held one was cancelled")

        # kill -9 before the held session started: resumed elsewhere, once
        s3 = c.spawn("two-step", "held then its worker dies")
        wait_held(fleet, s3, "a")
        check(types(fleet, s3) == ["session_queued"],
              "second held session wrote nothing: %s" % types(fleet, s3))
        fleet.start_worker("b", 1, FAST, "--prefetch", "1")
        fleet.wait_workers(2, exact=True)
        fleet.kill("worker-a", signal.SIGKILL)
        fleet.wait_completed([s1, s3], 60)
        for sid, label in ((s1, "slot session after kill"), (s3, "held session after kill")):
            ts, h = completed_once(check, fleet, sid, "success", label)
            check(h.get("worker") == "b", "%s: finished on worker b (%s)" % (label, h.get("worker")))
        ts3 = types(fleet, s3)
        check(ts3.count("session_started") == 1 and ts3.count("step_advanced") == 2,
              "held session started once and ran each step once: %s" % ts3)

        # SIGTERM hands a held session back at once; it runs on b
        fleet.start_worker("d", 1, LONG, "--drain-timeout", "1s", "--prefetch", "1")
        fleet.kill("worker-b", signal.SIGKILL)  # so that d gets the next two
        fleet.wait_workers(1, exact=True)
        s4 = c.spawn("two-step", "in d's slot")
        wait_llm_turn(fleet, s4, "d")
        s5 = c.spawn("two-step", "held by a draining worker")
        wait_held(fleet, s5, "d")
        fleet.start_worker("b2", 1, FAST)
        fleet.wait_workers(2, exact=True)
        fleet.kill("worker-d", signal.SIGTERM)
        fleet.wait_completed([s4, s5], 60)
        ts, h = completed_once(check, fleet, s5, "success", "held session of a drained worker")
        check(h.get("worker") == "b2" and ts.count("session_started") == 1,
              "handed back unstarted, started once on b2 (%s, %s)" % (h.get("worker"), ts))
        completed_once(check, fleet, s4, "success", "slot session of a drained worker")

        # --prefetch 0 (the default): nothing beyond the slot is held
        fleet.kill("worker-b2", signal.SIGKILL)
        fleet.start_worker("e", 1, LONG)
        fleet.wait_workers(1, exact=True)
        s6 = c.spawn("two-step", "in e's slot")
        wait_llm_turn(fleet, s6, "e")
        s7 = c.spawn("two-step", "stays queued")
        fleet.wait_for(lambda: fleet.r.zscore("wt:queue", s7) is not None, 10, "s7 queued")
        c.send("STATS", {"req": 5})
        st = c.recv(10)
        check(fleet.r.hget("wt:running", s7) is None and st[1].get("queued") == 1,
              "--prefetch 0: the second session stays queued (%s)" % (st,))
        cancel(c, s6)
        cancel(c, s7)
        fleet.wait_completed([s6, s7], 30)  # else s6 is resumed on the next worker

        # held sessions never run beside the slot's: 1 slot, --prefetch 2
        fleet.start_worker("f", 1, SLOW, "--prefetch", "2")
        fleet.kill("worker-e", signal.SIGKILL)
        fleet.wait_workers(1, exact=True)
        sids = c.spawn_many(6, "two-step", goal_fmt="one at a time %d")
        fleet.wait_completed(sids, 60)
        spans = []
        for sid in sids:
            evs = fleet.events(sid)
            start = [e for e, t, _, _ in evs if t == "session_started"]
            end = [e for e, t, _, _ in evs if t == "session_completed"]
            check(len(start) == 1 and len(end) == 1, "%s started and completed once" % sid)
            spans.append((int(start[0].split("-")[0]), int(end[0].split("-")[0])))
        spans.sort()
        check(not any(spans[i + 1][0] < spans[i][1] for i in range(len(spans) - 1)),
              "1 slot + prefetch 2: no two sessions ran at once")

        # the slot thread takes the held session itself when its session ends
        port = free_port()
        fleet.start_worker("g", 1, LONG, "--prefetch", "1", "--http", "127.0.0.1:%d" % port)
        fleet.kill("worker-f", signal.SIGKILL)
        fleet.wait_workers(1, exact=True)
        taken = "wt_worker_prefetch_taken_total"
        s8 = c.spawn("two-step", "in g's slot")
        wait_llm_turn(fleet, s8, "g")
        s9 = c.spawn("two-step", "held, then taken by the slot thread")
        wait_held(fleet, s9, "g")
        check(types(fleet, s9) == ["session_queued"] and metric(port, taken) == 0,
              "held, not started, nothing taken yet: %s, %s" % (types(fleet, s9),
                                                                metric(port, taken)))
        cancel(c, s8)  # ends the slot's session: its thread goes on with s9
        wait_llm_turn(fleet, s9, "g")
        completed_once(check, fleet, s8, "cancelled", "slot session before the take")
        check(metric(port, taken) == 1,
              "the slot thread started the held session: %s = %s" % (taken, metric(port, taken)))
        ts9 = types(fleet, s9)
        end8 = [e for e, t, _, _ in fleet.events(s8) if t == "session_completed"][0]
        start9 = [e for e, t, _, _ in fleet.events(s9) if t == "session_started"]
        check(len(start9) == 1 and int(start9[0].split("-")[0]) >= int(end8.split("-")[0]),
              "taken session started once, after the first one's end (%s, %s)" % (start9, end8))
        cancel(c, s9)
        fleet.wait_completed([s9], 30)
        completed_once(check, fleet, s9, "cancelled", "taken session")
        check(ts9.count("session_started") == 1, "taken session started once: %s" % ts9)
        c.close()
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
