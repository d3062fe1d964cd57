# ctest-timeout: 150
"""Alert intake end to end with the real Debian `prometheus` and
`prometheus-alertmanager` on free loopback ports (DESIGN.md section 18):
Prometheus scrapes two file_sd targets that nobody listens on, so the rule
`up{job="svc"} == 0` fires for both at once; Alertmanager (group_wait 1s,
group_interval 1s, repeat_interval 2s, bearer auth from http_config) posts
to the broker's /webhook/am. Over several repeat notifications exactly one
session starts per firing alert. Both sessions run on a worker whose LLM
(the fake) holds their first request; the targets file is then emptied, the
alerts stop firing, Alertmanager sends the resolution, and each running
session gets an alert_resolved event and the operator message in its next
LLM request. Skipped (77) when the packages are missing."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from test_tell_inbox import HOLD, KEY, control, cs, start_fake, texts, wait_requests  # noqa: E402
from wtfleet import WORKFLOWS, Check, Fleet, free_port  # noqa: E402

TOKEN = "prom-am-bearer-for-tests"
PROM = "/usr/bin/prometheus"
AM = "/usr/bin/prometheus-alertmanager"

TRIGGERS = """\
triggers:
  - id: am
    provider: alertmanager
    workflowId: two-step
    goalTemplate: "Triage {{$.labels.alertname}} on {{$.labels.instance}}: {{$.annotations.summary}}"
    contextMapping: {instance: $.labels.instance, receiver: $group.receiver}
    auth: {bearer: $WT_TEST_AM_TOKEN}
"""


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)  # atomic: file_sd never reads half a file


def metric(fleet, name):
    for line in fleet.metrics().splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[-1]))
    return 0


def fired(fleet):
    return [json.loads(f["data"]) for _, f in fleet.r.xrange("wt:events")
            if f.get("type") == "trigger_fired"]


def resolved(fleet):
    return [json.loads(f["data"]) for _, f in fleet.r.xrange("wt:events")
            if f.get("type") == "alert_resolved"]


def main():
    if not (os.access(PROM, os.X_OK) and os.access(AM, os.X_OK)):
        print("prometheus / prometheus-alertmanager not installed (deploy/install-deps.sh)")
        sys.exit(77)
    check = Check()
    fleet = Fleet("alert-prom")
    d = fleet.dir
    fake, base = start_fake(d, "fake")
    try:
        fleet.start_redis()
        trig = os.path.join(d, "triggers.yml")
        write(trig, TRIGGERS)
        os.environ["WT_TEST_AM_TOKEN"] = TOKEN
        fleet.start_broker("--triggers", trig, "--workflows", WORKFLOWS)
        control(base, "/_control/script", HOLD * 2)  # both first requests wait here
        fleet.start_worker("w1", 2, None, "--provider", "anthropic", "--base-url", base,
                           env={"ANTHROPIC_API_KEY": KEY})

        am_port, prom_port = free_port(), free_port()
        dead = [free_port(), free_port()]  # nobody listens: up == 0
        targets = os.path.join(d, "targets.json")
        write(targets, json.dumps([{"targets": ["127.0.0.1:%d" % p for p in dead]}]))
        write(os.path.join(d, "rules.yml"), """\
groups:
  - name: wt
    interval: 1s
    rules:
      - alert: TargetDown
        expr: up{job="svc"} == 0
        labels: {severity: page}
        annotations: {summary: "{{ $labels.instance }} does not answer"}
""")
        write(os.path.join(d, "prometheus.yml"), """\
global: {scrape_interval: 1s, scrape_timeout: 500ms, evaluation_interval: 1s}
rule_files: [%s/rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["127.0.0.1:%d"]}]
scrape_configs:
  - job_name: svc
    file_sd_configs: [{files: [%s], refresh_interval: 1s}]
""" % (d, am_port, targets))
        write(os.path.join(d, "alertmanager.yml"), """\
route:
  receiver: worktrain
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: worktrain
    webhook_configs:
      - url: http://127.0.0.1:%d/webhook/am
        send_resolved: true
        http_config: {authorization: {type: Bearer, credentials: %s}}
""" % (fleet.http_port, TOKEN))
        fleet._spawn("alertmanager", [AM, "--config.file", os.path.join(d, "alertmanager.yml"),
                                      "--storage.path", os.path.join(d, "am-data"),
                                      "--web.listen-address", "127.0.0.1:%d" % am_port,
                                      "--cluster.listen-address", ""])
        fleet._spawn("prometheus", [PROM, "--config.file", os.path.join(d, "prometheus.yml"),
                                    "--storage.tsdb.path", os.path.join(d, "prom-data"),
                                    "--web.listen-address", "127.0.0.1:%d" % prom_port])

        # Firing: Alertmanager's first notification, then repeats.
        fleet.wait_for(lambda: len(fired(fleet)) >= 2, 40, "a session per firing alert")
        fleet.wait_for(lambda: metric(fleet, 'wt_alert_total{trigger="am",outcome="repeat"}') >= 6,
                       40, "three repeat notifications of both alerts")
        f = fired(fleet)
        sids = [e["session"] for e in f]
        goals = sorted(fleet.r.hget("wt:session:%s" % s, "goal") for s in sids)
        want = sorted("Triage TargetDown on 127.0.0.1:%d: 127.0.0.1:%d does not answer" % (p, p)
                      for p in dead)
        check(len(f) == 2 and goals == want,
              "exactly one session per firing alert over the repeats (%d, %r)" % (len(f), goals))
        ctx = json.loads(fleet.r.hget("wt:session:%s" % sids[0], "context") or "{}")
        check(ctx.get("receiver") == "worktrain", "$group.receiver in the context (%r)" % ctx)
        check(metric(fleet, 'wt_alert_total{trigger="am",outcome="rejected"}') == 0,
              "Alertmanager's bearer token accepted")

        # Both sessions running, their first LLM request held at the fake.
        wait_requests(base, 2, 40)
        fleet.wait_for(lambda: all(fleet.r.hget("wt:session:%s" % s, "status") == "running"
                                   for s in sids), 30, "both sessions running")

        # The target file changes: the alerts stop firing, the resolution arrives.
        write(targets, "[]")
        fleet.wait_for(lambda: len(resolved(fleet)) >= 2, 40, "alert_resolved for both")
        r = resolved(fleet)
        check(sorted(e["session"] for e in r) == sorted(sids) and
              all(e["provider"] == "alertmanager" for e in r),
              "one alert_resolved per running session (%r)" % [e["session"] for e in r])
        for s in sids:
            own = [d for _, t, d, _ in fleet.events(s) if t == "alert_resolved"]
            check(len(own) == 1 and own[0].get("session") == s and
                  own[0].get("provider") == "alertmanager",
                  "session %s: alert_resolved on its own event stream (%r)" % (s, own))
        check(len(fired(fleet)) == 2, "no session started by the resolution")

        # Release the LLM: each session's next request carries the resolution.
        control(base, "/_control/script", [cs("looked"), cs("looked"),
                                           cs("resolved", {"answer": "ok"}),
                                           cs("resolved", {"answer": "ok"})])
        fleet.wait_completed(sids, 60)
        reqs = wait_requests(base, 4, 10)
        carried = [q for q in reqs if "has resolved: TargetDown" in texts(q)]
        # the message stays in the conversation, so every later request of a
        # session carries it too: at least one per session
        check(len(carried) >= 2, "LLM requests carry the resolution (%d)" % len(carried))
        for s in sids:
            evs = [(t, dd) for _, t, dd, _ in fleet.events(s)]
            got = [dd for t, dd in evs if t == "message_received"]
            check(len(got) == 1 and "has resolved: TargetDown" in got[0]["message"],
                  "session %s: one message_received with the resolution" % s)
            starts = [i for i, (t, _) in enumerate(evs) if t == "llm_turn_started"]
            told = [i for i, (t, _) in enumerate(evs) if t == "message_received"]
            check(len(starts) >= 2 and told and told[0] < starts[1],
                  "session %s: the resolution reached the agent before its next turn" % s)
        check(len(fired(fleet)) == 2, "still two sessions in all")
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
