# ctest-timeout: 180
"""WorkRail's own workflow files (../shared/fixtures, MIT) run to completion
through a real broker and worker under scripted replies: a one-step workflow
with seven required outputs, a two-step one, a forEach loop whose body is a
step reference, and a while loop driven by loop-control artifacts with an
assessment that demands a follow-up. Skips cleanly when ../shared is absent."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, SHARED, Check, Fleet  # noqa: E402

FIXTURES = os.path.join(SHARED, "fixtures", "workrail-v3.37.1", "workflows")
CASES = [
    ("classify-task-workflow", "fixture-classify.json", ["classify-task"]),
    ("workflow-diagnose-environment", "fixture-diagnose.json",
     ["step-0-probe-capabilities", "step-1-configure-environment"]),
    ("simple-batch-example", "fixture-batch.json",
     ["load-data", "process-single-item", "process-single-item", "process-single-item", "summarize"]),
    ("test-artifact-loop-control", "fixture-artifact-loop.json",
     ["init-loop", "do-work", "decide-continue", "do-work", "decide-continue", "complete"]),
]


def main():
    check = Check()
    if not os.path.isdir(FIXTURES):
        print("skipped: %s not present" % FIXTURES)
        check.done()
    fleet = Fleet("fixtures")
    try:
        fleet.start_redis()
        fleet.start_broker()
        c = fleet.client()
        for i, (wf, script, steps) in enumerate(CASES):
            name = "fx%d" % i
            fleet.start_worker(name, 1, os.path.join(SCRIPTS, script), "--workflows", FIXTURES)
            fleet.wait_workers(1, exact=True)
            sid = c.spawn(wf, "run the %s fixture" % wf)
            fleet.wait_completed([sid], 60)
            h = fleet.r.hgetall("wt:session:%s" % sid)
            done = [t for _, t, _, _ in fleet.events(sid)].count("session_completed")
            got = [d["step"] for _, t, d, _ in fleet.events(sid) if t == "step_advanced"]
            check(h["outcome"] == "success" and done == 1,
                  "%s completes (%s %s)" % (wf, h["outcome"], h.get("error")))
            check(got == steps, "%s walks %s" % (wf, got))
            if wf == "test-artifact-loop-control":
                failed = [d for _, t, d, _ in fleet.events(sid) if t == "tool_call_failed"]
                check(any("follow-up required" in d["error"] for d in failed),
                      "low assessment kept the step open with the follow-up guidance")
            fleet.kill("worker-" + name, 15)
            fleet.procs["worker-" + name].wait(timeout=30)
            fleet.wait_workers(0, exact=True)
        c.close()
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
