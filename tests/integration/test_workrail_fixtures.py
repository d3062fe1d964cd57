# ctest-timeout: 180
"""WorkRail's own workflow files (MIT) run to completion
through a real broker and worker under scripted replies: a one-step workflow
with seven required outputs, a two-step one, a forEach loop whose body is a
step reference, and a while loop driven by loop-control artifacts with an
assessment that demands a follow-up; document-creation-workflow with
lower-, upper-case and padded answers (WorkRail's lenient equals) and its
step_skipped events; then, with the worker's default
--min-notes (50, WorkRail's daemon rule), 49-character notes are refused
with WorkRail's message and 50 accepted. The files come from
../shared/fixtures when present, else from the copies in tests/fixtures."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, WORKRAIL, Check, Fleet  # noqa: E402

FIXTURES = os.path.join(WORKRAIL, "workflows")
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
    print("WorkRail fixtures from %s" % FIXTURES)
    fleet = Fleet("fixtures")
    try:
        # validate names the file workers run for a duplicated id, and why
        legacy = os.path.join(FIXTURES, "coding-task-workflow-agentic.json")
        r = fleet.run_cli("validate", legacy, os.path.join(FIXTURES, "workflow-for-workflows.v2.json"))
        check(r.returncode == 0 and "coding-task-workflow-agentic.json: note: not the file run for "
              "'coding-task-workflow-agentic' from this folder: " in r.stdout and
              "coding-task-workflow-agentic.v2.json is (chosen over" in r.stdout and
              "WorkRail prefers the v2 variant" in r.stdout and
              r.stdout.count("note:") == 1, "validate reports the file chosen for an id: %s"
              % r.stdout)
        r = fleet.run_cli("workflows", "--json", "--dir", FIXTURES)
        rows = {w["id"]: w for w in json.loads(r.stdout)}
        check(rows["coding-task-workflow-agentic"]["file"].endswith("coding-task-workflow-agentic.v2.json")
              and rows["workflow-for-workflows"]["file"].endswith("workflow-for-workflows.v2.json")
              and "not chosen" in r.stderr,
              "workflows --dir picks the .v2. files and says which files lost")
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
                check(any("Follow-up required before this step can proceed" in d["error"] for d in failed),
                      "low assessment kept the step open with the follow-up guidance")
            fleet.kill("worker-" + name, 15)
            fleet.procs["worker-" + name].wait(timeout=30)
            fleet.wait_workers(0, exact=True)
        # WorkRail's lenient equals: lower/upper-case answers take WorkRail's path, and
        # each step passed over is a step_skipped event with the values its condition saw
        def walk_reply(ctx=None):
            inp = {"notes": "Did this step of the document workflow and recorded it."}
            if ctx:
                inp["context"] = ctx
            return {"tool_calls": [{"name": "complete_step", "input": inp}]}
        script = os.path.join(fleet.dir, "doc-case.json")
        answers = {"lower": "standard", "upper": "STANDARD", "simple": " SIMPLE "}
        with open(script, "w") as f:
            json.dump({"scripts": [{"when": {"goal_contains": k},
                                    "replies": [walk_reply({"docComplexity": v})] +
                                    [walk_reply()] * 7} for k, v in answers.items()]}, f)
        fleet.start_worker("doc", 3, script, "--workflows", FIXTURES)
        fleet.wait_workers(1, exact=True)
        sids = {k: c.spawn("document-creation-workflow", "answer %s" % k) for k in answers}
        fleet.wait_completed(list(sids.values()), 60)
        standard = ["phase-0-triage", "phase-1-analyze", "phase-2-requirements", "phase-3-plan",
                    "phase-4-create", "phase-5-quality-review", "phase-6-finalize"]
        want = {"lower": standard, "upper": standard,
                "simple": ["phase-0-triage", "phase-4-create", "phase-6-finalize",
                           "phase-simple-create"]}
        for k, sid in sids.items():
            ev = fleet.events(sid)
            got = [d["step"] for _, t, d, _ in ev if t == "step_advanced"]
            check(got == want[k], "docComplexity %r walks %s" % (answers[k], got))
            sk = [d for _, t, d, _ in ev if t == "step_skipped"]
            check(sk and all(d["values"] == {"docComplexity": answers[k]} and d["condition"]
                             for d in sk),
                  "docComplexity %r: %d step_skipped events with the condition and the value "
                  "seen (%s)" % (answers[k], len(sk), sk[:1]))
        fleet.kill("worker-doc", 15)
        fleet.procs["worker-doc"].wait(timeout=30)
        fleet.wait_workers(0, exact=True)
        # WorkRail's daemon: notes of at least 50 characters, whatever the step
        short, ok = "x" * 49, "y" * 50
        script = os.path.join(fleet.dir, "notes50.json")
        with open(script, "w") as f:
            json.dump([{"tool_calls": [{"name": "complete_step", "input": {"notes": n}}]}
                       for n in (short, ok)], f)
        fleet.start_worker("notes", 1, script, "--workflows", FIXTURES, min_notes=None)
        fleet.wait_workers(1, exact=True)
        sid = c.spawn("workflow-diagnose-environment", "notes length")
        fleet.wait_for(lambda: any(t == "step_advanced" for _, t, _, _ in fleet.events(sid)), 60,
                       "first step advanced")
        failed = [d["error"] for _, t, d, _ in fleet.events(sid) if t == "tool_call_failed"]
        check(len(failed) == 1 and "notes is required and must be at least 50 characters" in
              failed[0] and "Current length: 49 characters" in failed[0],
              "49-character notes refused with WorkRail's message: %s" % failed)
        adv = [d for _, t, d, _ in fleet.events(sid) if t == "step_advanced"]
        check(adv and adv[0]["notes"] == ok, "50-character notes accepted")
        c.close()
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
