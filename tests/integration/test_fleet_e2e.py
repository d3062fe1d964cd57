# ctest-timeout: 300
"""200 sessions of a 2-step workflow through a real broker, 2 real workers and
a real redis-server: every session completes exactly once with the expected
output, wt:sessions holds all of them, and both workers did some of the work."""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, Check, Fleet  # noqa: E402

N = 200


def main():
    check = Check()
    fleet = Fleet("e2e")
    try:
        fleet.start_redis()
        fleet.start_broker()
        script = os.path.join(SCRIPTS, "two-step.json")
        fleet.start_worker("w1", 4, script)
        fleet.start_worker("w2", 4, script)
        fleet.wait_workers(2)

        c = fleet.client()
        sids = c.spawn_many(N, "two-step", goal_fmt="task %d")
        c.close()
        check(len(set(sids)) == N, "%d distinct session ids" % N)
        fleet.wait_completed(sids, timeout_s=180)

        completed = collections.Counter()
        by_worker = collections.Counter()
        bad_output = []
        order_ok = True
        for i, sid in enumerate(sids):
            evs = fleet.events(sid)
            types = [t for _, t, _, _ in evs]
            completed[sid] = types.count("session_completed")
            if types[-1] != "session_completed" or types[0] != "session_queued":
                order_ok = False
            done = [d for _, t, d, _ in evs if t == "session_completed"][0]
            ctx = (done.get("output") or {}).get("context", {})
            if done.get("outcome") != "success" or ctx.get("answer") != "answer for task %d" % i:
                bad_output.append((sid, done))
            h = fleet.r.hgetall("wt:session:%s" % sid)
            by_worker[h.get("worker")] += 1
            if h.get("status") != "completed" or h.get("outcome") != "success":
                bad_output.append((sid, h.get("status"), h.get("outcome")))
            out = json.loads(h.get("output") or "{}")
            if out.get("notes") != "finished task %d" % i:
                bad_output.append((sid, "notes", out.get("notes")))
        check(all(v == 1 for v in completed.values()) and len(completed) == N,
              "every session has exactly one session_completed")
        check(order_ok, "each stream starts with session_queued and ends with session_completed")
        check(not bad_output, "every session succeeded with its expected output %s"
              % (bad_output[:3],))
        check(fleet.r.zcard("wt:sessions") == N, "wt:sessions holds all %d" % N)
        check(by_worker["w1"] > 0 and by_worker["w2"] > 0,
              "both workers ran sessions %s" % dict(by_worker))

        # Event schema of DESIGN section 5 on one session.
        evs = fleet.events(sids[0])
        types = [t for _, t, _, _ in evs]
        for t in ["session_queued", "session_started", "llm_turn_started", "llm_turn_completed",
                  "tool_call_started", "tool_call_completed", "step_advanced", "session_completed"]:
            check(t in types, "event %s present" % t)
        d = {t: d for _, t, d, _ in evs}
        check({"worker", "attempt"} <= set(d["session_started"]), "session_started fields")
        check({"stop_reason", "input_tokens", "output_tokens", "tools"}
              <= set(d["llm_turn_completed"]), "llm_turn_completed fields")
        check({"tool", "duration_ms", "result_summary"} <= set(d["tool_call_completed"]),
              "tool_call_completed fields")
        check({"step", "notes", "context"} <= set(d["step_advanced"]), "step_advanced fields")
        check({"outcome", "output", "detail", "duration_ms"} <= set(d["session_completed"]),
              "session_completed fields")
        h = fleet.r.hgetall("wt:session:%s" % sids[0])
        check(int(h["turns"]) == 2 and int(h["input_tokens"]) > 0, "hash counts turns and tokens")
        for w in ("w1", "w2"):
            wh = fleet.r.hgetall("wt:worker:%s" % w)
            check(wh.get("slots") == "4" and "last_seen_ms" in wh and fleet.r.ttl("wt:worker:%s" % w) > 0,
                  "wt:worker:%s maintained with TTL" % w)
    except Exception as e:  # report, then fail
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
