# ctest-timeout: 240
"""Worker failures lose nothing (DESIGN section 10):
- kill -9 of a worker in the middle of a 5-step session: another worker
  resumes it from the next step (one session_resumed), earlier steps are not
  re-run, exactly one session_completed;
- SIGSTOP of a worker for 10 s: its session is reassigned; when it wakes,
  its writes are refused (stale lease) and it drops the session;
- SIGTERM drains a worker: the session stops at a step boundary, is handed
  back and finished elsewhere; the worker exits 0."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import REPO, SCRIPTS, Check, Fleet  # noqa: E402

WF = os.path.join(REPO, "tests", "workflows")
SCRIPT = os.path.join(SCRIPTS, "five-step-slow.json")


def wait_steps(fleet, sid, n, timeout_s=30):
    """Blocks (XREAD) until sid has n step_advanced events; returns the holder."""
    key = "wt:session:%s:events" % sid
    last, seen = "0", 0
    deadline = time.monotonic() + timeout_s
    while seen < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("session %s reached %d of %d steps" % (sid, seen, n))
        for _, entries in fleet.r.xread({key: last}, block=int(min(left, 1) * 1000)) or []:
            for eid, f in entries:
                last = eid
                seen += f["type"] == "step_advanced"
    return fleet.r.hget("wt:session:%s" % sid, "worker")


def verify(check, fleet, sid, label, resumed=1):
    evs = fleet.events(sid)
    types = [t for _, t, _, _ in evs]
    steps = [d["step"] for _, t, d, _ in evs if t == "step_advanced"]
    h = fleet.r.hgetall("wt:session:%s" % sid)
    check(h["outcome"] == "success" and types.count("session_completed") == 1
          and types[-1] == "session_completed", "%s: completed exactly once (%s)" % (label, h.get("error")))
    check(steps == ["s1", "s2", "s3", "s4", "s5"], "%s: each step ran once: %s" % (label, steps))
    check(types.count("session_resumed") == resumed, "%s: %d session_resumed" % (label, resumed))
    return evs, h


def main():
    check = Check()
    fleet = Fleet("recovery")
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("a", 2, SCRIPT, "--workflows", WF)
        fleet.wait_workers(1)
        c = fleet.client()

        # kill -9 mid-session
        sid = c.spawn("five-step", "crash test")
        wait_steps(fleet, sid, 2)
        fleet.start_worker("b", 2, SCRIPT, "--workflows", WF)
        t_kill = time.time()
        fleet.kill("worker-a", signal.SIGKILL)
        fleet.wait_completed([sid], 60)
        evs, h = verify(check, fleet, sid, "kill -9")
        res = [(e, d) for e, t, d, _ in evs if t == "session_resumed"][0]
        check(res[1]["from_step"] == "s3" and h["worker"] == "b" and h["attempt"] == "2",
              "resumed at s3 on worker b, attempt 2 (%s)" % res[1])
        detect = int(res[0].split("-")[0]) / 1000.0 - t_kill
        check(detect < 6, "resumed %.2fs after the kill (liveness 3 x 1 s)" % detect)
        trace = [d["result_summary"] for _, t, d, _ in evs if t == "tool_call_completed"
                 and d["tool"] == "Bash"]
        check(len(trace) == 5, "the Bash side effect of each step ran once (%d)" % len(trace))

        # SIGSTOP: the paused worker's lease is taken over; its late writes are refused
        fleet.start_worker("c", 2, SCRIPT, "--workflows", WF)
        fleet.wait_workers(2, exact=True)
        sid = c.spawn("five-step", "pause test")
        holder = wait_steps(fleet, sid, 1)
        fleet.kill("worker-" + holder, signal.SIGSTOP)
        t_stop = time.monotonic()
        fleet.wait_completed([sid], 60)
        remaining = 10 - (time.monotonic() - t_stop)
        if remaining > 0:
            time.sleep(remaining)  # the fault itself: the worker stays frozen 10 s
        fleet.kill("worker-" + holder, signal.SIGCONT)
        log = os.path.join(fleet.dir, "worker-%s.log" % holder)
        fleet.wait_for(lambda: "lease lost" in open(log).read(), 20, "stale worker to notice")
        evs, h = verify(check, fleet, sid, "SIGSTOP")
        check(h["worker"] != holder, "session finished on the other worker")
        check("lease lost" in open(log).read() and sid in open(log).read(),
              "the paused worker logged that it dropped the session")
        check(all(ep == h["epoch"] for _, t, _, ep in evs[-3:]), "last events carry the new epoch")

        # SIGTERM drain: hand back at a step boundary, finished elsewhere, exit 0
        fleet.wait_workers(2, exact=True, timeout_s=20)
        sid = c.spawn("five-step", "drain test")
        holder = wait_steps(fleet, sid, 1)
        fleet.kill("worker-" + holder, signal.SIGTERM)
        rc = fleet.procs["worker-" + holder].wait(timeout=40)
        fleet.wait_completed([sid], 60)
        check(rc == 0, "drained worker exited 0")
        evs, h = verify(check, fleet, sid, "drain")
        check(h["worker"] != holder, "the handed-back session finished on another worker")
        c.close()
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
