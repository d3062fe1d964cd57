# ctest-timeout: 180
"""Webhook triggers through a real broker (--triggers) and redis-server:
a signed delivery starts a session with the templated goal and mapped
context; wrong or missing signature 401; oversized body 413 (by
Content-Length and chunked); bad JSON 400 naming jansson's error; unknown
trigger 404; duplicate deliveries (same X-GitHub-Delivery, same body twice)
start one session; a full queue answers 429 with Retry-After; serial mode
runs one session at a time in arrival order; counters on /metrics; the
HMAC secret appears nowhere in Redis or the broker log; a broken triggers
file stops the broker with every problem listed."""
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, SCRIPTS, WORKFLOWS, Check, Fleet  # noqa: E402

SECRET = "s3cr3t-hook-key-for-tests"

TRIGGERS = """\
triggers:
  - id: hook
    provider: generic
    workflowId: two-step
    goalTemplate: "bench {{$.repo.name}} at {{ $.head }}"
    contextMapping:
      repo: $.repo.name
      pusher: $.pusher.login
    dispatchCondition: {path: $.ref, notEquals: refs/heads/ignored}
    hmacSecret: $WT_TEST_HOOK_SECRET
    autoCommit: false
  - id: full
    provider: generic
    workflowId: two-step
    goal: fill the queue
    maxQueueDepth: 2
  - id: ser
    provider: generic
    workflowId: two-step
    goalTemplate: "serial {{$.n}}"
    concurrencyMode: serial
    agentConfig: {maxTurns: 9, maxSessionMinutes: 5}
"""


def sign(body):
    return hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


class Http:
    def __init__(self, port):
        self.port = port

    def post(self, path, body, headers=None, chunked=False):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            h = dict(headers or {})
            if chunked:
                c.request("POST", path, body=iter([body[i:i + 1000]
                                                   for i in range(0, len(body), 1000)]),
                          headers=h, encode_chunked=True)
            else:
                c.request("POST", path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            try:
                j = json.loads(data)
            except ValueError:
                j = {"raw": data.decode(errors="replace")}
            return r.status, j, dict(r.getheaders())
        except (ConnectionError, http.client.HTTPException) as e:
            return -1, {"exception": str(e)}, {}
        finally:
            c.close()


def fired(fleet, trigger):
    return [json.loads(f["data"]) for _, f in fleet.r.xrange("wt:events")
            if f.get("type") == "trigger_fired" and json.loads(f["data"]).get("trigger") == trigger]


def main():
    check = Check()
    fleet = Fleet("trig-hook")
    try:
        fleet.start_redis()
        path = os.path.join(fleet.dir, "triggers.yml")
        with open(path, "w") as f:
            f.write(TRIGGERS)
        os.environ["WT_TEST_HOOK_SECRET"] = SECRET
        fleet.start_broker("--triggers", path, "--workflows", WORKFLOWS,
                           "--webhook-max-bytes", "4096")
        web = Http(fleet.http_port)
        fleet.wait_for(lambda: web.post("/webhook/none", b"{}")[0] == 404, 10, "http up")

        # Signed delivery (WorkRail header, sha256= prefix) -> session with the templated goal.
        body = json.dumps({"repo": {"name": "widgets"}, "head": "abc123",
                           "pusher": {"login": "ann"}, "ref": "refs/heads/main"}).encode()
        st, j, _ = web.post("/webhook/hook", body,
                            {"X-WorkRail-Signature": "sha256=" + sign(body),
                             "Content-Type": "application/json"})
        sid = j.get("session")
        check(st == 202 and sid and len(sid) == 26, "signed webhook -> 202 with a session (%s %s)"
              % (st, j))
        h = fleet.r.hgetall("wt:session:%s" % sid) if sid else {}
        check(h.get("goal") == "bench widgets at abc123" and h.get("workflow") == "two-step",
              "session hash has the templated goal (%r)" % h.get("goal"))
        ctx = json.loads(h.get("context") or "{}")
        check(ctx.get("repo") == "widgets" and ctx.get("pusher") == "ann",
              "context from contextMapping (%r)" % h.get("context"))
        ev = fired(fleet, "hook")
        check(len(ev) == 1 and ev[0]["session"] == sid and ev[0]["provider"] == "generic",
              "one trigger_fired on wt:events (%r)" % ev)
        types = [f.get("type") for _, f in fleet.r.xrange("wt:events")
                 if f.get("session") == sid]
        check("session_queued" in types, "session_queued from intake")

        # GitHub's header, bare hex.
        body2 = json.dumps({"repo": {"name": "gadgets"}, "head": "def"}).encode()
        st, j, _ = web.post("/webhook/hook", body2, {"X-Hub-Signature-256": "sha256=" +
                                                     sign(body2)})
        check(st == 202 and j.get("session") and j["session"] != sid,
              "X-Hub-Signature-256 accepted (%s %s)" % (st, j))

        # Signatures.
        st, j, _ = web.post("/webhook/hook", body, {"X-WorkRail-Signature": sign(body + b" ")})
        check(st == 401 and "does not match" in j.get("error", ""), "wrong signature -> 401")
        st, j, _ = web.post("/webhook/hook", body)
        check(st == 401 and "missing signature" in j.get("error", ""), "no signature -> 401")

        # Size limit.
        big = b'{"x":"' + b"a" * 10000 + b'"}'
        st, j, _ = web.post("/webhook/hook", big, {"X-WorkRail-Signature": sign(big)})
        check(st == 413, "oversized body -> 413 (%s %s)" % (st, j))
        st, j, _ = web.post("/webhook/hook", big, {"X-WorkRail-Signature": sign(big)},
                            chunked=True)
        check(st == 413, "oversized chunked body -> 413 (%s %s)" % (st, j))

        # Bad JSON, with jansson's reason and position.
        bad = b'{"repo": {"name": "x",}}'
        st, j, _ = web.post("/webhook/hook", bad, {"X-WorkRail-Signature": sign(bad)})
        err = j.get("error", "")
        check(st == 400 and err.startswith("bad JSON: ") and "line 1 column" in err,
              "bad JSON -> 400 naming the error (%r)" % err)

        # dispatchCondition not met: answered, nothing started.
        skip = json.dumps({"repo": {"name": "x"}, "head": "h", "ref": "refs/heads/ignored"}).encode()
        n_before = len(fired(fleet, "hook"))
        st, j, _ = web.post("/webhook/hook", skip, {"X-WorkRail-Signature": sign(skip)})
        check(st == 200 and j.get("dispatched") is False and len(fired(fleet, "hook")) == n_before,
              "dispatchCondition false -> 200, no session (%s %s)" % (st, j))

        # Unknown trigger.
        st, j, _ = web.post("/webhook/nope", b"{}")
        check(st == 404 and "nope" in j.get("error", ""), "unknown trigger -> 404")

        # Duplicates: same X-GitHub-Delivery (even with another body), same body twice.
        n_before = len(fired(fleet, "hook"))
        b3 = json.dumps({"repo": {"name": "dup"}, "head": "1"}).encode()
        b4 = json.dumps({"repo": {"name": "dup"}, "head": "2"}).encode()
        s1 = web.post("/webhook/hook", b3, {"X-Hub-Signature-256": "sha256=" + sign(b3),
                                            "X-GitHub-Delivery": "guid-1"})
        s2 = web.post("/webhook/hook", b4, {"X-Hub-Signature-256": "sha256=" + sign(b4),
                                            "X-GitHub-Delivery": "guid-1"})
        check(s1[0] == 202 and s2[0] == 202 and s1[1].get("session") == s2[1].get("session")
              and s2[1].get("duplicate") is True,
              "same X-GitHub-Delivery -> one session (%s / %s)" % (s1[1], s2[1]))
        b5 = json.dumps({"repo": {"name": "dup"}, "head": "3"}).encode()
        s3 = web.post("/webhook/hook", b5, {"X-WorkRail-Signature": sign(b5)})
        s4 = web.post("/webhook/hook", b5, {"X-WorkRail-Signature": sign(b5)})
        check(s3[0] == 202 and s4[0] == 202 and s3[1].get("session") == s4[1].get("session"),
              "same body twice within 30 s -> one session (%s / %s)" % (s3[1], s4[1]))
        check(len(fired(fleet, "hook")) == n_before + 2, "two trigger_fired for four deliveries")

        # A broker that died after marking a delivery but before its SPAWN:
        # GitHub redelivers, and the redelivery must start the session.
        hx = hashlib.sha256(b"delivery:guid-crash").hexdigest()
        fleet.r.set("wt:trigger:hook:dedup:" + hx, "k:trig:hook:d:" + hx, ex=3600)
        b6 = json.dumps({"repo": {"name": "crash"}, "head": "6"}).encode()
        hdr = {"X-Hub-Signature-256": "sha256=" + sign(b6), "X-GitHub-Delivery": "guid-crash"}
        s6 = web.post("/webhook/hook", b6, hdr)
        s7 = web.post("/webhook/hook", b6, hdr)
        check(s6[0] == 202 and s6[1].get("session") and s6[1]["session"] == s7[1].get("session"),
              "a delivery marked but never spawned starts its session on redelivery, once "
              "(%s / %s)" % (s6[1], s7[1]))
        check(fleet.r.get("wt:trigger:hook:dedup:" + hx) == "s:" + str(s6[1].get("session")),
              "the mark then names the session")

        # Queue full: maxQueueDepth 2, no worker yet.
        a = web.post("/webhook/full", b'{"i":1}')
        b = web.post("/webhook/full", b'{"i":2}')
        c = web.post("/webhook/full", b'{"i":3}')
        check(a[0] == 202 and b[0] == 202, "first two deliveries accepted")
        check(c[0] == 429 and c[2].get("Retry-After", "").isdigit() and
              "maxQueueDepth 2" in c[1].get("error", ""),
              "third -> 429 with Retry-After (%s %s %s)" % (c[0], c[1], c[2].get("Retry-After")))

        # Serial: three deliveries; the first starts, the others wait in order.
        answers = [web.post("/webhook/ser", json.dumps({"n": i}).encode()) for i in range(3)]
        check(answers[0][0] == 202 and answers[0][1].get("session"),
              "serial: first delivery starts a session (%s)" % (answers[0][1],))
        check([a[1].get("waiting") for a in answers[1:]] == [1, 2] and
              all(a[0] == 202 and a[1].get("session") is None for a in answers[1:]),
              "serial: the next two wait in FIFO order (%r)" % [a[1] for a in answers[1:]])
        check(fleet.r.llen("wt:trigger:ser:waiting") == 2, "waiting list kept in Redis")
        first = fleet.r.hgetall("wt:session:%s" % answers[0][1].get("session"))
        check(first.get("max_turns") == "9" and first.get("timeout_ms") == "300000",
              "agentConfig maxTurns / maxSessionMinutes reach the session (%s %s)"
              % (first.get("max_turns"), first.get("timeout_ms")))

        fleet.start_worker("w1", 4, os.path.join(SCRIPTS, "two-step-500ms.json"))
        fleet.wait_workers(1)
        fleet.wait_for(lambda: len(fired(fleet, "ser")) == 3, 60, "three serial fires")
        ser = [e["session"] for e in fired(fleet, "ser")]
        fleet.wait_completed(ser, 60)
        hs = [fleet.r.hgetall("wt:session:%s" % s) for s in ser]
        check([x.get("goal") for x in hs] == ["serial 0", "serial 1", "serial 2"],
              "serial sessions in arrival order (%r)" % [x.get("goal") for x in hs])
        overlap = any(int(hs[i + 1]["started_ms"]) < int(hs[i]["ended_ms"]) for i in range(2))
        check(not overlap and all(x.get("status") == "completed" for x in hs),
              "serial: each started after the previous one ended")

        # A waiting entry the broker refuses for good (its context is not an
        # object) is dropped, not retried forever in front of the others.
        fleet.r.lpush("wt:trigger:ser:waiting", json.dumps(
            {"key": "trig:ser:poison", "goal": "poison", "context": "[1]", "detail": None}))
        st, j, _ = web.post("/webhook/ser", json.dumps({"n": 3}).encode())
        check(st == 202 and j.get("waiting") == 2, "a delivery queues behind the refused entry (%s)" % j)
        fleet.wait_for(lambda: len(fired(fleet, "ser")) == 4, 30, "the delivery after a refused one")
        check(fleet.r.hget("wt:session:%s" % fired(fleet, "ser")[-1]["session"], "goal") == "serial 3"
              and fleet.r.llen("wt:trigger:ser:waiting") == 0,
              "the refused entry was dropped and the next one started")

        m = fleet.metrics()
        check('wt_trigger_fired_total{trigger="hook"} 5' in m and
              'wt_trigger_fired_total{trigger="ser"} 4' in m, "wt_trigger_fired_total per trigger")
        check('wt_webhook_requests_total{code="401"} 2' in m and
              'wt_webhook_requests_total{code="413"} 2' in m and
              'wt_webhook_requests_total{code="429"} 1' in m, "wt_webhook_requests_total by code")

        # The secret is nowhere in Redis or the log.
        leaked = []
        for k in fleet.r.scan_iter("*"):
            t = fleet.r.type(k)
            if t == "string":
                vals = [fleet.r.get(k)]
            elif t == "hash":
                vals = list(fleet.r.hgetall(k).values())
            elif t == "list":
                vals = fleet.r.lrange(k, 0, -1)
            elif t == "stream":
                vals = [json.dumps(f) for _, f in fleet.r.xrange(k)]
            else:
                vals = []
            if any(SECRET in (v or "") for v in vals) or SECRET in k:
                leaked.append(k)
        with open(os.path.join(fleet.dir, "broker.log"), errors="replace") as f:
            log = f.read()
        check(not leaked and SECRET not in log, "HMAC secret not in Redis or the log (%r)" % leaked)

        # A broken triggers file: the broker refuses to start and lists every problem.
        broken = os.path.join(fleet.dir, "broken.yml")
        with open(broken, "w") as f:
            f.write("triggers:\n  - id: x\n    provider: webhook\n    workflowId: nope\n"
                    "  - id: y\n    provider: cron\n    workflowId: two-step\n    goal: g\n"
                    "    schedule: '61 * * * *'\n")
        r = subprocess.run([BIN, "broker", "--clients", "ipc://%s/b2.sock" % fleet.dir,
                            "--workers", "ipc://%s/b2w.sock" % fleet.dir, "--http", "off",
                            "--redis", fleet.redis_url, "--triggers", broken,
                            "--workflows", WORKFLOWS],
                           capture_output=True, text=True, timeout=20)
        check(r.returncode == 1 and "broken.yml:3:15: unknown provider 'webhook'" in r.stderr and
              "broken.yml:4:17: unknown workflowId 'nope'" in r.stderr and
              "broken.yml:2:5: trigger 'x' has no 'goal'" in r.stderr and
              "broken.yml:9:16: bad cron schedule" in r.stderr,
              "broken triggers file: exit 1 listing all problems (%r)" % r.stderr[-1500:])
    except Exception:
        fleet.dump_logs()
        raise
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
