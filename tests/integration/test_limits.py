# ctest-timeout: 180
"""Limits and stuck detection through real processes: max_turns, the
wall-clock timeout (with timeout_imminent first), repeated_tool_call and
no_progress under the abort policy, notify_only letting a session finish,
and cancel of a running session. Each ends in exactly one session_completed
with the outcome DESIGN.md names."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, Check, Fleet  # noqa: E402


def phase(fleet, name, script, *extra):
    fleet.start_worker(name, 4, os.path.join(SCRIPTS, script), *extra)
    fleet.wait_workers(1, exact=True)


def end_phase(fleet, name):
    fleet.kill("worker-" + name, 15)
    fleet.procs["worker-" + name].wait(timeout=30)
    fleet.wait_workers(0, exact=True)


def completed(fleet, sid):
    evs = fleet.events(sid)
    done = [d for _, t, d, _ in evs if t == "session_completed"]
    stuck = [d["reason"] for _, t, d, _ in evs if t == "agent_stuck"]
    return done, stuck, evs


def main():
    check = Check()
    fleet = Fleet("limits")
    try:
        fleet.start_redis()
        fleet.start_broker()
        c = fleet.client()

        phase(fleet, "idle", "idle.json")
        capped = c.spawn("two-step", "cap", max_turns=3)
        idle = c.spawn("two-step", "idle")
        fleet.wait_completed([capped, idle], 60)
        done, _, evs = completed(fleet, capped)
        check(len(done) == 1 and done[0]["outcome"] == "error" and "max_turns 3" in done[0]["detail"],
              "max_turns -> error (%s)" % done)
        check(sum(1 for _, t, _, _ in evs if t == "llm_turn_completed") == 3, "exactly 3 turns ran")
        done, stuck, _ = completed(fleet, idle)
        check(len(done) == 1 and done[0]["outcome"] == "stuck" and "no_progress" in stuck,
              "10 idle turns -> agent_stuck no_progress -> stuck (%s %s)" % (done, stuck))
        end_phase(fleet, "idle")

        phase(fleet, "repeat", "repeat.json")
        rep = c.spawn("two-step", "repeat")
        fleet.wait_completed([rep], 60)
        done, stuck, evs = completed(fleet, rep)
        check(len(done) == 1 and done[0]["outcome"] == "stuck" and stuck == ["repeated_tool_call"],
              "3 identical calls -> repeated_tool_call -> stuck (%s %s)" % (done, stuck))
        check(sum(1 for _, t, _, _ in evs if t == "tool_call_completed") == 3, "stopped at the third")
        end_phase(fleet, "repeat")

        # four identical complete_step calls that each advance a step are
        # progress, not a repeat: the session must succeed, with no agent_stuck
        phase(fleet, "progress", "same-complete.json")
        prog = c.spawn("coding-task", "same answer each step")
        fleet.wait_completed([prog], 60)
        done, stuck, evs = completed(fleet, prog)
        check(len(done) == 1 and done[0]["outcome"] == "success" and stuck == [],
              "identical calls that advance steps -> success, no agent_stuck (%s %s)" % (done, stuck))
        check(sum(1 for _, t, _, _ in evs if t == "step_advanced") == 4, "all four steps advanced")
        end_phase(fleet, "progress")

        phase(fleet, "notify", "repeat-then-finish.json", "--stuck-policy", "notify_only")
        nt = c.spawn("two-step", "notify")
        fleet.wait_completed([nt], 60)
        done, stuck, _ = completed(fleet, nt)
        check(len(done) == 1 and done[0]["outcome"] == "success" and stuck == ["repeated_tool_call"],
              "notify_only: agent_stuck recorded, session still succeeds (%s %s)" % (done, stuck))
        h = fleet.r.xrange("wt:events")
        check(any(f["type"] == "agent_stuck" and f["session"] == nt for _, f in h),
              "agent_stuck is on the fleet stream")
        end_phase(fleet, "notify")

        phase(fleet, "slow", "slow.json", "--stuck-policy", "notify_only")
        slow = c.spawn("two-step", "slow", timeout_ms=3000)
        fleet.wait_completed([slow], 60)
        done, stuck, _ = completed(fleet, slow)
        check(len(done) == 1 and done[0]["outcome"] == "timeout", "wall clock -> timeout (%s)" % done)
        check("timeout_imminent" in stuck, "timeout_imminent reported before the end")
        running = c.spawn("two-step", "to cancel")
        deadline = time.monotonic() + 10
        while fleet.r.hget("wt:session:%s" % running, "status") != "running":
            if time.monotonic() > deadline:
                raise TimeoutError("session never started")
            time.sleep(0.02)
        t0 = time.monotonic()
        r = fleet.run_cli("cancel", running)
        fleet.wait_completed([running], 10)
        took = time.monotonic() - t0
        done, _, _ = completed(fleet, running)
        check(r.returncode == 0 and len(done) == 1 and done[0]["outcome"] == "cancelled",
              "cancel of a running session -> cancelled (%s)" % done)
        check(took < 1.5, "cancelled within a second or so (%.2fs)" % took)
        end_phase(fleet, "slow")
        queued = c.spawn("two-step", "queued then cancelled")  # no worker left: stays queued
        check(fleet.r.hget("wt:session:%s" % queued, "status") == "queued", "session is queued")
        r = fleet.run_cli("cancel", queued)
        done, _, _ = completed(fleet, queued)
        check(r.returncode == 0 and fleet.r.hget("wt:session:%s" % queued, "status") == "cancelled"
              and len(done) == 1, "cancel of a queued session (%s)" % r.stderr.strip())
        r = fleet.run_cli("cancel", queued)
        check(r.returncode == 1, "cancelling an ended session fails cleanly")
        # stall: the model never answers within --stall-timeout; after the
        # provider's retries the session ends as timeout
        import tempfile
        from test_providers import start_fake
        fake, base = start_fake(tempfile.mkdtemp(prefix="wt-stall-"), "--default", '{"stall_s": 3}')
        try:
            fleet.start_worker("stall", 1, None, "--provider", "anthropic", "--base-url", base,
                               "--stall-timeout", "1s", env={"ANTHROPIC_API_KEY": "sk-x"})
            fleet.wait_workers(1, exact=True)
            st = c.spawn("two-step", "stalled model")
            fleet.wait_completed([st], 90)
            done, _, _ = completed(fleet, st)
            check(len(done) == 1 and done[0]["outcome"] == "timeout"
                  and "stall" in done[0]["detail"],
                  "a model that never answers -> timeout after retries (%s)" % done)
        finally:
            fake.kill()
        c.close()
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
