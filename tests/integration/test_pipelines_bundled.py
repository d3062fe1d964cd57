# ctest-timeout: 400
"""The bundled pipelines (coordinator/pipelines/) on a real fleet with the
scripted provider (tests/scripts/pipelines*.json) and a local webhook
receiver (tests/fakes/fake_webhook.py):
- implement-feature takes a different path for a Small and a Large task;
- its review loop stops at `clean` after 2 passes; with an always-blocking
  reviewer it stops after 3 attempts and the escalation webhook fires with
  the body asserted here;
- fix-bug, triage-incident and groom-backlog run end to end."""
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import REPO, SCRIPTS, Check, Fleet  # noqa: E402

FAKE = os.path.join(REPO, "tests", "fakes", "fake_webhook.py")


class Receiver:
    def __init__(self, fleet):
        pf = os.path.join(fleet.dir, "webhook.port")
        self.proc = fleet._spawn("webhook", ["/usr/bin/python3", FAKE, "--port-file", pf])
        fleet.wait_for(lambda: os.path.exists(pf), 10, "webhook receiver")
        with open(pf) as f:
            self.port = int(f.read())
        self.url = "http://127.0.0.1:%d" % self.port

    def requests(self):
        with urllib.request.urlopen(self.url + "/_control/requests", timeout=5) as r:
            return json.loads(r.read())


def phases(rep):
    return {p["id"]: p for p in rep["phases"]}


def run(fleet, env, *args):
    r = fleet.run_cli("run", *args, "--json", timeout=180, env=env)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        print("stdout:", r.stdout[-2000:], "\nstderr:", r.stderr[-3000:])
        return r, None


def hook_env(recv):
    return {"ESCALATION_WEBHOOK": recv.url + "/escalate", "NOTIFY_WEBHOOK": recv.url + "/done"}


def test_implement_feature(check, fleet, recv):
    env = hook_env(recv)
    env["WORKTRAIN_NOTIFY_WEBHOOK"] = recv.url + "/pipeline"
    r, rep = run(fleet, env, "implement-feature", "--goal", "small: fix the typo in --help")
    check(r.returncode == 0, "implement-feature (Small) exits 0 (got %d)" % r.returncode)
    if rep:
        ph = phases(rep)
        states = {k: v["state"] for k, v in ph.items()}
        check(states.get("classify") == "done" and states.get("code") == "done",
              "Small: classify and code ran")
        check(all(states.get(k) == "skipped" for k in ("discovery", "ux", "architecture")),
              "Small: discovery, ux and architecture skipped: %s" % states)
        rv = ph["review"]
        check(rv["state"] == "done" and rv["attempts"] == 2 and len(rv["sessions"]) == 2,
              "review loop stopped at clean after 2 passes (attempts %s)" % rv["attempts"])
        check(rv["output"]["context"]["verdict"] == "clean", "last verdict is clean")
        second = fleet.r.hget("wt:session:%s" % rv["sessions"][1], "context")
        ctx = json.loads(second)
        check(ctx.get("previousResult", {}).get("output", {}).get("context", {}).get("verdict")
              == "blocking", "the second review pass got the first pass's result in its context")
        check(states.get("escalate") == "skipped" and states.get("done") == "done",
              "no escalation; done notification sent (%s)" % ph["done"]["reason"])
        done = [q for q in recv.requests() if q["path"] == "/done"]
        check(len(done) == 1 and done[0]["body"]["runId"] == rep["run"],
              "done webhook received once for this run")
        ends = [q["body"] for q in recv.requests() if q["path"] == "/pipeline"]
        check(len(ends) == 1 and ends[0]["event"] == "pipeline_completed" and
              ends[0]["runId"] == rep["run"] and ends[0]["outcome"] == "succeeded" and
              ends[0]["workflowId"] == "implement-feature",
              "pipeline end notification posted once with the run's outcome")
        rec = json.loads(fleet.r.hget("wt:run:%s" % rep["run"], "phases"))
        check({p["id"]: p["needs"] for p in rec}.get("code") ==
              ["classify", "discovery", "ux", "architecture"],
              "run record keeps each phase's needs (the DAG's edges)")
        notes = [f for _, f in fleet.r.xrange("wt:notifications")
                 if f.get("event") == "pipeline_completed"]
        check(len(notes) == 1 and notes[0]["outcome"] == "delivered" and
              "127.0.0.1" not in json.dumps(notes), "delivery recorded without the URL")

    r, rep = run(fleet, env, "implement-feature", "--goal", "Large: redesign the settings page")
    check(r.returncode == 0, "implement-feature (Large) exits 0 (got %d)" % r.returncode)
    if rep:
        states = {k: v["state"] for k, v in phases(rep).items()}
        check(all(states.get(k) == "done" for k in ("discovery", "ux", "architecture", "code")),
              "Large: discovery, ux, architecture and code ran: %s" % states)


def test_escalation(check, fleet, recv):
    env = hook_env(recv)
    r, rep = run(fleet, env, "implement-feature", "--goal", "Large: always blocked change")
    check(r.returncode == 0, "blocked pipeline still exits 0: escalation is a result (got %d)"
          % r.returncode)
    if rep is None:
        return
    ph = phases(rep)
    rv = ph["review"]
    check(rv["attempts"] == 3 and len(rv["sessions"]) == 3 and rv["retryExhausted"],
          "always-blocking review stops at 3 attempts")
    check(ph["escalate"]["state"] == "done" and ph["done"]["state"] == "skipped",
          "escalate ran, done skipped (%s)" % ph["escalate"]["reason"])
    esc = [q for q in recv.requests() if q["path"] == "/escalate"]
    check(len(esc) == 1, "one escalation webhook POST (got %d)" % len(esc))
    if esc:
        b = esc[0]["body"]
        check(b.get("event") == "escalation" and b.get("runId") == rep["run"] and
              b.get("phase") == "escalate" and b.get("workflowId") == "implement-feature",
              "escalation body names event, run, phase and pipeline")
        check(b.get("goal") == "Large: always blocked change" and "blocking" in b.get("detail", ""),
              "escalation body carries the goal and the verdict in detail")
        check(b.get("phases", {}).get("review", {}).get("context", {}).get("verdict") ==
              "blocking", "escalation body has the review's structured output")
        check(all(k in b for k in ("timestamp", "outcome", "sessionId")),
              "escalation body has timestamp, outcome and sessionId")
    inbox = [f for _, f in fleet.r.xrevrange("wt:inbox", count=50)
             if f.get("kind") == "escalation" and f.get("run") == rep["run"]]
    check(len(inbox) == 1, "the escalation is in the inbox")


def test_others(check, fleet, recv):
    env = hook_env(recv)
    r, rep = run(fleet, env, "fix-bug", "--goal", "parser drops the last byte")
    check(r.returncode == 0, "fix-bug exits 0 (got %d)" % r.returncode)
    if rep:
        states = {k: v["state"] for k, v in phases(rep).items()}
        check(states.get("fix") == "done" or states.get("code") == "done",
              "fix-bug: confident Medium bug gets fixed: %s" % states)
    r, rep = run(fleet, env, "fix-bug", "--goal", "critical data loss on full disk")
    if rep:
        states = {k: v["state"] for k, v in phases(rep).items()}
        check("escalate" in states and states["escalate"] == "done" and
              all(v != "done" for k, v in states.items() if k in ("fix", "code")),
              "fix-bug: a Critical bug escalates instead of fixing: %s" % states)
    r, rep = run(fleet, env, "triage-incident", "--goal", "checkout errors spiking")
    check(r.returncode == 0, "triage-incident exits 0 (got %d)" % r.returncode)
    if rep:
        states = {k: v["state"] for k, v in phases(rep).items()}
        check(states.get("investigate") == "done", "real incident is investigated: %s" % states)
    issues = json.dumps([{"title": "crash on start"}, {"title": "duplicate of crash"},
                         {"title": "stale idea"}, {"title": "needs label"}])
    r, rep = run(fleet, env, "groom-backlog", "--goal", "weekly grooming", "--var",
                 "issues=" + issues)
    check(r.returncode == 0, "groom-backlog exits 0 (got %d)" % r.returncode)
    if rep:
        fan = [p for p in rep["phases"] if len(p.get("sessions", [])) == 4]
        check(len(fan) == 1, "groom-backlog fanned out over the 4 issues")
        if fan:
            decisions = [o["context"]["decision"] for o in fan[0]["output"]]
            check(decisions == ["keep", "duplicate", "stale", "label"],
                  "per-item decisions in order: %s" % decisions)


def main():
    check = Check()
    fleet = Fleet("pipes")
    blocked = Fleet("pipes-blocking")
    try:
        for f, script in ((fleet, "pipelines.json"), (blocked, "pipelines-review-blocking.json")):
            f.start_redis()
            f.start_broker()
            f.start_worker("w1", 6, os.path.join(SCRIPTS, script))
            f.start_worker("w2", 6, os.path.join(SCRIPTS, script))
        recv = Receiver(fleet)
        recv_b = Receiver(blocked)
        fleet.wait_workers(2)
        blocked.wait_workers(2)
        test_implement_feature(check, fleet, recv)
        test_others(check, fleet, recv)
        test_escalation(check, blocked, recv_b)
    except Exception as e:
        check(False, "unexpected %s: %s" % (type(e).__name__, e))
    finally:
        if check.failed:
            fleet.dump_logs()
            blocked.dump_logs()
        fleet.stop()
        blocked.stop()
    check.done()


if __name__ == "__main__":
    main()
