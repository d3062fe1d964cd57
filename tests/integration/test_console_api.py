# ctest-timeout: 300
"""`worktrain console` against a real fleet (broker, 2 workers, scripted
provider) and a real `worktrain run` pipeline whose phase session spawns a
child: every route of console/API.md, compared with what Redis holds -
filters, paging without repeat or skip, detail and events, trees, the run
tree (pipeline -> phase -> session -> child), workers, stats; SSE resumed
with Last-Event-ID without gap or duplicate and ended after
session_completed; a slow SSE client blocks nobody; the token (401, bearer,
?token= -> 303 + cookie, /healthz open); 405; an HTML goal comes back as a
literal JSON string; Redis gone -> 503 and the console keeps running;
SIGTERM stops it."""
import http.client
import json
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, Check, Fleet, free_port  # noqa: E402

XSS = "<script>alert(1)</script>"
TOKEN = "t0k-en_for.tests"

SCRIPT = {"scripts": [
    {"when": {"workflow": "two-step", "goal_contains": "phase-spawn"},
     "replies": [
         {"tool_calls": [{"name": "spawn_agent", "input": {
             "workflowId": "two-step", "goal": "kid-task of {{session}}"}}]},
         {"tool_calls": [{"name": "complete_step", "input": {"notes": "spawned"}}]},
         {"tool_calls": [{"name": "complete_step", "input": {
             "notes": "built", "context": {"answer": "built"}}}]}]},
    {"when": {"workflow": "two-step", "goal_contains": "issue-reporter"},
     "replies": [
         {"tool_calls": [{"name": "report_issue", "input": {
             "kind": "bug", "severity": "low", "summary": "found one"}}]},
         {"tool_calls": [{"name": "complete_step", "input": {"notes": "one"}}]},
         {"tool_calls": [{"name": "complete_step", "input": {
             "notes": "two", "context": {"answer": "reported"}}}]}]},
    {"when": {"workflow": "two-step", "goal_contains": "stuck-loop"},
     "replies": [{"tool_calls": [{"name": "Bash", "input": {"command": "true"}}]}] * 5},
    {"when": {"workflow": "two-step", "goal_contains": "slow-stream"},
     "replies": [{"delay_ms": 300, "tool_calls": [
         {"name": "Bash", "input": {"command": "echo %d" % i}}]} for i in range(8)] + [
         {"tool_calls": [{"name": "complete_step", "input": {"notes": "one"}}]},
         {"tool_calls": [{"name": "complete_step", "input": {
             "notes": "two", "context": {"answer": "streamed"}}}]}]},
    {"replies": [
        {"tool_calls": [{"name": "complete_step", "input": {"notes": "step one"}}]},
        {"tool_calls": [{"name": "complete_step", "input": {
            "notes": "done", "context": {"answer": "answer for {{goal}}"}}}]}]},
]}

PIPELINE = """pipeline: console-test
inputs: [goal]
phases:
  - id: plan
    workflow: two-step
    goal: "plan {{inputs.goal}}"
  - id: build
    workflow: two-step
    needs: [plan]
    goal: "phase-spawn {{inputs.goal}}"
"""


class Console:
    def __init__(self, fleet, key, *extra, env=None):
        self.port = free_port()
        self.proc = fleet._spawn(key, [BIN, "console", "--http", "127.0.0.1:%d" % self.port,
                                       "--redis", fleet.redis_url, "--sse-heartbeat", "1s"]
                                 + list(extra), env=env)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("console did not answer /healthz")
            time.sleep(0.05)

    def conn(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, headers=None):
        c = self.conn()
        try:
            c.request(method, path, headers=headers or {})
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()

    def get(self, path, headers=None):
        st, _, body = self.request("GET", path, headers)
        return st, body

    def json(self, path, headers=None):
        st, body = self.get(path, headers)
        return st, json.loads(body) if body else None


def all_pages(con, query, limit):
    """Follows next_cursor; returns (ids, pages, bad) where bad notes a problem."""
    ids, pages, cur = [], 0, None
    while True:
        q = "/api/sessions?limit=%d%s%s" % (limit, "&" + query if query else "",
                                            "&cursor=" + cur if cur else "")
        st, j = con.json(q)
        if st != 200:
            return ids, pages, "status %d for %s: %s" % (st, q, j)
        pages += 1
        ids += [s["id"] for s in j["sessions"]]
        cur = j["next_cursor"]
        if cur is None:
            return ids, pages, None
        if pages > 1000:
            return ids, pages, "no end"


def newest_first(r, key):
    return [m for m, _ in sorted(r.zrange(key, 0, -1, withscores=True),
                                 key=lambda x: (x[1], x[0]), reverse=True)]


def sse_read(resp, want, deadline):
    """Reads SSE events from resp until `want` events (None: until the end)."""
    events, cur = [], {}
    while want is None or len(events) < want:
        if time.monotonic() > deadline:
            raise TimeoutError("sse: %d events so far" % len(events))
        line = resp.readline()  # decodes the chunked body
        if not line:
            break  # the server ended the stream
        line = line.decode().rstrip("\n")
        if line == "":
            if "data" in cur:
                events.append(cur)
            cur = {}
        elif not line.startswith(":"):
            k, _, v = line.partition(": ")
            cur[k] = v
    return events


def sse_open(con, path, headers=None):
    c = con.conn(timeout=15)
    c.request("GET", path, headers=headers or {})
    return c, c.getresponse()


def test_lists(check, fleet, con, sids):
    r = fleet.r
    everything = newest_first(r, "wt:sessions")
    hashes = {s: r.hgetall("wt:session:%s" % s) for s in everything}
    ids, pages, bad = all_pages(con, "", 2)
    check(bad is None and ids == everything,
          "limit=2 pages cover all %d sessions newest first, no repeat, no skip (%s)"
          % (len(everything), bad))
    check(pages == (len(everything) + 1) // 2, "next_cursor is null on the last page (%d pages)"
          % pages)
    cases = [("status=completed", lambda h: h["status"] == "completed"),
             ("workflow=two-step", lambda h: h["workflow"] == "two-step"),
             ("worker=w1", lambda h: h.get("worker") == "w1"),
             ("roots=1", lambda h: h.get("parent", "") == "" and h.get("run", "") == ""),
             ("run=%s" % sids["run"], lambda h: h.get("run") == sids["run"]),
             ("parent=%s" % sids["build"], lambda h: h.get("parent") == sids["build"]),
             ("status=completed&workflow=two-step&roots=1",
              lambda h: h["status"] == "completed" and h["workflow"] == "two-step"
              and h.get("parent", "") == "" and h.get("run", "") == "")]
    for query, pred in cases:
        want = [s for s in everything if pred(hashes[s])]
        ids, _, bad = all_pages(con, query, 3)
        check(bad is None and ids == want and len(want) > 0,
              "filter %s: %d sessions, as in Redis (%s)" % (query, len(want), bad))
    st, j = con.json("/api/sessions?limit=50")
    s = next(x for x in j["sessions"] if x["id"] == sids["issue"])
    check(s["issues"] == 1 and s["stuck"] == "" and s["outcome"] == "success",
          "summary counts the reported issue: %s" % s)
    s = next(x for x in j["sessions"] if x["id"] == sids["stuck"])
    check(s["stuck"] == "repeated_tool_call", "summary has the stuck reason: %s" % s["stuck"])
    s = next(x for x in j["sessions"] if x["id"] == sids["build"])
    check(s["children"] == 1 and s["run"] == sids["run"] and s["phase"] == "build"
          and isinstance(s["turns"], int) and s["turns"] > 0,
          "summary numbers and run/phase: %s" % s)
    keys = {"id", "workflow", "goal", "status", "outcome", "parent", "run", "phase", "worker",
            "attempt", "created_ms", "started_ms", "ended_ms", "step", "turns", "input_tokens",
            "output_tokens", "children", "stuck", "issues"}
    check(set(s) == keys, "summary has exactly the contract's keys")
    for q, name in (("limit=0", "limit"), ("limit=501", "limit"), ("status=done", "status"),
                    ("cursor=junk", "cursor"), ("parent=a%20b", "parent"), ("roots=2", "roots")):
        st, j = con.json("/api/sessions?" + q)
        check(st == 400 and name in j["error"], "%s -> 400 naming %s (%s)" % (q, name, j))


def test_detail_and_trees(check, fleet, con, sids):
    r = fleet.r
    st, j = con.json("/api/sessions/%s" % sids["xss"])
    check(st == 200 and j["session"]["goal"] == "goal " + XSS,
          "a goal with <script> comes back as the literal string")
    st, hdrs, body = con.request("GET", "/api/sessions/%s" % sids["xss"])
    check(b"<script>" in body and hdrs["content-type"].startswith("application/json")
          and hdrs.get("x-content-type-options") == "nosniff"
          and hdrs.get("cache-control") == "no-store",
          "JSON answers say application/json, nosniff, no-store")
    st, j = con.json("/api/sessions/%s" % sids["build"])
    d = j["session"]
    want = [eid for eid, _ in r.xrange("wt:session:%s:events" % sids["build"])]
    check([e["id"] for e in j["events"]] == want and j["truncated"] is False,
          "detail events are the stream, oldest first (%d)" % len(want))
    e = j["events"][-1]
    check(e["type"] == "session_completed" and e["ts_ms"] == int(e["id"].split("-")[0])
          and e["data"]["outcome"] == "success", "event shape: %s" % e["type"])
    check(d["output"]["context"]["answer"] == "built" and isinstance(d["context"], dict)
          and d["depth"] == 0 and "timeout_ms" in d and "max_turns" in d and d["error"] == "",
          "detail has output, context, depth, limits, error")
    st, j = con.json("/api/sessions/01JNOSUCHSESSION0000000000")
    check(st == 404 and "error" in j, "unknown session -> 404 JSON")
    st, j = con.json("/api/nope")
    check(st == 404 and "error" in j, "unknown route -> 404 JSON")
    st, t = con.json("/api/sessions/%s/tree" % sids["build"])
    kids = t.get("nodes", [])
    check(st == 200 and t["id"] == sids["build"] and len(kids) == 1
          and kids[0]["id"] == sids["child"] and kids[0]["nodes"] == [],
          "tree: the phase session with its spawn_agent child")
    st, j = con.json("/api/runs?limit=10")
    check(st == 200 and [x["id"] for x in j["runs"]] == [sids["run"]] and j["next_cursor"] is None,
          "runs list has the run")
    run = j["runs"][0]
    check(run["pipeline"] == "console-test" and run["status"] == "succeeded"
          and run["phases"] == 2 and run["sessions"] == 2, "run summary: %s" % run)
    st, j = con.json("/api/runs/%s" % sids["run"])
    ph = j.get("phases", [])
    check(st == 200 and [p["id"] for p in ph] == ["plan", "build"]
          and j["run"]["inputs"].get("goal") == "the console", "run tree phases in order")
    if len(ph) == 2:
        b = ph[1]
        check(b["needs"] == ["plan"] and b["state"] == "done" and b["workflow"] == "two-step"
              and b["attempts"] == 1, "phase fields: %s" % {k: b[k] for k in b if k != "nodes"})
        check(len(b["nodes"]) == 1 and b["nodes"][0]["id"] == sids["build"]
              and [n["id"] for n in b["nodes"][0]["nodes"]] == [sids["child"]],
              "run -> phase -> session -> spawn_agent child")
        check([n["id"] for n in ph[0]["nodes"]] == [sids["plan"]], "plan phase has its session")
    st, j = con.json("/api/runs/01JNOSUCHRUN")
    check(st == 404, "unknown run -> 404")


def test_fleet_routes(check, fleet, con):
    st, j = con.json("/api/workers")
    ws = j["workers"]
    check(st == 200 and [w["name"] for w in ws] == ["w1", "w2"] and ws[0]["slots"] == 4,
          "workers sorted by name with their slots")
    st, j = con.json("/api/stats")
    check(st == 200 and j["workers"] == 2 and j["slots_total"] == 8
          and j["sessions_total"] == fleet.r.zcard("wt:sessions") and j["queued"] == 0,
          "stats: %s" % j)
    st, j = con.json("/healthz")
    check(st == 200 and j == {"ok": True, "redis": True}, "healthz")
    st, hdrs, body = con.request("GET", "/")
    check(st == 200 and hdrs["content-type"].startswith("text/html")
          and "frame-ancestors 'none'" in hdrs.get("content-security-policy", ""),
          "the page is served with its CSP")
    st, hdrs, _ = con.request("GET", "/app.js")
    check(st == 200 and "javascript" in hdrs["content-type"], "app.js is served")
    for m in ("POST", "PUT", "DELETE"):
        st, hdrs, body = con.request(m, "/api/sessions")
        check(st == 405 and "error" in json.loads(body), "%s -> 405 JSON" % m)


def test_sse(check, fleet, con, client):
    sid = client.spawn("two-step", "slow-stream events")
    key = "wt:session:%s:events" % sid
    deadline = time.monotonic() + 60
    c, resp = sse_open(con, "/api/sessions/%s/events" % sid)
    check(resp.status == 200 and resp.getheader("Content-Type").startswith("text/event-stream"),
          "session stream answers text/event-stream")
    first = sse_read(resp, 4, deadline)
    c.close()  # drop the connection mid-session
    status = fleet.r.hget("wt:session:%s" % sid, "status")
    check(status == "running", "dropped while the session still runs (%s)" % status)
    c, resp = sse_open(con, "/api/sessions/%s/events" % sid,
                       {"Last-Event-ID": first[-1]["id"]})
    rest = sse_read(resp, None, deadline)
    c.close()
    got = [e["id"] for e in first + rest]
    want = [eid for eid, _ in fleet.r.xrange(key)]
    check(got == want, "resumed stream: no gap, no duplicate (%d events)" % len(want))
    check(rest and rest[-1]["event"] == "session_completed",
          "stream ended after session_completed")
    d = json.loads(first[0]["data"])
    check(d["session"] == sid and d["type"] == first[0]["event"] and "ts_ms" in d
          and isinstance(d["data"], dict), "event data shape")
    c, resp = sse_open(con, "/api/sessions/%s/events?last_event_id=%s" % (sid, got[1]))
    again = sse_read(resp, None, deadline)
    c.close()
    check([e["id"] for e in again] == want[2:], "?last_event_id= resumes too")
    st, _, _ = con.request("GET", "/api/sessions/%s/events" % sid,
                           {"Last-Event-ID": want[-1]})
    check(st == 204, "resuming an ended session after its last event -> 204 (%d)" % st)
    st, j = con.json("/api/sessions/%s/events?last_event_id=bogus" % sid)
    check(st == 400 and "last_event_id" in j["error"], "bad last_event_id -> 400")
    # Fleet stream: new entries only, keepalives keep the connection up.
    c, resp = sse_open(con, "/api/events")
    sid2 = client.spawn("two-step", "fleet stream")
    evs = sse_read(resp, 1, time.monotonic() + 20)
    c.close()
    check(evs and json.loads(evs[0]["data"])["session"] == sid2
          and evs[0]["event"] == "session_queued", "fleet stream starts at new entries")


def test_slow_client(check, con):
    """SSE clients that never read must not hold up other requests."""
    socks = []
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", con.port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        socks.append(s)
    s = socket.create_connection(("127.0.0.1", con.port), timeout=5)
    s.sendall(b"GET /api/sessions?limit=500 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # big, unread
    socks.append(s)
    t0 = time.monotonic()
    ok = all(con.json("/api/stats")[0] == 200 and con.json("/api/sessions?limit=5")[0] == 200
             for _ in range(5))
    check(ok and time.monotonic() - t0 < 5, "requests answered while 4 clients never read")
    for s in socks:
        s.close()


def test_scale(check, fleet, con):
    """25,000 more sessions (older than the real ones): pages stay fast, and a
    filter matching only the oldest one crosses the per-request work bound
    with a cursor instead of failing."""
    n = 25000
    p = fleet.r.pipeline(transaction=False)
    for i in range(n):
        sid = "SYN%08d" % i
        p.hset("wt:session:" + sid, mapping={
            "id": sid, "workflow": "needle" if i == 0 else "hay", "status": "completed",
            "goal": "synthetic %d" % i, "created_ms": 1000000 + i // 3, "parent": "", "run": ""})
        p.zadd("wt:sessions", {sid: 1000000 + i // 3})
        if i % 2000 == 1999:
            p.execute()
    p.execute()
    t0 = time.monotonic()
    st, j = con.json("/api/sessions?limit=50")
    check(st == 200 and len(j["sessions"]) == 50 and time.monotonic() - t0 < 2,
          "first page of %d sessions in %.2fs" % (fleet.r.zcard("wt:sessions"),
                                                  time.monotonic() - t0))
    t0 = time.monotonic()
    ids, pages, bad = all_pages(con, "workflow=needle", 50)
    check(bad is None and ids == ["SYN00000000"] and pages == 2,
          "a rare match past the work bound: %d pages (%s)" % (pages, bad))
    check(time.monotonic() - t0 < 10, "rare filter in %.2fs" % (time.monotonic() - t0))
    everything = newest_first(fleet.r, "wt:sessions")
    ids, pages, bad = all_pages(con, "", 500)
    check(bad is None and ids == everything, "500-session pages over all %d: no repeat, no skip"
          % len(everything))


def test_token(check, fleet):
    tc = Console(fleet, "console-token", env={"WORKTRAIN_CONSOLE_TOKEN": TOKEN})
    st, j = tc.json("/api/stats")
    check(st == 401 and "error" in j, "no token -> 401 JSON")
    st, _ = tc.get("/api/stats", {"Authorization": "Bearer wrong"})
    check(st == 401, "wrong bearer -> 401")
    st, _ = tc.get("/", {"Authorization": "Bearer " + TOKEN})
    check(st == 200, "bearer token -> 200")
    st, hdrs, _ = tc.request("GET", "/api/sessions?limit=3&token=%s&status=completed" % TOKEN)
    cookie = hdrs.get("set-cookie", "")
    check(st == 303 and hdrs.get("location") == "/api/sessions?limit=3&status=completed",
          "?token= -> 303 to the URL without it (%s)" % hdrs.get("location"))
    check(cookie.startswith("wt_token=%s;" % TOKEN) and "HttpOnly" in cookie
          and "SameSite=Strict" in cookie and "Path=/" in cookie, "Set-Cookie: %s" % cookie)
    st, j = tc.json(hdrs.get("location", "/"), {"Cookie": cookie.split(";")[0]})
    check(st == 200 and len(j["sessions"]) == 3, "the cookie works")
    st, _, _ = tc.request("GET", "/?token=wrong")
    check(st == 401, "wrong ?token= -> 401")
    st, j = tc.json("/healthz")
    check(st == 200 and j["ok"] is True, "/healthz needs no token")
    log = open(os.path.join(fleet.dir, "console-token.log")).read()
    check(TOKEN not in log, "the token is not logged")


def test_redis_down(check, fleet, con):
    fleet.kill("redis")
    fleet.procs["redis"].wait(timeout=10)
    for path in ("/api/sessions", "/api/stats", "/api/workers", "/api/runs"):
        st, j = con.json(path)
        check(st == 503 and "redis" in j["error"], "%s with Redis down -> 503 JSON" % path)
    st, j = con.json("/healthz")
    check(st == 200 and j == {"ok": True, "redis": False}, "healthz says redis false")
    st, _, _ = con.request("GET", "/api/sessions/01JD0000000000000000000000/events")
    check(st == 503, "event stream with Redis down -> 503")
    check(con.proc.poll() is None, "the console keeps running")


def setup(fleet):
    script = os.path.join(fleet.dir, "console.json")
    with open(script, "w") as f:
        json.dump(SCRIPT, f)
    pipe = os.path.join(fleet.dir, "console-test.yml")
    with open(pipe, "w") as f:
        f.write(PIPELINE)
    fleet.start_redis()
    fleet.start_broker()
    for w in ("w1", "w2"):
        fleet.start_worker(w, 4, script)
    fleet.wait_workers(2)
    client = fleet.client()
    sids = {"roots": [client.spawn("two-step", "root %d" % i) for i in range(6)]}
    sids["issue"] = client.spawn("two-step", "issue-reporter")
    sids["stuck"] = client.spawn("two-step", "stuck-loop")
    sids["xss"] = client.spawn("two-step", "goal " + XSS)
    r = fleet.run_cli("run", pipe, "--goal", "the console", "--json", timeout=120)
    rep = json.loads(r.stdout)
    sids["run"] = rep["run"]
    phases = {p["id"]: p for p in rep["phases"]}
    sids["plan"] = phases["plan"]["session"]
    sids["build"] = phases["build"]["session"]
    sids["child"] = fleet.r.zrange("wt:session:%s:children" % sids["build"], 0, -1)[0]
    fleet.wait_completed(sids["roots"] + [sids["issue"], sids["stuck"], sids["xss"],
                                          sids["child"]], 60)
    return client, sids


def main():
    check = Check()
    fleet = Fleet("console")
    try:
        client, sids = setup(fleet)
        con = Console(fleet, "console")
        test_lists(check, fleet, con, sids)
        test_detail_and_trees(check, fleet, con, sids)
        test_fleet_routes(check, fleet, con)
        test_sse(check, fleet, con, client)
        test_slow_client(check, con)
        test_token(check, fleet)
        test_scale(check, fleet, con)
        client.close()
        test_redis_down(check, fleet, con)
        con.proc.send_signal(signal.SIGTERM)
        rc = con.proc.wait(timeout=10)
        check(rc == 0, "SIGTERM stops the console cleanly (exit %d)" % rc)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
