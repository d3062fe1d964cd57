# ctest-timeout: 180
"""The watchdog and the project memory on a real fleet (broker, worker with
the anthropic provider against the fake Messages API), over a seeded
history in Redis:
- planted: two failed sessions with no retry, two sessions that wrote the
  same file, two delivered PRs that changed the same file, an issue
  reported by two sessions, two escalations nothing acted on (one named
  only by a tell sent before it was raised), an idea whose
  prerequisites (a session that succeeded, an idea marked done) are all
  done; controls: a failed session that was retried, a session editing
  another file, a PR changing another file, a one-off issue, escalations
  acted on by a later session's goal, `worktrain inbox --ack` and a tell, an idea
  waiting on a failed session, an idea ready but itself done;
- watchdog run 1: its fleet_gaps call reports exactly the eight planted
  gaps, each once, and the inbox gets one `gap` entry per finding; the
  session's output carries the report and the artifact;
- watchdog run 2 over the same history reports none of them again (nothing
  new in the inbox, all eight counted as already reported);
- a memory session's output `memory` becomes wt:memory, cut to 4 KiB;
- `worktrain run --after memory`: once the pipeline run ends, a memory
  session keyed by the run starts and rewrites wt:memory;
- worker --memory-every 3: the third completed two-step session spawns a
  memory session (talk/memory/watchdog sessions are not counted)."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import Check, Fleet  # noqa: E402
from test_tell_inbox import KEY, control, cs, requests, start_fake  # noqa: E402

T0 = int(time.time() * 1000) - 3600 * 1000  # an hour ago: inside the retention window

IDS = {  # valid ULIDs (Crockford base32, 26 chars)
    "F1": "01KAAAAAAAAAAAAAAAAAAAAAF1", "F2": "01KAAAAAAAAAAAAAAAAAAAAAF2",
    "F3": "01KAAAAAAAAAAAAAAAAAAAAAF3", "R3": "01KAAAAAAAAAAAAAAAAAAAAAR3",
    "E1": "01KAAAAAAAAAAAAAAAAAAAAAE1", "E2": "01KAAAAAAAAAAAAAAAAAAAAAE2",
    "E3": "01KAAAAAAAAAAAAAAAAAAAAAE3", "A2": "01KAAAAAAAAAAAAAAAAAAAAAA2",
    "D1": "01KAAAAAAAAAAAAAAAAAAAAAD1", "D2": "01KAAAAAAAAAAAAAAAAAAAAAD2",
    "D3": "01KAAAAAAAAAAAAAAAAAAAAAD3",
}
ESC = {n: "%d-0" % (T0 + 8000 + k) for k, n in enumerate(("X1", "X2", "X3", "X4", "X5"))}
IDEA = {n: "%d-0" % (T0 + 20000 + k) for k, n in enumerate(("I0", "I1", "I2", "I3"))}


def seed(r):
    def session(name, i, workflow, goal, status, outcome):
        sid = IDS[name]
        r.hset("wt:session:" + sid, mapping={
            "id": sid, "workflow": workflow, "goal": goal, "status": status, "outcome": outcome,
            "created_ms": T0 + i * 1000, "ended_ms": T0 + i * 1000 + 500, "run": "", "step": "",
            "output": json.dumps({"context": {}, "notes": "did " + name, "artifacts": []}),
            "error": "llm call failed" if status == "failed" else ""})
        r.zadd("wt:sessions", {sid: T0 + i * 1000})
        return sid

    session("F1", 1, "coding-task", "fix the login page", "failed", "error")
    session("F2", 2, "bug-investigation", "why is checkout slow", "failed", "stuck")
    session("F3", 3, "coding-task", "add a search box", "failed", "timeout")
    session("R3", 4, "coding-task", "add a search box", "completed", "success")  # F3's retry
    for name, i, path in (("E1", 5, "src/app.c"), ("E2", 6, "src/app.c"), ("E3", 7, "src/other.c")):
        sid = session(name, i, "coding-task", "change %s (%s)" % (path, name), "completed",
                      "success")
        r.xadd("wt:session:%s:events" % sid, {"type": "tool_call_started", "data": json.dumps(
            {"tool": "Edit" if name == "E2" else "Write", "args_summary": path})})
    # escalations (explicit ids: before the sessions that act on them)
    for name in ("X1", "X2", "X3", "X4", "X5"):
        r.xadd("wt:inbox", {"kind": "escalation", "run": "RUN" + name, "workflow": "release",
                            "outcome": "escalation", "summary": "approve release " + name},
               id=ESC[name])
    session("A2", 9, "coding-task", "act on run RUNX2: approve it", "completed", "success")
    r.xadd("wt:session:%s:events" % IDS["E3"], {"type": "message_received", "data": json.dumps(
        {"message": "re escalation %s: approved, go ahead" % ESC["X4"]})})
    # a tell naming RUNX5 from before X5 was raised does not act on it: X5 is a gap
    r.xadd("wt:session:%s:events" % IDS["F2"], {"type": "message_received", "data": json.dumps(
        {"message": "keep an eye on RUNX5"})}, id="%d-0" % (T0 + 7000))
    # PRs: D1 and D2 changed lib/db.c (no Write calls), D3 another file
    for name, i, files in (("D1", 10, "lib/db.c\nREADME.md"), ("D2", 11, "lib/db.c"),
                           ("D3", 12, "lib/other.c")):
        sid = session(name, i, "coding-task", "deliver %s" % name, "completed", "success")
        r.hset("wt:session:" + sid, "pr_url", "https://github.example/acme/app/pull/%s" % name)
        r.hset("wt:delivery:" + sid, mapping={"state": "done", "branch": "worktrain/" + sid,
                                             "files": files})
    # ideas: I1 needs R3 (succeeded) and I0 (marked done): ready; I2 needs F1
    # (failed); I3 is ready but itself done
    for name, req in (("I0", ""), ("I1", IDS["R3"] + "," + IDEA["I0"]), ("I2", IDS["F1"]),
                      ("I3", IDEA["I0"])):
        r.xadd("wt:ideas", {"title": "idea " + name, "body": "b", "tags": "", "session": IDS["E3"],
                            "ts_ms": str(T0), "requires": req}, id=IDEA[name])
    r.hset("wt:ideas:done", mapping={IDEA["I0"]: "1 x", IDEA["I3"]: "1 x"})
    for sid, summary in ((IDS["E1"], "Build cache is corrupt"), (IDS["F1"], "build cache  is CORRUPT"),
                         (IDS["E3"], "a one-off warning")):
        r.xadd("wt:inbox", {"kind": "issue", "session": sid, "workflow": "coding-task",
                            "severity": "medium", "issue_kind": "bug", "summary": summary})


def gap_entries(r):
    return [f for _, f in r.xrange("wt:inbox") if f["kind"] == "gap"]


def tool_result(req):
    """The text of the tool_result blocks in a request's last user message."""
    for b in req["body"]["messages"][-1]["content"]:
        if isinstance(b, dict) and b.get("type") == "tool_result":
            return b.get("content")
    return None


def main():
    check = Check()
    fleet = Fleet("watchdog")
    fake, base = start_fake(fleet.dir, "fake")
    try:
        fleet.start_redis()
        seed(fleet.r)
        # X3 is acknowledged by the operator (worktrain inbox --ack); bad refs are refused
        a = fleet.run_cli("inbox", "--ack", ESC["X3"], "--note", "handled by hand")
        check(a.returncode == 0 and "acknowledged %s escalation" % ESC["X3"] in a.stdout,
              "inbox --ack ENTRY (%r %r)" % (a.stdout, a.stderr))
        acks = [f for _, f in fleet.r.xrange("wt:inbox") if f["kind"] == "ack"]
        check(len(acks) == 1 and acks[0]["ref"] == ESC["X3"] and acks[0]["run"] == "RUNX3" and
              acks[0]["summary"] == "handled by hand", "an ack entry naming it (%s)" % acks)
        a = fleet.run_cli("inbox", "--ack", "1-0")
        check(a.returncode == 1 and "no inbox entry" in a.stderr, "--ack of no entry: exit 1")
        a = fleet.run_cli("inbox", "--ack", "wt:inbox")
        check(a.returncode == 2 and "bad --ack" in a.stderr, "--ack of garbage: exit 2")
        fleet.start_broker()
        fleet.start_worker("w1", 2, None, "--provider", "anthropic", "--base-url", base,
                           "--memory-every", "3", env={"ANTHROPIC_API_KEY": KEY})
        fleet.wait_workers(1)
        c = fleet.client()
        report = "# Gap report\n\n- failed sessions without follow-up\n"
        final = cs("wrote the report", {"report": report})
        final["reply"]["tool_calls"][0]["input"]["artifacts"] = [
            {"kind": "gap_report", "format": "markdown", "content": report}]
        # a wrong-type argument first: a tool error the agent reads, then the scan
        script = [{"reply": {"tool_calls": [{"name": "fleet_gaps",
                                             "input": {"since_ms": "last week"}}]}},
                  {"reply": {"tool_calls": [{"name": "fleet_gaps", "input": {}}]}},
                  cs("scanned the fleet"), final]
        planted = {"failed:" + IDS["F1"], "failed:" + IDS["F2"],
                   "issue:build cache is corrupt", "escalation:" + ESC["X1"],
                   "escalation:" + ESC["X5"], "idea:" + IDEA["I1"]}

        # run 1
        control(base, "/_control/script", script)
        w1 = c.spawn("watchdog", "weekly watchdog")
        fleet.wait_completed([w1], 60)
        h = fleet.r.hgetall("wt:session:" + w1)
        check(h.get("outcome") == "success", "watchdog run 1 succeeded (%s)" % h.get("error"))
        reqs = requests(base)
        bad = tool_result(reqs[1]) if len(reqs) > 1 else None
        check(bad and "'since_ms' must be an integer" in str(bad),
              "a wrong-type argument is a tool error the agent reads (%r)" % bad)
        res = json.loads(tool_result(reqs[2]) or "{}") if len(reqs) > 2 else {}
        kinds = sorted(g["kind"] for g in res.get("new", []))
        keys = {g["key"] for g in res.get("new", [])}
        check(kinds == ["escalation_unacted", "escalation_unacted", "failed_no_followup",
                        "failed_no_followup", "idea_ready", "repeated_issue", "same_files",
                        "same_files"], "run 1 reports the eight planted gaps (%s)" % kinds)
        check(planted <= keys and not any(IDS["F3"] in k or "other.c" in k for k in keys),
              "exactly the planted ones: not the retried failure nor the lone edit (%s)" % keys)
        check(not any(ESC[n] in k for n in ("X2", "X3", "X4") for k in keys),
              "escalations acted on (later session, ack, tell) are not gaps (%s)" % keys)
        check(not any(IDEA[n] in k for n in ("I0", "I2", "I3") for k in keys),
              "ideas with a failed prerequisite, none, or done themselves are not gaps")
        files = {g["summary"].split()[3].rstrip(":"): g for g in res.get("new", [])
                 if g["kind"] == "same_files"}
        check(sorted(files) == ["lib/db.c", "src/app.c"] and
              sorted(files["src/app.c"]["sessions"]) == sorted([IDS["E1"], IDS["E2"]]),
              "same_files names src/app.c, E1 and E2 (%s)" % sorted(files))
        db = files.get("lib/db.c", {})
        check(sorted(db.get("sessions", [])) == sorted([IDS["D1"], IDS["D2"]]) and
              "pull/D1" in db.get("summary", "") and "pull/D2" in db.get("summary", ""),
              "same_files names lib/db.c changed by the PRs of D1 and D2 (%s)" % db.get("summary"))
        esc = sorted((g for g in res.get("new", []) if g["kind"] == "escalation_unacted"),
                     key=lambda g: g["key"])
        check(len(esc) == 2 and esc[0].get("run") == "RUNX1" and
              "approve release X1" in esc[0]["summary"] and esc[1].get("run") == "RUNX5",
              "the unacted escalations name their run and text (%s)" % esc)
        idea = [g for g in res.get("new", []) if g["kind"] == "idea_ready"]
        check(len(idea) == 1 and idea[0].get("idea") == IDEA["I1"] and
              idea[0]["sessions"] == [IDS["E3"]],
              "the ready idea names the session that recorded it (%s)" % idea)
        gaps = gap_entries(fleet.r)
        check(len(gaps) == 8 and len({g["key"] for g in gaps}) == 8 and
              all(g["session"] == w1 for g in gaps),
              "one gap inbox entry per finding, naming the watchdog session (%d)" % len(gaps))
        check(sorted(g.get("run") for g in gaps if g["gap_kind"] == "escalation_unacted") ==
              ["RUNX1", "RUNX5"], "the escalations' gap entries carry their run")
        out = json.loads(h.get("output") or "{}")
        check(out.get("context", {}).get("report") == report and
              out.get("artifacts", [{}])[0].get("kind") == "gap_report",
              "the report is the session's output and artifact")

        # run 2: nothing new
        control(base, "/_control/reset", {})
        control(base, "/_control/script", script)
        w2 = c.spawn("watchdog", "weekly watchdog again")
        fleet.wait_completed([w2], 60)
        reqs = requests(base)
        res2 = json.loads(tool_result(reqs[2]) or "{}") if len(reqs) > 2 else {}
        check(res2.get("new") == [] and res2.get("already_reported") == 8,
              "run 2 reports none again (%s)" % res2)
        check(len(gap_entries(fleet.r)) == 8, "no new gap inbox entries")
        check(fleet.r.zcard("wt:gaps") == 8, "wt:gaps remembers the eight reported keys")

        # memory: the output becomes wt:memory, bounded
        control(base, "/_control/reset", {})
        control(base, "/_control/script", [cs("updated", {"memory": "Built: talk.\n" + "x" * 10000})])
        m = c.spawn("memory", "update the project memory")
        fleet.wait_completed([m], 60)
        mem = fleet.r.get("wt:memory") or ""
        check(mem.startswith("Built: talk.") and len(mem.encode()) <= 4096,
              "memory session wrote wt:memory, cut to 4 KiB (%d bytes)" % len(mem))

        # every 3 completions: a memory session
        check(fleet.r.get("wt:memory:completions") is None,
              "watchdog and memory sessions are not counted")
        control(base, "/_control/reset", {})
        control(base, "/_control/script", [cs("did it", {"answer": "a", "memory": "Built: every-N"})] * 10)
        two = [c.spawn("two-step", "work %d" % i) for i in range(3)]
        fleet.wait_completed(two, 60)
        fleet.wait_for(lambda: fleet.r.get("wt:idem:memory:every:3"), 30, "the memory session")
        ms = fleet.r.get("wt:idem:memory:every:3")
        fleet.wait_completed([ms], 60)
        check(fleet.r.hget("wt:session:" + ms, "workflow") == "memory" and
              fleet.r.get("wt:memory") == "Built: every-N" and
              fleet.r.get("wt:memory:completions") == "3",
              "the third completion spawned a memory session that rewrote wt:memory")

        # after a pipeline run
        control(base, "/_control/reset", {})
        control(base, "/_control/script", [cs("did it", {"answer": "a", "memory": "Built: after-run"})] * 10)
        yml = os.path.join(fleet.dir, "tiny.yml")
        with open(yml, "w") as f:
            f.write("pipeline: tiny\ndescription: one phase\ninputs: [goal]\nphases:\n"
                    "  - id: only\n    workflow: two-step\n    goal: \"{{inputs.goal}}\"\n")
        r = fleet.run_cli("run", yml, "--goal", "tiny work", "--after", "memory", "--json")
        run_id = json.loads(r.stdout).get("run", "") if r.returncode == 0 else ""
        check(r.returncode == 0 and run_id, "the pipeline run succeeded (%r)" % r.stderr[-300:])
        key = "wt:idem:after:%s:memory" % run_id
        fleet.wait_for(lambda: fleet.r.get(key), 30, "the after-run memory session")
        fleet.wait_completed([fleet.r.get(key)], 60)
        check(fleet.r.get("wt:memory") == "Built: after-run",
              "--after memory: a memory session ran after the pipeline and rewrote wt:memory")
        c.close()
    except Exception as ex:  # report and fail
        check(False, "exception: %r" % ex)
    finally:
        if check.failed:
            fleet.dump_logs()
        fleet.stop()
        fake.terminate()
        fake.wait(timeout=10)
    check.done()


if __name__ == "__main__":
    main()
