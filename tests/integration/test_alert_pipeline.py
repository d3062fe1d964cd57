# ctest-timeout: 180
"""Alert intake into the bundled triage-incident pipeline (issue 20, DESIGN.md
sections 7, 9, 18), on a real broker, redis-server and scripted workers
(tests/scripts/pipelines.json), with the bundled example trigger file
coordinator/examples/triggers-alerts.yml as the broker's --triggers:
- an Alertmanager notification with two firing alerts starts two
  incident-triage sessions (the example's `alerts` trigger); a repeat starts
  nothing;
- the follower coordinator/examples/alert-pipeline.sh --once continues each
  into `worktrain run triage-incident --adopt triage=SID`: the trigger's
  session is the triage phase (no second triage session), the real incident
  is investigated, the noise is not, and both reports reach INCIDENT_WEBHOOK
  (a local receiver) with the alert's text;
- the run record keeps what it adopted; the sessions carry run and phase;
- the follower run again starts no run and sends no report (a session joins
  one run only: `run --adopt` of an adopted session is refused, exit 2);
- --adopt errors name the phase and session: unknown phase, a notify phase,
  another workflow's session, no such session;
- a run stopped (--timeout) while its adopted session waits for a worker is
  resumed (--resume) with that same session as triage: no second triage;
- the alert resolving once triage has ended and the investigation runs (the
  fake LLM holds its first turn) is told to the investigation: alert_resolved
  on its own stream naming the run, the operator message before its next
  turn; nothing on the ended triage session."""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from test_pipelines_bundled import Receiver  # noqa: E402
from test_tell_inbox import HOLD, KEY, control, cs, start_fake, wait_requests  # noqa: E402
from test_triggers_alert import alert, am_payload  # noqa: E402
from test_triggers_webhook import Http  # noqa: E402
from wtfleet import BIN, REPO, SCRIPTS, WORKFLOWS, Check, Fleet  # noqa: E402

EXAMPLE = os.path.join(REPO, "coordinator", "examples", "triggers-alerts.yml")
FOLLOWER = os.path.join(REPO, "coordinator", "examples", "alert-pipeline.sh")
TOKEN = "example-am-token"


def sessions_of(fleet, workflow):
    return [s for s in fleet.r.zrange("wt:sessions", 0, -1)
            if fleet.r.hget("wt:session:%s" % s, "workflow") == workflow]


def follow_once(fleet, recv):
    env = dict(os.environ, WORKTRAIN=BIN, WORKTRAIN_REDIS=fleet.redis_url,
               WORKTRAIN_BROKER=fleet.clients_ep, INCIDENT_WEBHOOK=recv.url + "/incident")
    r = subprocess.run([FOLLOWER, "--once", "--trigger", "alerts"], capture_output=True,
                       text=True, timeout=150, env=env, cwd=REPO, stdin=subprocess.DEVNULL)
    reports = []
    for line in r.stdout.splitlines():
        try:
            reports.append(json.loads(line))
        except ValueError:
            pass
    return r, reports


def main():
    check = Check()
    fleet = Fleet("alert-pipe")
    fakes = []
    try:
        fleet.start_redis()
        os.environ["ALERTMANAGER_TOKEN"] = TOKEN
        os.environ["PAGERDUTY_WEBHOOK_SECRET"] = "example-pd-secret"
        fleet.start_broker("--triggers", EXAMPLE, "--workflows", WORKFLOWS)
        recv = Receiver(fleet)
        script = os.path.join(SCRIPTS, "pipelines.json")
        fleet.start_worker("w1", 4, script)
        fleet.start_worker("w2", 4, script)
        fleet.wait_workers(2)
        web = Http(fleet.http_port)
        fleet.wait_for(lambda: web.post("/webhook/none", b"{}")[0] == 404, 10, "http up")

        # Alertmanager: two firing alerts, then the same notification repeated.
        real = alert("f00dfeed00000001", "CheckoutErrors", "shop1")
        real["annotations"]["summary"] = "checkout errors spiking"
        noise = alert("f00dfeed00000002", "HealthFlap", "shop2")
        noise["annotations"]["summary"] = "noise from a flapping check"
        body = am_payload([real, noise])
        auth = {"Authorization": "Bearer " + TOKEN}
        st, j, _ = web.post("/webhook/alerts", body, auth)
        started = j.get("started", []) if isinstance(j, dict) else []
        check(st == 200 and len(started) == 2, "the example trigger starts two sessions (%s %s)"
              % (st, j))
        st, j, _ = web.post("/webhook/alerts", body, auth)
        check(st == 200 and j.get("started") == [] and j.get("repeats") == 2,
              "a repeat starts nothing (%s)" % j)
        goal = {s: fleet.r.hget("wt:session:%s" % s, "goal") for s in started}
        check(all(g.startswith("Alert ") for g in goal.values()),
              "goals from the example's goalTemplate (%r)" % list(goal.values()))

        # The follower continues each triggered session into the pipeline.
        r, reports = follow_once(fleet, recv)
        check(r.returncode == 0 and len(reports) == 2,
              "the follower ran two pipelines (rc %d, %d reports; stderr %r)"
              % (r.returncode, len(reports), r.stderr[-600:]))
        by_triage = {}
        for rep in reports:
            ph = {p["id"]: p for p in rep.get("phases", [])}
            by_triage[(ph.get("triage") or {}).get("session")] = (rep, ph)
        check(sorted(by_triage) == sorted(started),
              "each run's triage phase is the trigger's own session (%r)" % list(by_triage))
        sreal = [s for s in started if "checkout" in goal[s]]
        snoise = [s for s in started if "noise" in goal[s]]
        if sreal and sreal[0] in by_triage:
            rep, ph = by_triage[sreal[0]]
            check(rep.get("status") == "succeeded" and ph["investigate"]["state"] == "done" and
                  ph["report"]["state"] == "done",
                  "real incident: triaged, investigated, reported (%r)" %
                  {k: v["state"] for k, v in ph.items()})
            rec = fleet.r.hgetall("wt:run:%s" % rep["run"])
            check(json.loads(rec.get("adopt") or "{}") == {"triage": sreal[0]},
                  "the run record keeps what it adopted (%r)" % rec.get("adopt"))
            h = fleet.r.hgetall("wt:session:%s" % sreal[0])
            check(h.get("run") == rep["run"] and h.get("phase") == "triage" and
                  sreal[0] in fleet.r.zrange("wt:run:%s:sessions" % rep["run"], 0, -1),
                  "the adopted session carries run and phase (%r %r)"
                  % (h.get("run"), h.get("phase")))
        if snoise and snoise[0] in by_triage:
            rep, ph = by_triage[snoise[0]]
            check(ph["investigate"]["state"] == "skipped" and ph["report"]["state"] == "done",
                  "noise: not investigated, reported (%r)" % {k: v["state"] for k, v in ph.items()})
        check(len(sessions_of(fleet, "incident-triage")) == 2,
              "no second triage session: %d incident-triage sessions"
              % len(sessions_of(fleet, "incident-triage")))
        check(len(sessions_of(fleet, "bug-investigation")) == 1,
              "one investigation (the real incident)")
        posts = [q for q in recv.requests() if q["path"] == "/incident"]
        text = json.dumps([q.get("body") for q in posts])
        check(len(posts) == 2 and "checkout errors spiking" in text and
              "the last deploy exhausted the DB connection pool" in text,
              "two incident reports with the alert and the findings (%d)" % len(posts))

        # Again: nothing runs twice.
        runs = fleet.r.zcard("wt:runs")
        r, reports = follow_once(fleet, recv)
        check(r.returncode == 0 and reports == [] and fleet.r.zcard("wt:runs") == runs,
              "the follower again: no new run (%d reports, %d runs)"
              % (len(reports), fleet.r.zcard("wt:runs")))
        check(len([q for q in recv.requests() if q["path"] == "/incident"]) == 2,
              "no report sent twice")
        env = {"INCIDENT_WEBHOOK": recv.url + "/incident"}
        r = fleet.run_cli("run", "triage-incident", "--adopt", "triage=" + started[0], env=env)
        check(r.returncode == 2 and "already in run" in r.stderr and started[0] in r.stderr,
              "adopting an adopted session is refused (%d %r)" % (r.returncode, r.stderr[-300:]))

        # Errors name what and where.
        r = fleet.run_cli("run", "triage-incident", "--adopt", "nope=" + started[0], env=env)
        check(r.returncode == 2 and "has no phase 'nope'" in r.stderr, "unknown phase (%r)"
              % r.stderr[-300:])
        r = fleet.run_cli("run", "triage-incident", "--adopt", "report=" + started[0], env=env)
        check(r.returncode == 2 and "not a single-session phase" in r.stderr,
              "notify phase (%r)" % r.stderr[-300:])
        inv = sessions_of(fleet, "bug-investigation")[0]
        r = fleet.run_cli("run", "triage-incident", "--adopt", "triage=" + inv, env=env)
        check(r.returncode == 2 and "already in run" in r.stderr,
              "a session of another run (%r)" % r.stderr[-300:])
        c = fleet.client()
        other = c.spawn("two-step", "not an incident")
        c.close()
        r = fleet.run_cli("run", "triage-incident", "--adopt", "triage=" + other, env=env)
        check(r.returncode == 2 and "runs workflow 'two-step'" in r.stderr,
              "another workflow's session (%r)" % r.stderr[-300:])
        r = fleet.run_cli("run", "triage-incident", "--adopt", "triage=01NOSUCHSESSION", env=env)
        check(r.returncode == 2 and "no such session" in r.stderr,
              "no such session (%r)" % r.stderr[-300:])
        r = fleet.run_cli("run", "triage-incident", "--adopt", "triage", env=env)
        check(r.returncode == 2 and "PHASE=SESSION" in r.stderr, "bad --adopt (%r)" % r.stderr)
        check(fleet.r.zcard("wt:runs") == runs, "refused adoptions create no run")

        # Resume: a run stopped while its adopted session waits adopts it
        # again (from the record) instead of starting a second triage.
        for w in ("w1", "w2"):
            fleet.kill("worker-" + w, signal.SIGTERM)
            fleet.procs["worker-" + w].wait(30)
        third = alert("f00dfeed00000003", "DiskFull", "db9")
        st, j, _ = web.post("/webhook/alerts", am_payload([third]), auth)
        s3 = (j.get("started") or [None])[0] if isinstance(j, dict) else None
        check(st == 200 and s3, "a third alert's session, queued with no worker (%s)" % j)
        r = fleet.run_cli("run", "triage-incident", "--adopt", "triage=%s" % s3, "--timeout",
                          "2s", "--json", env=env)
        rid = json.loads(r.stdout or "{}").get("run") if r.stdout.startswith("{") else None
        check(r.returncode == 2 and rid, "stopped by --timeout while triage waits (%d %r)"
              % (r.returncode, r.stderr[-300:]))
        fleet.start_worker("w3", 4, script)
        r = fleet.run_cli("run", "--resume", rid or "none", "--json", timeout=120, env=env)
        rep = json.loads(r.stdout) if r.stdout.startswith("{") else {}
        ph = {p["id"]: p for p in rep.get("phases", [])}
        check(r.returncode == 0 and (ph.get("triage") or {}).get("session") == s3 and
              ph["investigate"]["state"] == "done" and ph["report"]["state"] == "done",
              "--resume adopts the same session and finishes the pipeline (%d %r)"
              % (r.returncode, {k: (v["state"], v.get("session")) for k, v in ph.items()}))
        check(len(sessions_of(fleet, "incident-triage")) == 3,
              "no extra triage session after the resume (%d)"
              % len(sessions_of(fleet, "incident-triage")))

        # The alert resolves while the pipeline has moved on from triage to
        # the investigation: the run's live session (the investigation) is told.
        fleet.kill("worker-w3", signal.SIGTERM)
        fleet.procs["worker-w3"].wait(30)
        fake, base = start_fake(fleet.dir, "fake")
        fakes.append(fake)
        control(base, "/_control/script",
                [cs("gathered"), cs("real", {"isRealIncident": True, "severity": "SEV2",
                                             "likelyCause": "a full disk"})] + HOLD)
        fleet.start_worker("w4", 2, None, "--provider", "anthropic", "--base-url", base,
                           env={"ANTHROPIC_API_KEY": KEY})
        fourth = alert("f00dfeed00000004", "DiskFull", "db4")
        st, j, _ = web.post("/webhook/alerts", am_payload([fourth]), auth)
        s4 = (j.get("started") or [None])[0] if isinstance(j, dict) else None
        e = dict(os.environ, WORKTRAIN_REDIS=fleet.redis_url, WORKTRAIN_BROKER=fleet.clients_ep,
                 **env)
        runp = subprocess.Popen([BIN, "run", "triage-incident", "--adopt", "triage=%s" % s4,
                                 "--json", "--quiet"], stdout=subprocess.PIPE, text=True, env=e,
                                cwd=REPO, stdin=subprocess.DEVNULL)
        wait_requests(base, 3, 60)  # triage's two turns, the investigation's first (held)
        inv4 = [x for x in sessions_of(fleet, "bug-investigation")
                if fleet.r.hget("wt:session:%s" % x, "run") ==
                fleet.r.hget("wt:session:%s" % s4, "run")]
        check(len(inv4) == 1 and fleet.r.hget("wt:session:%s" % s4, "status") == "completed",
              "triage ended, its run's investigation started (%r)" % inv4)
        fleet.wait_for(lambda: fleet.r.hget("wt:session:%s" % inv4[0], "status") == "running",
                       30, "the investigation running")
        res = alert("f00dfeed00000004", "DiskFull", "db4", "resolved", ends="2026-12-02T19:30:00Z")
        st, j, _ = web.post("/webhook/alerts", am_payload([res], "resolved"), auth)
        check(st == 200 and j.get("resolved_told") == 1, "resolution told (%s %s)" % (st, j))
        own = [d for _, t, d, _ in fleet.events(inv4[0])] if inv4 else []
        own = [d for d in own if d.get("incident") == "f00dfeed00000004"]
        check(len(own) == 1 and own[0].get("run") == fleet.r.hget("wt:session:%s" % s4, "run")
              and own[0].get("session") == inv4[0],
              "alert_resolved on the investigation's own stream, naming the run (%r)" % own)
        check(not any(t == "alert_resolved" for _, t, _, _ in fleet.events(s4)),
              "nothing on the ended triage session")
        control(base, "/_control/script",
                [cs("reproduced"), cs("hypotheses"),
                 cs("concluded", {"rootCause": "logs filled the disk", "confidence": "high",
                                  "severity": "SEV2"})])
        out, _ = runp.communicate(timeout=120)
        check(runp.returncode == 0, "the run finishes (%d)" % runp.returncode)
        if inv4:
            got = [d for _, t, d, _ in fleet.events(inv4[0]) if t == "message_received"]
            check(len(got) == 1 and "has resolved: DiskFull" in got[0].get("message", ""),
                  "the investigating agent receives the resolution (%r)" % got)
    except Exception:
        fleet.dump_logs()
        raise
    finally:
        fleet.stop()
        for f in fakes:
            f.kill()
            f.wait()
    check.done()


if __name__ == "__main__":
    main()
