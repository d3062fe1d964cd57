# ctest-timeout: 180
"""Alert intake through a real broker (--triggers), redis-server and a
scripted worker (DESIGN.md section 18):
- alertmanager: a v4 payload with two firing alerts starts two sessions
  (fingerprint, and a labels hash where the fingerprint is absent) with the
  goal templated from $.labels, $.annotations, $.startsAt and
  $group.commonLabels; the same payload sent again (Alertmanager's
  repeat_interval) starts nothing; a resolved alert whose session runs gets
  an alert_resolved event (on wt:events and on the session's own event
  stream) and an operator message the agent receives
  (message_received) in its next LLM request (the fake LLM holds the turn in
  flight, so the session is running when the resolution arrives); told once; a resolved alert with
  no session starts nothing; the same alert firing again later (new
  startsAt) is a new session; wrong / missing bearer and basic credentials
  401, bad JSON and bad shapes 400, all counted on /metrics;
- maxQueueDepth reached: a new alert is deferred (200, counted), a new
  PagerDuty incident 429 + Retry-After;
- pagerduty: recorded-format V3 events signed X-PagerDuty-Signature with
  the old secret, then with two signatures during a rotation: one session per
  incident id; bad or missing signature 401; other event types answered and
  ignored; incident.resolved told to the session;
- the bundled example (coordinator/examples/triggers-alerts.yml) validates;
- no secret reaches Redis or the broker log."""
import base64
import hashlib
import hmac
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from test_tell_inbox import HOLD, KEY, control, cs, start_fake, texts, wait_requests  # noqa: E402
from test_triggers_webhook import Http  # noqa: E402
from wtfleet import WORKFLOWS, Check, Fleet  # noqa: E402

TOKEN = "am-bearer-token-for-tests"
PD_OLD = "pd-old-secret-for-tests"
PD_NEW = "pd-new-secret-for-tests"
PASSWORD = "am-basic-password-for-tests"

TRIGGERS = """\
triggers:
  - id: am
    provider: alertmanager
    workflowId: two-step
    goalTemplate: >-
      Triage {{$.labels.alertname}} on {{$.labels.instance}} ({{$group.commonLabels.team}}):
      {{$.annotations.summary}} since {{$.startsAt}}
    contextMapping:
      alertname: $.labels.alertname
      severity: $.labels.severity
      groupKey: $group.groupKey
    auth: {bearer: $WT_TEST_AM_TOKEN}
  - id: am-basic
    provider: alertmanager
    workflowId: two-step
    goalTemplate: "{{$.labels.alertname}}"
    auth: {basic: {user: alertmanager, password: $WT_TEST_AM_PASSWORD}}
    maxQueueDepth: 1
  - id: pd
    provider: pagerduty
    workflowId: two-step
    goalTemplate: "PagerDuty {{$.event.data.number}}: {{$.event.data.title}}"
    contextMapping: {incident: $.event.data.id, urgency: $.event.data.urgency}
    hmacSecret: $WT_TEST_PD_OLD
    hmacSecrets: [$WT_TEST_PD_NEW]
  - id: pd-full
    provider: pagerduty
    workflowId: two-step
    goal: page
    hmacSecret: $WT_TEST_PD_OLD
    maxQueueDepth: 1
"""


def alert(fp, name, instance, status="firing", starts="2026-12-02T19:00:00Z", ends=None):
    a = {"status": status, "labels": {"alertname": name, "instance": instance,
                                      "severity": "page"},
         "annotations": {"summary": "%s is unhappy" % instance}, "startsAt": starts,
         "endsAt": ends or "0001-01-01T00:00:00Z", "generatorURL": "http://prom/graph"}
    if fp:
        a["fingerprint"] = fp
    return a


def am_payload(alerts, status="firing"):
    return json.dumps({"receiver": "worktrain", "status": status, "alerts": alerts,
                       "groupLabels": {"alertname": "HighLatency"},
                       "commonLabels": {"team": "storage"}, "commonAnnotations": {},
                       "externalURL": "http://alertmanager:9093", "version": "4",
                       "groupKey": "{}:{alertname=\"HighLatency\"}",
                       "truncatedAlerts": 0}).encode()


def pd_event(etype, incident="Q2MAGRBEXN1UYE", eid="01DEN4HLG7IOPLK06WRTDHOYTC"):
    """A V3 webhook body in PagerDuty's recorded format."""
    return json.dumps({"event": {
        "id": eid, "event_type": etype, "resource_type": "incident",
        "occurred_at": "2026-12-02T19:05:00.000Z",
        "agent": {"html_url": "https://acme.pagerduty.com/users/PLH1HKV", "id": "PLH1HKV",
                  "self": "https://api.pagerduty.com/users/PLH1HKV", "summary": "Tenex Engineer",
                  "type": "user_reference"},
        "client": None,
        "data": {"id": incident, "type": "incident",
                 "self": "https://api.pagerduty.com/incidents/" + incident,
                 "html_url": "https://acme.pagerduty.com/incidents/" + incident,
                 "number": 7, "status": etype.split(".")[1],
                 "incident_key": "d3640fbd41094207a1c11e58e46b1662",
                 "created_at": "2026-12-02T19:00:00Z", "title": "Disk full on db1",
                 "service": {"id": "PF9KMXH", "summary": "API Service",
                             "type": "service_reference"},
                 "assignees": [], "escalation_policy": {"id": "PUS0KTE",
                                                        "type": "escalation_policy_reference"},
                 "teams": [], "priority": None, "urgency": "high",
                 "conference_bridge": None, "resolve_reason": None}}}).encode()


def pd_sig(body, *secrets):
    return ",".join("v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest()
                    for s in secrets)


def fired(fleet, trigger):
    return [json.loads(f["data"]) for _, f in fleet.r.xrange("wt:events")
            if f.get("type") == "trigger_fired" and json.loads(f["data"]).get("trigger") == trigger]


def resolved_events(fleet):
    return [json.loads(f["data"]) for _, f in fleet.r.xrange("wt:events")
            if f.get("type") == "alert_resolved"]


def wait_event(fleet, sid, typ, timeout_s=60):
    """Blocks (XREAD, bounded) until sid's own stream holds an event of typ; returns its data."""
    key = "wt:session:%s:events" % sid
    last = "0"
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("session %s: no %s event" % (sid, typ))
        for _, entries in fleet.r.xread({key: last}, block=int(min(left, 1) * 1000)) or []:
            for eid, f in entries:
                last = eid
                if f["type"] == typ:
                    return json.loads(f["data"])


def main():
    check = Check()
    fleet = Fleet("trig-alert")
    fake, base = start_fake(fleet.dir, "fake")
    try:
        fleet.start_redis()
        path = os.path.join(fleet.dir, "triggers.yml")
        with open(path, "w") as f:
            f.write(TRIGGERS)
        os.environ.update({"WT_TEST_AM_TOKEN": TOKEN, "WT_TEST_PD_OLD": PD_OLD,
                           "WT_TEST_PD_NEW": PD_NEW, "WT_TEST_AM_PASSWORD": PASSWORD})
        fleet.start_broker("--triggers", path, "--workflows", WORKFLOWS)
        web = Http(fleet.http_port)
        fleet.wait_for(lambda: web.post("/webhook/none", b"{}")[0] == 404, 10, "http up")
        auth = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}

        # --- alertmanager: two firing alerts -> two sessions ---
        body = am_payload([alert("a1b2c3d4e5f60718", "HighLatency", "db1"),
                           alert(None, "HighLatency", "db2")])
        st, j, _ = web.post("/webhook/am", body, auth)
        started = j.get("started") or []
        check(st == 200 and len(started) == 2 and j.get("repeats") == 0,
              "two firing alerts -> two sessions (%s %s)" % (st, j))
        sa, sb = (started + [None, None])[:2]
        h = fleet.r.hgetall("wt:session:%s" % sa) if sa else {}
        check(h.get("goal") == "Triage HighLatency on db1 (storage): db1 is unhappy since "
              "2026-12-02T19:00:00Z", "goal from $.labels, $.annotations, $.startsAt and "
              "$group.commonLabels (%r)" % h.get("goal"))
        ctx = json.loads(h.get("context") or "{}")
        check(ctx.get("alertname") == "HighLatency" and ctx.get("severity") == "page" and
              ctx.get("groupKey", "").startswith("{}:"), "context mapped (%r)" % ctx)

        # Alertmanager's repeats: same alerts, same startsAt -> nothing new.
        for _ in range(3):
            st, j, _ = web.post("/webhook/am", body, auth)
        check(st == 200 and j.get("started") == [] and j.get("repeats") == 2,
              "repeated notification starts nothing (%s)" % j)
        check(len(fired(fleet, "am")) == 2, "still two trigger_fired for am (%d)"
              % len(fired(fleet, "am")))

        # Resolved with no session: nothing.
        st, j, _ = web.post("/webhook/am", am_payload(
            [alert("ffff000011112222", "Gone", "db9", "resolved", ends="2026-12-02T19:03:00Z")],
            "resolved"), auth)
        check(st == 200 and j.get("ignored") == 1 and j.get("started") == [] and
              not resolved_events(fleet), "resolved alert without a session starts nothing (%s)"
              % j)

        # Bad input: clear error, counted, no crash.
        cases = [
            (body, {"Authorization": "Bearer wrong"}, 401, "credentials do not match"),
            (body, {}, 401, "missing Authorization"),
            (body, {"Authorization": "Basic " + base64.b64encode(b"x:" + TOKEN.encode()).decode()},
             401, "credentials do not match"),
            (b'{"alerts": [', auth, 400, "bad JSON"),
            (b'{"version": "3", "alerts": []}', auth, 400, "'version' must be \"4\""),
            (b'{"alerts": [{"status": "firing"}]}', auth, 400, "alerts[0] has no 'labels'"),
        ]
        for b, hd, want, text in cases:
            st, j, _ = web.post("/webhook/am", b, hd)
            check(st == want and text in j.get("error", ""),
                  "bad input -> %d %r (%s %s)" % (want, text, st, j))

        # Basic auth trigger.
        good = "Basic " + base64.b64encode(("alertmanager:" + PASSWORD).encode()).decode()
        bad = "Basic " + base64.b64encode(b"alertmanager:nope").decode()
        st1, j1, _ = web.post("/webhook/am-basic", am_payload([alert("0a0a", "Basic", "x")]),
                              {"Authorization": good})
        st2, j2, _ = web.post("/webhook/am-basic", am_payload([alert("0b0b", "Basic", "y")]),
                              {"Authorization": bad})
        check(st1 == 200 and len(j1.get("started", [])) == 1 and st2 == 401,
              "basic auth: right password 200, wrong 401 (%s %s / %s %s)" % (st1, j1, st2, j2))
        # maxQueueDepth 1 with its one session queued: a new alert is deferred
        # (Alertmanager's next repeat brings it again), a PagerDuty incident 429.
        st3, j3, _ = web.post("/webhook/am-basic", am_payload([alert("0c0c", "Basic", "z")]),
                              {"Authorization": good})
        check(st3 == 200 and j3.get("started") == [] and j3.get("deferred") == 1,
              "full queue: the new alert deferred, nothing started (%s %s)" % (st3, j3))
        p1, p2 = pd_event("incident.triggered", "PFULL1"), pd_event("incident.triggered", "PFULL2")
        r1 = web.post("/webhook/pd-full", p1, {"X-PagerDuty-Signature": pd_sig(p1, PD_OLD)})
        r2 = web.post("/webhook/pd-full", p2, {"X-PagerDuty-Signature": pd_sig(p2, PD_OLD)})
        check(r1[0] == 200 and r2[0] == 429 and r2[2].get("Retry-After", "").isdigit() and
              "maxQueueDepth 1" in r2[1].get("error", ""),
              "full queue: the second PD incident 429 + Retry-After (%s / %s %s)"
              % (r1[0], r2[0], r2[1]))

        # --- pagerduty ---
        trig = pd_event("incident.triggered")
        st, j, _ = web.post("/webhook/pd", trig, {"X-PagerDuty-Signature": pd_sig(trig, PD_OLD)})
        spd = j.get("session")
        check(st == 200 and spd and j.get("duplicate") is False,
              "incident.triggered signed with the old secret -> session (%s %s)" % (st, j))
        hp = fleet.r.hgetall("wt:session:%s" % spd) if spd else {}
        check(hp.get("goal") == "PagerDuty 7: Disk full on db1", "PD goal (%r)" % hp.get("goal"))
        # Redelivery during rotation: two signatures, one by an unknown key.
        st, j, _ = web.post("/webhook/pd", trig, {"X-PagerDuty-Signature":
                                                  pd_sig(trig, "not-ours", PD_NEW)})
        check(st == 200 and j.get("session") == spd and j.get("duplicate") is True,
              "rotation: v1=<other>,v1=<new> accepted, same incident -> same session (%s)" % j)
        st, j, _ = web.post("/webhook/pd", trig, {"X-PagerDuty-Signature": pd_sig(trig, "x")})
        check(st == 401 and "no X-PagerDuty-Signature matches" in j.get("error", ""),
              "bad signature -> 401 (%s)" % j)
        st, j, _ = web.post("/webhook/pd", trig)
        check(st == 401 and "missing X-PagerDuty-Signature" in j.get("error", ""),
              "missing signature -> 401 (%s)" % j)
        ack = pd_event("incident.acknowledged")
        st, j, _ = web.post("/webhook/pd", ack, {"X-PagerDuty-Signature": pd_sig(ack, PD_NEW)})
        check(st == 200 and j.get("dispatched") is False, "acknowledged: answered, ignored (%s)" % j)
        junk = b'{"event": {"event_type": "incident.triggered", "data": {}}}'
        st, j, _ = web.post("/webhook/pd", junk, {"X-PagerDuty-Signature": pd_sig(junk, PD_OLD)})
        check(st == 400 and "event.data.id" in j.get("error", ""), "PD bad shape -> 400 (%s)" % j)
        check(len(fired(fleet, "pd")) == 1, "one session for the PD incident")

        # incident.resolved while its session still waits for a worker: the
        # message waits in the session's tell list for its first turn.
        resd = pd_event("incident.resolved", eid="01DEN4HLG7IOPLK06WRTDHOYTD")
        st, j, _ = web.post("/webhook/pd", resd, {"X-PagerDuty-Signature": pd_sig(resd, PD_NEW)})
        check(st == 200 and j.get("session") == spd and j.get("resolved_told") is True,
              "incident.resolved told to its (queued) session (%s %s)" % (st, j))
        own = [d for _, t, d, _ in fleet.events(spd) if t == "alert_resolved"]
        check(len(own) == 1 and own[0].get("provider") == "pagerduty" and
              own[0].get("incident") == "Q2MAGRBEXN1UYE",
              "alert_resolved on the queued PD session's own event stream (%r)" % own)

        # --- the resolution reaches a running session ---
        # Every session's first LLM request is held at the fake, so alert a's
        # session is running, mid-turn, when its resolution arrives.
        live = [x for x in fleet.r.zrange("wt:sessions", 0, -1)
                if fleet.r.hget("wt:session:%s" % x, "status") == "queued"]
        control(base, "/_control/script", HOLD * len(live))
        fleet.start_worker("w1", 8, None, "--provider", "anthropic", "--base-url", base,
                           env={"ANTHROPIC_API_KEY": KEY})
        fleet.wait_workers(1)
        wait_requests(base, len(live), 60)
        check(fleet.r.hget("wt:session:%s" % sa, "status") == "running", "session of a running")
        res = am_payload([alert("a1b2c3d4e5f60718", "HighLatency", "db1", "resolved",
                                ends="2026-12-02T19:10:00Z")], "resolved")
        st, j, _ = web.post("/webhook/am", res, auth)
        check(st == 200 and j.get("resolved_told") == 1, "resolution told (%s %s)" % (st, j))
        ev = [e for e in resolved_events(fleet) if e.get("session") == sa]
        check(len(ev) == 1 and ev[0]["trigger"] == "am" and ev[0]["provider"] == "alertmanager"
              and ev[0]["incident"] == "a1b2c3d4e5f60718", "alert_resolved event (%r)" % ev)
        own = [(d, ep) for _, t, d, ep in fleet.events(sa) if t == "alert_resolved"]
        check(len(own) == 1 and own[0][0].get("incident") == "a1b2c3d4e5f60718" and
              own[0][0].get("session") == sa and own[0][1] is not None,
              "alert_resolved on the running session's own event stream (%r)" % own)
        check(not any("has resolved" in texts(q) for q in wait_requests(base, len(live), 1)),
              "no request in flight carries it")
        control(base, "/_control/script", [cs("looked")] * len(live) +
                [cs("done", {"answer": "ok"})] * len(live))
        got = wait_event(fleet, sa, "message_received")
        check("has resolved: HighLatency - db1 is unhappy" in got.get("message", "") and
              got.get("from") == "tell",
              "the agent receives the resolution before its next turn (%r)" % got)
        fleet.wait_for(lambda: any("Message from the operator: [alertmanager] The alert this "
                                   "session investigates has resolved" in texts(q)
                                   for q in wait_requests(base, 1, 1)), 30,
                       "an LLM request carrying the resolution")
        st, j, _ = web.post("/webhook/am", res, auth)
        check(st == 200 and j.get("resolved_told") == 0 and j.get("ignored") == 1,
              "a repeated resolution is not told twice (%s)" % j)
        check(len([1 for _, t, _, _ in fleet.events(sa) if t == "alert_resolved"]) == 1,
              "the repeated resolution adds no alert_resolved to the session")

        got = wait_event(fleet, spd, "message_received")
        check("Incident Q2MAGRBEXN1UYE - Disk full on db1 was resolved" in got.get("message", ""),
              "PD resolution told while queued reaches the agent at its first turn (%r)" % got)

        # The same alert firing again later is a new incident.
        again = am_payload([alert("a1b2c3d4e5f60718", "HighLatency", "db1",
                                  starts="2026-12-02T20:00:00Z")])
        st, j, _ = web.post("/webhook/am", again, auth)
        check(st == 200 and len(j.get("started", [])) == 1 and j["started"][0] not in (sa, sb),
              "the alert firing again (new startsAt) -> a new session (%s)" % j)

        m = fleet.metrics()
        for line in ['wt_alert_total{trigger="am",outcome="started"} 3',
                     'wt_alert_total{trigger="am",outcome="repeat"} 6',
                     'wt_alert_total{trigger="am",outcome="resolved_told"} 1',
                     'wt_alert_total{trigger="am",outcome="resolved_ignored"} 2',
                     'wt_alert_total{trigger="am",outcome="rejected"} 3',
                     'wt_alert_total{trigger="am",outcome="bad_payload"} 3',
                     'wt_alert_total{trigger="pd",outcome="rejected"} 2',
                     'wt_alert_total{trigger="am-basic",outcome="deferred"} 1',
                     'wt_alert_total{trigger="pd-full",outcome="deferred"} 1',
                     'wt_alert_total{trigger="pd",outcome="resolved_told"} 1',
                     'wt_webhook_requests_total{code="401"} 6']:
            check(line in m, "metrics: %s" % line)

        # The bundled example trigger file validates against the bundled workflows.
        r = fleet.run_cli("validate", "coordinator/examples/triggers-alerts.yml", "--workflows",
                          WORKFLOWS, env={"ALERTMANAGER_TOKEN": "t", "PAGERDUTY_WEBHOOK_SECRET": "s"})
        check(r.returncode == 0 and "ok (3 triggers)" in r.stdout,
              "coordinator/examples/triggers-alerts.yml validates (%r %r)" % (r.stdout, r.stderr))

        # No secret in Redis or the broker log.
        secrets = [TOKEN, PD_OLD, PD_NEW, PASSWORD]
        leaked = []
        for k in fleet.r.scan_iter("*"):
            t = fleet.r.type(k)
            vals = {"string": lambda: [fleet.r.get(k)],
                    "hash": lambda: list(fleet.r.hgetall(k).values()),
                    "list": lambda: fleet.r.lrange(k, 0, -1),
                    "stream": lambda: [json.dumps(f) for _, f in fleet.r.xrange(k)]}.get(
                        t, lambda: [])()
            if any(s in (v or "") for v in vals for s in secrets):
                leaked.append(k)
        with open(os.path.join(fleet.dir, "broker.log"), errors="replace") as f:
            log = f.read()
        check(not leaked and not any(s in log for s in secrets),
              "no secret in Redis or the broker log (%r)" % leaked)
    except Exception:
        fleet.dump_logs()
        raise
    finally:
        fleet.stop()
        fake.kill()
        fake.wait()
    check.done()


if __name__ == "__main__":
    main()
