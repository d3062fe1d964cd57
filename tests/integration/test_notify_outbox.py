# ctest-timeout: 180
"""Notification outbox (README "Notifications"): a worker is killed (SIGKILL)
while its webhook receiver is down; once the receiver is back, another worker
with the same target configured delivers the pending notification from the
Redis outbox:

- before the kill the entry is in wt:notify:outbox:webhook with its hash
  wt:notify:<id> naming the target ("webhook"), never its URL;
- after: the receiver got the notification, every try (before and after the
  kill) carried the same Idempotency-Key, equal to the outbox id;
- wt:notifications records "delivered" with that key, and the outbox is empty;
- no secret anywhere in Redis.
Waits are bounded polls of the receiver's record or XREAD BLOCK."""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import REPO, SCRIPTS, Check, Fleet  # noqa: E402

FAKE = os.path.join(REPO, "tests", "fakes", "fake_webhook.py")
SCRIPT = os.path.join(SCRIPTS, "two-step.json")
SECRET = "OUTBOXSECRET7"


def control(base, path, obj=None):
    data = json.dumps(obj).encode() if obj is not None else None
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def tries_of(base, sid):
    return [q for q in control(base, "/_control/requests")
            if (q["body"] or {}).get("sessionId") == sid]


def env_for(hook):
    return {"WORKTRAIN_NOTIFY_WEBHOOK": hook, "WORKTRAIN_NOTIFY_SLACK": "",
            "WORKTRAIN_NOTIFY_ATTEMPTS": "30", "WORKTRAIN_NOTIFY_BACKOFF_MS": "100",
            "WORKTRAIN_NOTIFY_TIMEOUT_MS": "2000"}


def wait_record(fleet, sid, timeout_s):
    last = "0"
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no wt:notifications record for %s" % sid)
        res = fleet.r.xread({"wt:notifications": last}, count=100, block=int(min(left, 1) * 1000))
        for _, entries in res or []:
            for eid, f in entries:
                last = eid
                if f.get("session") == sid:
                    return f


def main():
    check = Check()
    fleet = Fleet("outbox")
    try:
        fleet.start_redis()
        fleet.start_broker()
        port_file = os.path.join(fleet.dir, "webhook.port")
        fleet._spawn("webhook", ["/usr/bin/python3", FAKE, "--port-file", port_file,
                                 "--status", "503", "--delay-ms", "300"])
        fleet.wait_for(lambda: os.path.exists(port_file), 10, "fake webhook receiver")
        base = "http://127.0.0.1:%s" % open(port_file).read().strip()
        hook = base + "/hooks/T1/B1/" + SECRET

        fleet.start_worker("w1", 1, SCRIPT, env=env_for(hook))
        fleet.wait_workers(1)
        c = fleet.client()
        sid = c.spawn("two-step", "notify through the outbox")
        c.close()
        fleet.wait_completed([sid], timeout_s=60)
        fleet.wait_for(lambda: len(tries_of(base, sid)) >= 2, 20, "two failed tries")
        fleet.kill("worker-w1")
        fleet.procs["worker-w1"].wait(timeout=10)

        ids = fleet.r.zrange("wt:notify:outbox:webhook", 0, -1)
        check(len(ids) == 1, "one entry in the outbox after the kill (%s)" % ids)
        entry = fleet.r.hgetall("wt:notify:%s" % ids[0]) if ids else {}
        check(entry.get("target") == "webhook" and entry.get("event") == "session_completed",
              "the entry names the target and event %s" % {k: entry.get(k)
                                                           for k in ("target", "event")})
        check(int(entry.get("attempts", "0")) >= 2, "attempts counted (%s)" % entry.get("attempts"))
        check(not any("http" in v or SECRET in v for v in entry.values()),
              "no URL in the outbox entry")
        check(json.loads(entry.get("body", "{}")).get("sessionId") == sid,
              "the entry holds the notification body")
        check(not [f for _, f in fleet.r.xrange("wt:notifications") if f.get("session") == sid],
              "nothing recorded yet")

        control(base, "/_control/mode", {"status": 200})
        fleet.start_worker("w2", 1, SCRIPT, env=env_for(hook))
        rec = wait_record(fleet, sid, 30)
        key = ids[0] if ids else "?"
        check(rec.get("outcome") == "delivered" and rec.get("status") == "200"
              and rec.get("target") == "webhook" and rec.get("key") == key,
              "delivered by the second worker, recorded with the key %s" % rec)
        check(int(rec.get("attempts", "0")) >= 3, "attempts span both workers (%s)"
              % rec.get("attempts"))
        tries = tries_of(base, sid)
        keys = {q["headers"].get("idempotency-key") for q in tries}
        check(len(tries) >= 3 and keys == {key},
              "every try carried Idempotency-Key %s (%d tries, keys %s)" % (key, len(tries), keys))
        fleet.wait_for(lambda: fleet.r.zcard("wt:notify:outbox:webhook") == 0, 10, "empty outbox")
        check(not fleet.r.exists("wt:notify:%s" % key), "the entry's hash is gone")
        dump = ""
        for k in fleet.r.scan_iter("wt:*"):
            t = fleet.r.type(k)
            if t == "hash":
                dump += json.dumps(fleet.r.hgetall(k))
            elif t == "stream":
                dump += json.dumps(fleet.r.xrange(k))
        check(SECRET not in dump, "no webhook secret anywhere in Redis")
    except Exception as e:  # report, then fail
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
