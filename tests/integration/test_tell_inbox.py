# ctest-timeout: 180
"""`worktrain tell` and `worktrain inbox` through a real broker, real
workers (anthropic provider) and the fake Messages API:
- a message told while the session's first LLM call is held at the fake
  is in the very next request the fake receives (not in the one in flight),
  recorded once as message_received between the two turns;
- the worker is then killed with that request in flight: the worker that
  resumes the session puts the recorded message into its fresh
  conversation (first request);
- tell refuses (exit 1) an unknown session and a completed one;
- inbox --json lists the completions and a reported issue newest first,
  one entry per completion despite the crash; --kind filters; the text
  form prints one line per entry."""
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import REPO, Check, Fleet  # noqa: E402

KEY = "sk-test-tell-0000"
HOLD = [{"stall_s": 0.05}] * 1200  # holds a request up to 60 s until the queue is replaced


def start_fake(d, name):
    port_file = os.path.join(d, name + ".port")
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "tests/fakes/fake_llm.py"),
                          "--port-file", port_file, "--expect-key", KEY],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if time.monotonic() > deadline:
            raise TimeoutError("fake LLM did not start")
        time.sleep(0.02)
    return p, "http://127.0.0.1:%s" % open(port_file).read().strip()


def control(base, path, obj=None):
    data = json.dumps(obj).encode() if obj is not None else None
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def requests(base):
    return [r for r in control(base, "/_control/requests") if r["path"] == "/v1/messages"]


def cs(notes, context=None):
    inp = {"notes": notes}
    if context:
        inp["context"] = context
    return {"reply": {"tool_calls": [{"name": "complete_step", "input": inp}]}}


def wait_event(fleet, sid, typ, n=1, timeout_s=30):
    """Blocks (XREAD, bounded) until sid's stream holds n events of typ."""
    key = "wt:session:%s:events" % sid
    last, seen = "0", 0
    deadline = time.monotonic() + timeout_s
    while seen < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("session %s: %d of %d %s events" % (sid, seen, n, typ))
        for _, entries in fleet.r.xread({key: last}, block=int(min(left, 1) * 1000)) or []:
            for eid, f in entries:
                last = eid
                seen += f["type"] == typ


def wait_requests(base, n, timeout_s=30):
    """Polls the fake (bounded) until it has received n requests."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = requests(base)
        if len(got) >= n:
            return got
        if time.monotonic() > deadline:
            raise TimeoutError("fake got %d of %d requests" % (len(got), n))
        time.sleep(0.05)


def texts(req):
    """Every text and tool_result content of a request's messages, joined."""
    out = []
    for m in req["body"]["messages"]:
        for b in m["content"] if isinstance(m["content"], list) else [{"text": m["content"]}]:
            out.append(str(b.get("text", "")) + str(b.get("content", "")))
    return "\n".join(out)


def main():
    check = Check()
    fleet = Fleet("tell")
    d = fleet.dir
    fake1, base1 = start_fake(d, "fake1")
    fake2, base2 = start_fake(d, "fake2")
    env = {"ANTHROPIC_API_KEY": KEY}
    msg = "use the blue database, not the red one (tell-%d)" % os.getpid()
    try:
        fleet.start_redis()
        fleet.start_broker()
        control(base1, "/_control/script", HOLD)
        fleet.start_worker("w1", 2, None, "--provider", "anthropic", "--base-url", base1, env=env)
        fleet.wait_workers(1)
        c = fleet.client()
        a = c.spawn("two-step", "pick a database")

        # 1. tell while the first LLM call is held at the fake
        wait_event(fleet, a, "llm_turn_started")
        wait_requests(base1, 1)
        r = fleet.run_cli("tell", a, msg)
        check(r.returncode == 0 and r.stdout.strip() == "queued for %s" % a,
              "tell a running session: exit 0, 'queued for SID' (%r %r)" % (r.stdout, r.stderr))
        control(base1, "/_control/script",
                [{"reply": {"text": "checking", "tool_calls": [
                    {"name": "Bash", "input": {"command": "echo looking"}}]}}] + HOLD)
        reqs = wait_requests(base1, 2)
        check(msg not in texts(reqs[0]), "the request in flight did not carry the message")
        check("Message from the operator: " + msg in texts(reqs[1]),
              "the next request the fake received carries the message")
        last_user = reqs[1]["body"]["messages"][-1]
        check(last_user["role"] == "user" and any(
            b.get("type") == "text" and msg in b.get("text", "") for b in last_user["content"]),
            "it is a user text block after the tool results")
        wait_event(fleet, a, "llm_turn_started", 2)
        types = [(t, dd) for _, t, dd, _ in fleet.events(a)]
        got = [dd for t, dd in types if t == "message_received"]
        check(got == [{"message": msg, "from": "tell"}],
              "one message_received {message, from: tell} (%s)" % got)
        names = [t for t, _ in types]
        i = names.index("message_received")
        check(names[:i].count("llm_turn_completed") == 1 and names[i + 1:].count(
            "llm_turn_started") == 1, "recorded between turn 1 and turn 2 (%s)" % names)
        check(fleet.r.llen("wt:session:%s:tell" % a) == 0, "nothing left waiting")

        # 2. the worker dies with request 2 in flight: the resumed run re-adds the message
        fleet.kill("worker-w1", 9)
        control(base2, "/_control/script", [cs("chose blue"), cs("done", {"answer": "blue"})])
        fleet.start_worker("w2", 2, None, "--provider", "anthropic", "--base-url", base2, env=env)
        fleet.wait_completed([a], 60)
        h = fleet.r.hgetall("wt:session:%s" % a)
        check(h.get("outcome") == "success" and h.get("worker") == "w2",
              "session finished on w2 (%s, %s)" % (h.get("outcome"), h.get("error")))
        reqs2 = requests(base2)
        check(len(reqs2) == 2 and "Message from the operator: " + msg in texts(reqs2[0]),
              "the resumed run's first request carries the recorded message")
        check([t for _, t, _, _ in fleet.events(a)].count("message_received") == 1,
              "still recorded exactly once")

        # 3. refusals
        r = fleet.run_cli("tell", a, "too late")
        check(r.returncode == 1 and "already ended" in r.stderr,
              "tell a completed session: exit 1 (%r)" % r.stderr)
        r = fleet.run_cli("tell", "01JNOSUCHSESSION0000000000", "hello")
        check(r.returncode == 1 and "no session" in r.stderr,
              "tell an unknown session: exit 1 (%r)" % r.stderr)
        r = fleet.run_cli("tell", a)
        check(r.returncode == 2, "tell without a message: exit 2")
        r = fleet.run_cli("tell", a, "x" * (16 * 1024 + 1))
        check(r.returncode == 1 and "max" in r.stderr, "tell a 16 KiB+1 message: exit 1 (%r)"
              % r.stderr[:200])

        # 4. inbox: a session that reports an issue, then completes
        control(base2, "/_control/script", [
            {"reply": {"tool_calls": [{"name": "report_issue", "input": {
                "kind": "blocker", "severity": "high", "summary": "the red database is down"}}]}},
            cs("noted"), cs("answered", {"answer": "42"})])
        b = c.spawn("two-step", "report and finish")
        c.close()
        fleet.wait_completed([b], 60)
        r = fleet.run_cli("inbox", "--json")
        entries = json.loads(r.stdout) if r.returncode == 0 else []
        got = [(e.get("kind"), e.get("session")) for e in entries]
        check(got == [("completion", b), ("issue", b), ("completion", a)],
              "inbox --json: newest first, one completion per session (%s)" % got)
        if len(entries) == 3:
            check(entries[1].get("severity") == "high" and entries[1].get("summary") ==
                  "the red database is down" and entries[1].get("workflow") == "two-step",
                  "issue entry: severity, summary, workflow")
            check(entries[0].get("outcome") == "success" and entries[2].get("outcome") == "success",
                  "completion entries carry the outcome")
            check(all(isinstance(e.get("ts_ms"), int) for e in entries) and
                  entries[0]["ts_ms"] >= entries[1]["ts_ms"] >= entries[2]["ts_ms"],
                  "ts_ms are numbers, newest first")
        r = fleet.run_cli("inbox", "--json", "--kind", "issue")
        check(r.returncode == 0 and [e["session"] for e in json.loads(r.stdout)] == [b],
              "--kind issue lists only the issue")
        r = fleet.run_cli("inbox", "--count", "2")
        lines = r.stdout.strip().splitlines()
        check(r.returncode == 0 and len(lines) == 2 and " completion " in lines[0] and b in lines[0]
              and " high " in lines[1] and "the red database is down" in lines[1],
              "text: one line per entry, TIME KIND SESSION WORKFLOW OUTCOME SUMMARY (%s)" % lines)
        r = fleet.run_cli("inbox", "--count", "0")
        check(r.returncode == 2, "bad --count: exit 2")
    except Exception as e:  # report and fail
        check(False, "exception: %r" % e)
    finally:
        if check.failed:
            fleet.dump_logs()
        fleet.stop()
        for p in (fake1, fake2):
            p.terminate()
            p.wait(timeout=10)
    check.done()


if __name__ == "__main__":
    main()
