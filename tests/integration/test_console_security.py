# ctest-timeout: 60
"""`worktrain console` against Redis only (no fleet): the request checks a
review found missing. Without a token, a Host that DNS rebinding could
produce (any name but localhost, not an IP literal) gets 403, so a web page
cannot read a loopback console through its own domain; ?token= never
redirects off the console ("//host" Locations); %00 in a path or parameter
is not cut short (it would change the route or the id); malformed
Last-Event-ID values are 400."""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import Check, Fleet  # noqa: E402
from test_console_api import Console  # noqa: E402

TOKEN = "t0k-en_for.tests"
SID = "01JSECURITY0000000000000000"
BROKEN = "01JBROKENSTREAM000000000000"


def raw(port, head, wait_s=3):
    """Sends one raw request head; returns (status, headers dict, body).
    An event stream never ends: what came within wait_s is kept. Answers that
    end (Connection: close) and may be slow get a longer wait_s."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    data = b""
    try:
        s.sendall(head.encode("latin-1") + b"Connection: close\r\n\r\n")
        s.settimeout(wait_s)
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except socket.timeout:
        pass
    finally:
        s.close()
    top, _, body = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), hdrs, body


def test_host(check, con):
    p = con.port
    for host in ("evil.example", "evil.example:%d" % p, "127.0.0.1.evil.example:%d" % p):
        for path in ("/api/stats", "/", "/api/events", "/api/sessions/%s" % SID):
            st, _, body = raw(p, "GET %s HTTP/1.1\r\nHost: %s\r\n" % (path, host))
            check(st == 403 and b"Host" in body,
                  "no token, Host %s, %s -> 403 (%d)" % (host, path, st))
    for host in ("127.0.0.1:%d" % p, "localhost:%d" % p, "localhost", "[::1]:%d" % p):
        st, _, _ = raw(p, "GET /api/stats HTTP/1.1\r\nHost: %s\r\n" % host)
        check(st == 200, "no token, Host %s -> 200 (%d)" % (host, st))
    st, _, _ = raw(p, "GET /healthz HTTP/1.1\r\nHost: evil.example\r\n")
    check(st == 200, "/healthz is answered whatever the Host (%d)" % st)


def test_paths(check, con):
    p = con.port
    h = "Host: 127.0.0.1:%d\r\n" % p
    st, _, _ = raw(p, "GET /api/sessions/%s HTTP/1.1\r\n%s" % (SID, h))
    check(st == 200, "the session exists (%d)" % st)
    for path in ("/api/sessions/%s%%00/tree" % SID, "/api/sessions/%s%%00x" % SID,
                 "/api/sessions/..%%2F%s" % SID, "/api/sessions/%%2e%%2e",
                 "/api/sessions/" + "A" * 5000, "/api/runs/x%00"):
        st, _, _ = raw(p, "GET %s HTTP/1.1\r\n%s" % (path, h))
        check(st == 400, "%s... -> 400 (%d)" % (path[:40], st))
    for q in ("parent=%s%%00x" % SID, "run=%s%%00" % SID, "cursor=5-%s%%00zz" % SID):
        st, _, _ = raw(p, "GET /api/sessions?%s HTTP/1.1\r\n%s" % (q, h))
        check(st == 400, "?%s -> 400 (%d)" % (q, st))
    ev = "/api/sessions/%s/events" % SID
    for bad in ("1-0%00x", "1-", "-1", "1-2-3", "x", "1" * 30 + "-0", "%2B", "$"):
        st, _, _ = raw(p, "GET %s?last_event_id=%s HTTP/1.1\r\n%s" % (ev, bad, h))
        check(st == 400, "?last_event_id=%s -> 400 (%d)" % (bad, st))
    # An ended session whose remaining events cannot be read: an error the
    # browser retries, never 204 (which would stop it for good).
    st, _, _ = raw(p, "GET /api/sessions/%s/events HTTP/1.1\r\n%sLast-Event-ID: 1-0\r\n"
                   % (BROKEN, h))
    check(st == 503, "resume of an ended session whose stream cannot be read -> 503 (%d)" % st)
    for bad in ("1-", "abc", "0-0 x", "+", "99999999999999999999-0"):
        st, _, _ = raw(p, "GET %s HTTP/1.1\r\n%sLast-Event-ID: %s\r\n" % (ev, h, bad))
        check(st == 400, "Last-Event-ID: %s -> 400 (%d)" % (bad, st))


def test_redirect(check, fleet):
    tc = Console(fleet, "console-token", env={"WORKTRAIN_CONSOLE_TOKEN": TOKEN})
    p = tc.port
    for path, want in (("//evil.example/x", "/evil.example/x"), ("///evil.example", "/evil.example"),
                       ("/\\evil.example", "/%5Cevil.example"),
                       ("http://evil.example/x", None)):
        st, hdrs, _ = raw(p, "GET %s?token=%s&a=1 HTTP/1.1\r\nHost: evil.example\r\n"
                          % (path, TOKEN))
        loc = hdrs.get("location", "")
        ok = loc.startswith("/") and not loc.startswith("//") and not loc.startswith("/\\")
        if want is not None:
            ok = ok and loc == want + "?a=1"
        check(st == 303 and ok and TOKEN not in loc,
              "?token= on %s -> 303 to a path of the console (%r)" % (path, loc))
    st, _, _ = raw(p, "GET /api/stats HTTP/1.1\r\nHost: evil.example\r\nAuthorization: "
                   "Bearer %s\r\n" % TOKEN)
    check(st == 200, "with a token the Host is not checked (the token is the guard) (%d)" % st)
    tc.proc.terminate()
    tc.proc.wait(timeout=10)


def test_runs_bound(check, fleet, con):
    """/api/runs over 25,000 index entries whose records are gone: each
    answer does bounded work and hands back a cursor; following the cursors
    reaches the one real run (the oldest)."""
    import json
    import time
    real = "01JREALRUN0000000000000000"
    fleet.r.hset("wt:run:" + real, mapping={"id": real, "pipeline": "p", "status": "succeeded",
                                            "created_ms": 1, "phases": "[]"})
    pipe = fleet.r.pipeline()
    pipe.zadd("wt:runs", {real: 1})
    for i in range(25000):
        pipe.zadd("wt:runs", {"01JGONE%019d" % i: 10 + i})
    pipe.execute()
    cursor, pages, found, slowest = None, 0, [], 0.0
    while pages < 10:
        path = "/api/runs?limit=5" + ("&cursor=" + cursor if cursor else "")
        t0 = time.monotonic()
        st, _, body = raw(con.port, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n" % path, wait_s=120)
        slowest = max(slowest, time.monotonic() - t0)
        pages += 1
        j = json.loads(body)
        found += [r["id"] for r in j["runs"]]
        cursor = j["next_cursor"]
        if st != 200 or not cursor:
            break
    check(found == [real] and 2 <= pages <= 3,
          "runs paging past 25,000 missing records: bounded pages, the real run found "
          "(%d pages, %s, slowest %.2f s)" % (pages, found, slowest))


BIG = "01JBIGEVENT0000000000000000"


def test_big_event(check, fleet, con):
    """An event over the SSE cap goes as a truncated form with a link to the
    whole event; the stream goes on past it (it used to end there, and the
    browser's resume asked for it again, for ever)."""
    import json
    key = "wt:session:%s:events" % BIG
    fleet.r.hset("wt:session:" + BIG, mapping={"id": BIG, "status": "completed", "goal": "g",
                                               "created_ms": 6})
    fleet.r.xadd(key, {"type": "session_started", "data": json.dumps({"worker": "w"})})
    huge = "x" * (9 << 20)
    big_id = fleet.r.xadd(key, {"type": "tool_call_completed",
                                "data": json.dumps({"tool": "Bash", "duration_ms": 3,
                                                    "result_summary": huge})})
    fleet.r.xadd(key, {"type": "step_advanced", "data": json.dumps({"step": "s1"})})
    fleet.r.xadd(key, {"type": "session_completed", "data": json.dumps({"outcome": "success"})})
    st, _, body = con.request("GET", "/api/sessions/%s/events" % BIG)
    frames = [json.loads(ln[6:]) for ln in body.decode().split("\n") if ln.startswith("data: ")]
    types = [f["type"] for f in frames]
    check(st == 200 and types == ["session_started", "tool_call_completed", "step_advanced",
                                  "session_completed"],
          "SSE goes past a 9 MB event to the end (%d, %s)" % (st, types))
    t = frames[1] if len(frames) > 1 else {}
    check(t.get("truncated") is True and t.get("dropped") == ["result_summary"]
          and t.get("data") == {"tool": "Bash", "duration_ms": 3} and t.get("bytes", 0) > (9 << 20)
          and len(body) < (1 << 20),
          "the big event is sent truncated: small fields kept, the big one named (%s)"
          % {k: v for k, v in t.items() if k != "data"})
    full = t.get("full", "")
    check(full == "/api/sessions/%s/events/%s" % (BIG, big_id), "it links to the whole event (%s)" % full)
    st, _, body = con.request("GET", full)
    whole = json.loads(body) if st == 200 else {}
    check(st == 200 and whole.get("data", {}).get("result_summary") == huge,
          "the link answers the whole event (%d, %d bytes)" % (st, len(body)))
    st, _, _ = con.request("GET", "/api/sessions/%s/events/1-999" % BIG)
    check(st == 404, "an unknown event id -> 404 (%d)" % st)
    st, _, _ = con.request("GET", "/api/sessions/%s/events/../x" % BIG)
    check(st in (400, 404), "a malformed event id is refused (%d)" % st)
    st, _, _ = con.request("GET", "/api/events/nonsense")
    check(st == 400, "a malformed fleet event id -> 400 (%d)" % st)


def free_port6():
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        return s.getsockname()[1]


def get6(port, path):
    import http.client
    c = http.client.HTTPConnection("::1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_get6(port, path, what):
    import time
    deadline = time.monotonic() + 10
    while True:
        try:
            return get6(port, path)
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(what + " did not answer on [::1]")
            time.sleep(0.05)


def test_ipv6(check, fleet):
    """--http takes [IPv6]:PORT, for the console and the broker alike."""
    from wtfleet import BIN
    port = free_port6()
    fleet._spawn("console6", [BIN, "console", "--http", "[::1]:%d" % port,
                              "--redis", fleet.redis_url])
    st, body = wait_get6(port, "/api/stats", "console")
    check(st == 200 and b"sessions" in body, "console on [::1]: /api/stats -> 200 (%d)" % st)
    bport = free_port6()
    fleet._spawn("broker6", [BIN, "broker", "--http", "[::1]:%d" % bport, "--redis",
                             fleet.redis_url, "--clients", "ipc://%s/c6" % fleet.dir,
                             "--workers", "ipc://%s/w6" % fleet.dir])
    st, _ = wait_get6(bport, "/healthz", "broker")
    check(st == 200, "broker on [::1]: /healthz -> 200 (%d)" % st)
    r = fleet.run_cli("console", "--http", "::1:%d" % port)
    check(r.returncode == 2 and "brackets" in r.stderr,
          "an IPv6 address without brackets is refused with a hint (%s)" % r.stderr.strip())


def main():
    check = Check()
    fleet = Fleet("console-security")
    try:
        fleet.start_redis()
        fleet.r.hset("wt:session:" + SID, mapping={"id": SID, "status": "completed",
                                                   "goal": "g", "created_ms": 5})
        fleet.r.zadd("wt:sessions", {SID: 5})
        fleet.r.xadd("wt:session:%s:events" % SID, {"type": "session_completed", "data": "{}"})
        fleet.r.hset("wt:session:" + BROKEN, mapping={"id": BROKEN, "status": "completed"})
        fleet.r.set("wt:session:%s:events" % BROKEN, "not a stream")  # XRANGE fails
        con = Console(fleet, "console")
        test_host(check, con)
        test_paths(check, con)
        test_redirect(check, fleet)
        test_runs_bound(check, fleet, con)
        test_ipv6(check, fleet)
        test_big_event(check, fleet, con)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
