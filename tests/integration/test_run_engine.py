# ctest-timeout: 300
"""`worktrain run` against a real fleet (broker, 2 workers, scripted provider):
foreach fans out 5 sessions that run at the same time and are collected in
item order; a coordinator killed mid-run and resumed with --resume finishes
without re-running finished phases; a failed phase fails its dependants but
not a phase whose `if` looks at the failure; --timeout exits 2; a pipeline
naming an unknown workflow is refused before anything starts."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, REPO, SCRIPTS, Check, Fleet  # noqa: E402

PIPES = os.path.join(REPO, "tests", "pipelines")


def phase(report, pid):
    return next(p for p in report["phases"] if p["id"] == pid)


def run_json(fleet, *args, timeout=120, env=None):
    r = fleet.run_cli("run", *args, "--json", timeout=timeout, env=env)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        print("stdout:", r.stdout, "\nstderr:", r.stderr)
        return r, None


def test_foreach(check, fleet):
    r, rep = run_json(fleet, os.path.join(PIPES, "fanout.yml"), "--goal", "the backlog")
    check(r.returncode == 0, "fanout exits 0 (got %d: %s)" % (r.returncode, r.stderr[-300:]))
    if rep is None:
        return
    each = phase(rep, "each")
    check(each["state"] == "done" and len(each["sessions"]) == 5, "foreach ran 5 sessions")
    answers = [o["context"]["answer"] for o in each["output"]]
    want = ["handled handle item %s (%d)" % (x, i)
            for i, x in enumerate(["alpha", "bravo", "charlie", "delta", "echo"])]
    check(answers == want, "outputs collected in item order: %s" % answers)
    labels = [o["context"].get("label") for o in each["output"]]
    check(labels == ["item-alpha", "item-bravo", "item-charlie", "item-delta", "item-echo"],
          "phase vars reach each session's context")
    # Parallel: every item session started before the first one ended.
    hashes = [fleet.r.hgetall("wt:session:%s" % s) for s in each["sessions"]]
    starts = [int(h["started_ms"]) for h in hashes]
    ends = [int(h["ended_ms"]) for h in hashes]
    check(max(starts) < min(ends), "the 5 item sessions overlapped in time (ran in parallel)")
    check(all(h.get("run") == rep["run"] and h.get("phase") == "each" for h in hashes),
          "item sessions are tagged with the run id and phase")
    summary = phase(rep, "summary")
    check(summary["state"] == "done", "the phase after the fan-out ran")
    members = fleet.r.zrange("wt:run:%s:sessions" % rep["run"], 0, -1)
    check(len(members) == 7, "run index holds its 7 sessions (got %d)" % len(members))
    rec = fleet.r.hgetall("wt:run:%s" % rep["run"])
    check(rec.get("status") == "succeeded" and json.loads(rec["phases"])[1]["id"] == "each",
          "run record says succeeded and lists the phases")


def test_resume(check, fleet):
    env = dict(os.environ, WORKTRAIN_REDIS=fleet.redis_url, WORKTRAIN_BROKER=fleet.clients_ep)
    p = subprocess.Popen([BIN, "run", os.path.join(PIPES, "chain.yml"), "--goal", "resumable",
                          "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                         cwd=REPO, stdin=subprocess.DEVNULL, start_new_session=True)
    # Wait until phase b's session is running, then kill the coordinator.
    run_id = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ids = fleet.r.zrange("wt:runs", 0, -1)
        for rid in ids:
            rec = fleet.r.hgetall("wt:run:%s" % rid)
            if rec.get("pipeline") != "chain" or rec.get("status") != "running":
                continue
            phases = {x["id"]: x for x in json.loads(rec["phases"])}
            if phases["a"]["state"] == "done" and phases["b"]["state"] == "running":
                run_id = rid
        if run_id:
            break
        time.sleep(0.05)
    check(run_id is not None, "chain run reached phase b")
    os.killpg(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    if run_id is None:
        return
    before = fleet.r.zrange("wt:run:%s:sessions" % run_id, 0, -1)
    r, rep = run_json(fleet, "--resume", run_id)
    check(r.returncode == 0, "resume exits 0 (got %d: %s)" % (r.returncode, r.stderr[-300:]))
    if rep is None:
        return
    check(rep["run"] == run_id and rep["status"] == "succeeded", "the same run finished")
    after = fleet.r.zrange("wt:run:%s:sessions" % run_id, 0, -1)
    by_phase = {}
    for sid in after:
        by_phase.setdefault(fleet.r.hget("wt:session:%s" % sid, "phase"), []).append(sid)
    check(len(after) == 3 and all(len(v) == 1 for v in by_phase.values()),
          "one session per phase, none re-run: %s" % by_phase)
    check(set(before) <= set(after), "sessions from before the kill were reused")
    check(phase(rep, "a")["session"] == by_phase.get("a", [None])[0], "phase a kept its session")
    started = [e for e in fleet.events(phase(rep, "a")["session"]) if e[1] == "session_started"]
    check(len(started) == 1, "phase a's session ran once")
    check(fleet.r.hget("wt:run:%s" % run_id, "resumes") == "1", "record counts the resume")


def test_failing(check, fleet):
    r, rep = run_json(fleet, os.path.join(PIPES, "failing.yml"), "--goal", "boom")
    check(r.returncode == 1, "a failed phase makes run exit 1 (got %d)" % r.returncode)
    if rep is None:
        return
    check(phase(rep, "breaks")["state"] == "failed", "the failing phase is failed")
    after = phase(rep, "after")
    check(after["state"] == "failed" and "breaks" in after["reason"] and not after["sessions"],
          "its dependant failed without starting a session: %s" % after["reason"])
    check(phase(rep, "cleanup")["state"] == "done", "`if: breaks.failed` ran the cleanup phase")
    alert = phase(rep, "alert")
    check(alert["state"] == "done" and "WT_TEST_ALERT_URL" in alert["reason"],
          "notify with its variable unset is done and says so: %s" % alert["reason"])
    inbox = fleet.r.xrevrange("wt:inbox", count=20)
    kinds = [(f.get("kind"), f.get("run")) for _, f in inbox]
    check(("pipeline", rep["run"]) in kinds, "the pipeline end is in the inbox")
    r = fleet.run_cli("inbox", "--kind", "pipeline", "--count", "1")
    check(r.returncode == 0 and rep["run"] in r.stdout and "failing" in r.stdout and
          " failed " in r.stdout, "`inbox` shows the run id, pipeline and outcome: %s"
          % r.stdout.strip())


def test_timeout(check, fleet):
    t0 = time.monotonic()
    r, rep = run_json(fleet, os.path.join(PIPES, "chain.yml"), "--goal", "too slow",
                      "--timeout", "1s")
    check(r.returncode == 2, "--timeout exits 2 (got %d)" % r.returncode)
    check(time.monotonic() - t0 < 15, "and returns promptly")
    check(rep is not None and rep["status"] == "timeout", "report says timeout")


def test_refused(check, fleet):
    bad = os.path.join(fleet.dir, "bad.yml")
    with open(bad, "w") as f:
        f.write("pipeline: bad\nphases:\n  - id: x\n    workflow: no-such-workflow\n")
    r = fleet.run_cli("run", bad, "--goal", "g")
    check(r.returncode == 2, "unknown workflow: exit 2")
    check("bad.yml:4:15" in r.stderr and "no-such-workflow" in r.stderr,
          "error names file:line:col and the workflow: %s" % r.stderr.strip()[:200])
    n = fleet.r.zcard("wt:runs")
    r = fleet.run_cli("run", os.path.join(PIPES, "fanout.yml"))
    check(r.returncode == 2 and "goal" in r.stderr, "missing input goal: exit 2")
    check(fleet.r.zcard("wt:runs") == n, "nothing was started")
    r = fleet.run_cli("run", "--resume", "01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    check(r.returncode == 2 and "not found" in r.stderr, "resume of an unknown run: exit 2")
    # Odd records in Redis: clear errors or a run, never a crash.
    src = ("pipeline: odd\nphases:\n  - id: n\n    notify: {webhook: \"$WT_TEST_UNSET_HOOK\"}\n"
           "  - id: m\n    needs: [n]\n    notify: {webhook: \"$WT_TEST_UNSET_HOOK\"}\n")
    rid = "01ZZZZZZZZZZZZZZZZZZZZZZZ0"
    fleet.r.hset("wt:run:" + rid, mapping={
        "id": rid, "source": src, "inputs": "{}",
        "phases": '[1, null, {"id": 7}, {"id": "n", "state": 5}, {"id": "m", "state": "done",'
                  ' "sessions": 3, "reason": 4}]'})
    r = fleet.run_cli("run", "--resume", rid)
    check(r.returncode == 0 and "odd succeeded" in r.stdout,
          "resume of a record without 'file' and with odd phase views runs (got %d: %s %s)"
          % (r.returncode, r.stdout.strip()[-200:], r.stderr.strip()[-300:]))
    for field, value in (("inputs", "[1]"), ("phases", "{}"), ("source", None), ("id", "short")):
        rid = "01ZZZZZZZZZZZZZZZZZZZZZZZ1"
        fleet.r.delete("wt:run:" + rid)
        rec = {"id": rid, "source": src, "inputs": "{}", "phases": "[]", "file": "x.yml"}
        if value is None:
            del rec[field]
        else:
            rec[field] = value
        fleet.r.hset("wt:run:" + rid, mapping=rec)
        r = fleet.run_cli("run", "--resume", rid)
        check(r.returncode == 2 and r.stderr.strip() and "Sanitizer" not in r.stderr,
              "damaged record (%s=%r): exit 2 with a message (got %d: %s)"
              % (field, value, r.returncode, r.stderr.strip()[-200:]))


def inbox_for(fleet, run_id, kind):
    return [f for _, f in fleet.r.xrange("wt:inbox") if f.get("run") == run_id and
            f.get("kind") == kind]


def test_record_before_spawns(check, fleet):
    """The record exists (and holds a finished notify phase) before the first
    SPAWN answers, so a coordinator killed while the broker is slow can be
    resumed, and the resume does not notify a second time."""
    pipe = os.path.join(fleet.dir, "early.yml")
    with open(pipe, "w") as f:
        f.write("pipeline: early\ninputs: [goal]\nphases:\n"
                "  - id: n\n    notify: {webhook: \"$WT_TEST_UNSET_HOOK\"}\n"
                "  - id: s\n    workflow: two-step\n    goal: \"early {{inputs.goal}}\"\n")
    env = dict(os.environ, WORKTRAIN_REDIS=fleet.redis_url)
    env.pop("WT_TEST_UNSET_HOOK", None)
    # A broker endpoint nobody answers: the SPAWN of s waits (30 s).
    mute = "ipc://%s/nobody.sock" % fleet.dir
    p = subprocess.Popen([BIN, "run", pipe, "--goal", "g", "--broker", mute], env=env, cwd=REPO,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    run_id = None
    deadline = time.monotonic() + 10
    while run_id is None and time.monotonic() < deadline:
        for rid in fleet.r.zrange("wt:runs", 0, -1):
            rec = fleet.r.hgetall("wt:run:%s" % rid)
            if rec.get("pipeline") == "early":
                phases = {x["id"]: x for x in json.loads(rec["phases"])}
                if phases["n"]["state"] == "done":
                    run_id = rid
        time.sleep(0.05)
    check(p.poll() is None, "the coordinator is still waiting for the broker")
    os.killpg(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    check(run_id is not None, "the run record (notify phase done) is in Redis while the first "
          "SPAWN waits")
    if run_id is None:
        return
    r, rep = run_json(fleet, "--resume", run_id, env=env)
    check(r.returncode == 0 and rep is not None and rep["status"] == "succeeded",
          "the resumed run succeeds (got %d: %s)" % (r.returncode, r.stderr[-300:]))
    check(len(inbox_for(fleet, run_id, "escalation")) == 1,
          "the notify phase was not repeated by the resume")


def test_resume_finished(check, fleet):
    """--resume of a run that already ended re-reports it without a second
    end-of-run inbox entry / notification."""
    r, rep = run_json(fleet, os.path.join(PIPES, "chain.yml"), "--goal", "once")
    check(r.returncode == 0 and rep is not None, "chain run for the re-resume succeeds")
    if rep is None:
        return
    run_id = rep["run"]
    check(len(inbox_for(fleet, run_id, "pipeline")) == 1, "one end-of-run inbox entry")
    r, rep2 = run_json(fleet, "--resume", run_id)
    check(r.returncode == 0 and rep2 is not None and rep2["status"] == "succeeded",
          "resuming a finished run re-reports it (got %d)" % r.returncode)
    check(len(inbox_for(fleet, run_id, "pipeline")) == 1,
          "no second end-of-run inbox entry after resuming a finished run (got %d)"
          % len(inbox_for(fleet, run_id, "pipeline")))


def test_resume_concurrent(check, fleet):
    """--resume of a run whose coordinator is alive is refused (it would
    notify twice); the first coordinator finishes the run."""
    env = dict(os.environ, WORKTRAIN_REDIS=fleet.redis_url, WORKTRAIN_BROKER=fleet.clients_ep)
    p = subprocess.Popen([BIN, "run", os.path.join(PIPES, "chain.yml"), "--goal", "twice"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=REPO,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    run_id = None
    deadline = time.monotonic() + 30
    while run_id is None and time.monotonic() < deadline:
        for rid in fleet.r.zrange("wt:runs", 0, -1):
            rec = fleet.r.hgetall("wt:run:%s" % rid)
            if rec.get("pipeline") != "chain" or rec.get("status") != "running" or \
                    "twice" not in rec.get("inputs", ""):
                continue
            phases = {x["id"]: x for x in json.loads(rec["phases"])}
            if phases["b"]["state"] == "running":
                run_id = rid
        time.sleep(0.05)
    check(run_id is not None, "chain run reached phase b")
    if run_id is not None:
        r = fleet.run_cli("run", "--resume", run_id, timeout=30)
        check(r.returncode == 2 and "is being run by coordinator" in r.stderr,
              "a second coordinator on a live run is refused (got %d: %s)"
              % (r.returncode, r.stderr.strip()[-300:]))
    try:
        rc = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        rc = None
    check(rc == 0, "the first coordinator finished the run (got %s)" % rc)
    if run_id is not None:
        check(fleet.r.hget("wt:run:%s" % run_id, "status") == "succeeded" and
              fleet.r.zcard("wt:run:%s:sessions" % run_id) == 3,
              "the run succeeded with one session per phase")
        check(not fleet.r.exists("wt:run:%s:owner" % run_id), "the lease is released at the end")


def test_slow_notify(check, fleet):
    """A receiver that takes 3 s to answer: the independent session phase
    finishes meanwhile, the notification is delivered once, exit 0."""
    import urllib.request
    pf = os.path.join(fleet.dir, "hook.port")
    fleet._spawn("hook", ["/usr/bin/python3", os.path.join(REPO, "tests", "fakes",
                                                           "fake_webhook.py"), "--port-file", pf])
    fleet.wait_for(lambda: os.path.exists(pf), 10, "webhook receiver")
    url = "http://127.0.0.1:%s" % open(pf).read().strip()
    req = urllib.request.Request(url + "/_control/mode", method="POST",
                                 data=json.dumps({"status": 200, "delay_ms": 3000}).encode())
    urllib.request.urlopen(req, timeout=5).read()
    t0 = time.time()
    r = fleet.run_cli("run", os.path.join(PIPES, "slow-notify.yml"), "--goal", "quickly", "--json",
                      timeout=60, env={"WT_TEST_SLOW_HOOK": url + "/hook"})
    took = time.time() - t0
    rep = json.loads(r.stdout) if r.returncode == 0 else None
    check(rep is not None, "slow-notify exits 0 (%d: %s)" % (r.returncode, r.stderr[-300:]))
    if rep is None:
        return
    work = fleet.r.hgetall("wt:session:%s" % phase(rep, "work")["session"])
    check(int(work["ended_ms"]) / 1000.0 - t0 < 2.5 <= took,
          "the session phase ended while the notification was still being delivered "
          "(session done after %.2f s, run took %.2f s)" % (int(work["ended_ms"]) / 1000.0 - t0, took))
    with urllib.request.urlopen(url + "/_control/requests", timeout=5) as f:
        posts = [q for q in json.loads(f.read()) if q["path"] == "/hook"]
    check(len(posts) == 1 and posts[0]["body"]["event"] == "progress" and
          phase(rep, "announce")["state"] == "done",
          "the notification was delivered once and its phase is done (%s)"
          % phase(rep, "announce")["reason"])


def main():
    check = Check()
    fleet = Fleet("run")
    try:
        fleet.start_redis()
        fleet.start_broker()
        script = os.path.join(SCRIPTS, "run-engine.json")
        fleet.start_worker("w1", 8, script)
        fleet.start_worker("w2", 8, script)
        fleet.wait_workers(2)
        test_refused(check, fleet)
        test_foreach(check, fleet)
        test_resume(check, fleet)
        test_failing(check, fleet)
        test_timeout(check, fleet)
        test_slow_notify(check, fleet)
        test_record_before_spawns(check, fleet)
        test_resume_finished(check, fleet)
        test_resume_concurrent(check, fleet)
    except Exception as e:  # report, then fail
        check(False, "unexpected %s: %s" % (type(e).__name__, e))
    finally:
        if check.failed:
            fleet.dump_logs()
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
