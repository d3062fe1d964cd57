# ctest-timeout: 180
"""Notifications (DESIGN section 5, README "Notifications"): a worker with
WORKTRAIN_NOTIFY_WEBHOOK / WORKTRAIN_NOTIFY_SLACK posts once per
session_completed to a fake receiver (tests/fakes/fake_webhook.py).

(a) webhook up: exactly one POST with the seven fields and the right values,
    and a "delivered" record in wt:notifications that holds no URL;
(b) Slack: one POST whose "text" names the session;
(c) webhook down - 500 with a slow answer, and a closed port: sessions still
    complete at once (a 1-slot worker runs the next session while the first
    one's notification is still being retried), and the notification is
    recorded "failed" after exactly WORKTRAIN_NOTIFY_ATTEMPTS tries;
(d) bad WORKTRAIN_NOTIFY_* values stop the worker with an error naming the
    variable, never echoing the URL.
Waits are XREAD BLOCK on wt:notifications or on the fleet stream, bounded."""
import json
import os
import re
import sys
import time
import urllib.request
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import REPO, SCRIPTS, Check, Fleet, free_port  # noqa: E402

FAKE = os.path.join(REPO, "tests", "fakes", "fake_webhook.py")
SCRIPT = os.path.join(SCRIPTS, "two-step.json")
SECRETS = ["WEBHOOKSECRET1", "SLACKSECRET2", "DOWNSECRET3", "CLOSEDSECRET4"]
FIELDS = {"event", "workflowId", "sessionId", "outcome", "detail", "goal", "timestamp"}


def control(base, path, obj=None):
    data = json.dumps(obj).encode() if obj is not None else None
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def start_receiver(fleet):
    port_file = os.path.join(fleet.dir, "webhook.port")
    fleet._spawn("webhook", ["/usr/bin/python3", FAKE, "--port-file", port_file])
    fleet.wait_for(lambda: os.path.exists(port_file), 10, "fake webhook receiver")
    return "http://127.0.0.1:%s" % open(port_file).read().strip()


def wait_records(fleet, sids, per_sid, timeout_s):
    """XREAD BLOCK on wt:notifications until each sid has per_sid records."""
    got = {}
    last = "0"
    deadline = time.monotonic() + timeout_s
    while any(len(got.get(s, [])) < per_sid for s in sids):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("notification records: %s" % {s: len(got.get(s, [])) for s in sids})
        res = fleet.r.xread({"wt:notifications": last}, count=1000,
                            block=int(min(left, 1.0) * 1000))
        for _, entries in res or []:
            for eid, f in entries:
                last = eid
                if f.get("session") in sids:
                    got.setdefault(f["session"], []).append(f)
    return got


def records_of(fleet, sid):
    return [f for _, f in fleet.r.xrange("wt:notifications") if f.get("session") == sid]


def stop_worker(fleet, name):
    fleet.kill("worker-" + name, 15)
    fleet.procs["worker-" + name].wait(timeout=20)
    fleet.wait_workers(0, exact=True)


def no_secret_anywhere(fleet, check):
    leaks = []
    for eid, f in fleet.r.xrange("wt:notifications"):
        for k, v in f.items():
            if any(s in v for s in SECRETS) or "/hooks" in v or "/services" in v or "http" in v:
                leaks.append((eid, k, v))
    check(not leaks, "no URL or secret in any wt:notifications field %s" % leaks[:3])
    dump = []
    for key in fleet.r.scan_iter("wt:*"):
        t = fleet.r.type(key)
        if t == "hash":
            dump.append(json.dumps(fleet.r.hgetall(key)))
        elif t == "stream":
            dump.append(json.dumps(fleet.r.xrange(key)))
    check(not any(s in "".join(dump) for s in SECRETS), "no webhook secret anywhere in Redis")
    logs = ""
    for name in os.listdir(fleet.dir):
        if name.startswith("worker-") and name.endswith(".log"):
            logs += open(os.path.join(fleet.dir, name), errors="replace").read()
    check(not any(s in logs for s in SECRETS), "no webhook secret in the worker logs")


def notify_env(**kw):
    env = {"WORKTRAIN_NOTIFY_WEBHOOK": "", "WORKTRAIN_NOTIFY_SLACK": "",
           "WORKTRAIN_NOTIFY_ATTEMPTS": "", "WORKTRAIN_NOTIFY_BACKOFF_MS": ""}
    env.update(kw)
    return env


def case_delivered(fleet, check, base):
    hook = base + "/hooks/T111/B222/WEBHOOKSECRET1"
    slack = base + "/services/T333/B444/SLACKSECRET2"
    fleet.start_worker("wa", 2, SCRIPT, env=notify_env(WORKTRAIN_NOTIFY_WEBHOOK=hook,
                                                        WORKTRAIN_NOTIFY_SLACK=slack))
    fleet.wait_workers(1)
    c = fleet.client()
    sid = c.spawn("two-step", "notify goal <A> & more")
    c.close()
    fleet.wait_completed([sid], timeout_s=60)
    recs = wait_records(fleet, [sid], 2, 30)[sid]
    by_target = {f["target"]: f for f in recs}
    check(len(recs) == 2 and set(by_target) == {"webhook", "slack"},
          "one record per target %s" % [(f["target"], f["outcome"]) for f in recs])
    for t in ("webhook", "slack"):
        f = by_target.get(t, {})
        check(f.get("outcome") == "delivered" and f.get("attempts") == "1"
              and f.get("status") == "200" and f.get("error") == ""
              and f.get("event") == "session_completed" and f.get("ts_ms", "").isdigit(),
              "%s record: delivered on the first try %s" % (t, f))

    reqs = control(base, "/_control/requests")
    hooks = [q for q in reqs if q["path"] == "/hooks/T111/B222/WEBHOOKSECRET1"]
    slacks = [q for q in reqs if q["path"] == "/services/T333/B444/SLACKSECRET2"]
    check(len(hooks) == 1, "webhook received exactly one POST (got %d)" % len(hooks))
    check(len(slacks) == 1, "Slack received exactly one POST (got %d)" % len(slacks))
    if hooks:
        b = hooks[0]["body"] or {}
        check(set(b) == FIELDS, "webhook body has the seven fields %s" % sorted(b))
        check(b.get("event") == "session_completed" and b.get("sessionId") == sid
              and b.get("workflowId") == "two-step" and b.get("outcome") == "success"
              and b.get("goal") == "notify goal <A> & more" and b.get("detail") == "",
              "webhook body values %s" % b)
        ts = b.get("timestamp", "")
        ok = re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ts) is not None
        if ok:
            when = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
            ok = abs(when.timestamp() - time.time()) < 120
        check(ok, "timestamp is ISO-8601 UTC and current (%s)" % ts)
        check(hooks[0]["headers"].get("content-type") == "application/json",
              "webhook Content-Type is application/json")
    if slacks:
        b = slacks[0]["body"] or {}
        text = b.get("text", "")
        check(isinstance(text, str) and sid in text and "success" in text and "\n" not in text,
              "Slack text is one line naming the session and outcome: %r" % text)
        check("&lt;A&gt; &amp; more" in text, "Slack text escapes & < > (%r)" % text)
    stop_worker(fleet, "wa")


def case_down(fleet, check, base):
    # 500 after 2 s per try, 3 tries: ~6 s per notification, one at a time.
    control(base, "/_control/reset", {})
    control(base, "/_control/mode", {"status": 500, "delay_ms": 2000})
    hook = base + "/hooks/T555/B666/DOWNSECRET3"
    fleet.start_worker("wb", 1, SCRIPT, env=notify_env(
        WORKTRAIN_NOTIFY_WEBHOOK=hook, WORKTRAIN_NOTIFY_ATTEMPTS="3",
        WORKTRAIN_NOTIFY_BACKOFF_MS="20"))
    fleet.wait_workers(1)
    c = fleet.client()
    s1 = c.spawn("two-step", "first while the webhook fails")
    s2 = c.spawn("two-step", "second while the webhook fails")
    c.close()
    t0 = time.monotonic()
    r = fleet.run_cli("await", s1, s2, "--timeout", "60s")
    took = time.monotonic() - t0
    early = records_of(fleet, s1)
    check(r.returncode == 0, "both sessions complete while the webhook fails (await exit %d %s)"
          % (r.returncode, r.stderr.strip()))
    check(not early, "the 1-slot worker ran the second session before the first one's "
          "notification was given up (%d records, await %.1fs)" % (len(early), took))
    check(took < 5.0, "await returned promptly (%.1fs < 5s)" % took)
    recs = wait_records(fleet, [s1, s2], 1, 60)
    for sid in (s1, s2):
        f = recs[sid][0]
        check(len(recs[sid]) == 1 and f.get("target") == "webhook" and f.get("outcome") == "failed"
              and f.get("attempts") == "3" and f.get("status") == "500"
              and f.get("error") == "HTTP 500", "failed record after 3 attempts %s" % f)
    reqs = control(base, "/_control/requests")
    for sid in (s1, s2):
        n = sum(1 for q in reqs if (q["body"] or {}).get("sessionId") == sid)
        check(n == 3, "receiver saw exactly 3 tries for %s (got %d)" % (sid[-6:], n))
    control(base, "/_control/mode", {"status": 200})
    stop_worker(fleet, "wb")

    # Nothing listens: connection refused on every try.
    closed = "http://127.0.0.1:%d/hooks/CLOSEDSECRET4" % free_port()
    fleet.start_worker("wc", 2, SCRIPT, env=notify_env(
        WORKTRAIN_NOTIFY_WEBHOOK=closed, WORKTRAIN_NOTIFY_ATTEMPTS="4",
        WORKTRAIN_NOTIFY_BACKOFF_MS="20"))
    fleet.wait_workers(1)
    c = fleet.client()
    s3 = c.spawn("two-step", "webhook port closed")
    c.close()
    t0 = time.monotonic()
    r = fleet.run_cli("await", s3, "--timeout", "60s")
    took = time.monotonic() - t0
    check(r.returncode == 0 and took < 5.0,
          "session completes with the webhook port closed (exit %d, %.1fs)" % (r.returncode, took))
    f = wait_records(fleet, [s3], 1, 30)[s3][0]
    check(f.get("outcome") == "failed" and f.get("attempts") == "4" and f.get("status") == "0"
          and "connect" in f.get("error", "").lower(),
          "closed port: failed after 4 attempts with a connect error %s" % f)
    port = closed.split(":")[2].split("/")[0]
    check(port not in f.get("error", ""), "the error names no host or port")
    stop_worker(fleet, "wc")


def case_bad_env(fleet, check):
    for env, var in [({"WORKTRAIN_NOTIFY_ATTEMPTS": "lots"}, "WORKTRAIN_NOTIFY_ATTEMPTS"),
                     ({"WORKTRAIN_NOTIFY_WEBHOOK": "ftp://h/BADSECRET5"},
                      "WORKTRAIN_NOTIFY_WEBHOOK")]:
        r = fleet.run_cli("worker", "--redis", fleet.redis_url, "--broker", fleet.workers_ep,
                          "--provider", "scripted", "--script", SCRIPT, timeout=20,
                          env=notify_env(**env))
        check(r.returncode == 2 and var in r.stderr and "BADSECRET5" not in r.stderr,
              "bad %s: worker refuses to start, naming it (exit %d: %s)"
              % (var, r.returncode, r.stderr.strip()))


def main():
    check = Check()
    fleet = Fleet("notify")
    try:
        fleet.start_redis()
        fleet.start_broker()
        base = start_receiver(fleet)
        case_delivered(fleet, check, base)
        case_down(fleet, check, base)
        case_bad_env(fleet, check)
        no_secret_anywhere(fleet, check)
    except Exception as e:  # report, then fail
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
