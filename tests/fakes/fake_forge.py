#!/usr/bin/python3
"""fake_forge - the machinery shared by fake_github.py and fake_gitlab.py.

A Forge keeps items (issues, pull/merge requests) in memory and serves list
endpoints the way the real REST APIs do: newest update first, pages with a
Link header (rel="next"/"last"), a weak ETag over the page answered with 304
when If-None-Match matches (a 304 does not use quota), and rate-limit
headers on every answer. Control endpoints (under /_control/) let a test
add and update items, exhaust the quota until a reset time, inject
failures, hold answers (/_control/hold: the next matching API request is
carried out, then its answer waits - a client killed meanwhile never
learns it succeeded), and read every API request recorded with its time, status and
headers (token values redacted to their length plus token_ok) and the
quota left after it ("remaining").
Run with /usr/bin/python3.
"""
import hashlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit


def iso(t, millis=False):
    s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t)))
    return s + (".%03dZ" % int((t % 1) * 1000) if millis else "Z")


class Forge:
    """State of one fake forge. Subclasses say how items look and where they live."""

    token_headers = ()          # request headers carrying the token (lower case)
    rate_prefix = "X-RateLimit-"
    limited_status = 403

    def __init__(self, token):
        self.token = token
        self.lock = threading.Lock()
        self.items = {}          # (scope, number) -> item dict
        self.requests = []
        self.clock = 0.0         # last updated_at handed out (strictly increasing)
        self.limit = 5000
        self.remaining = 5000
        self.reset_at = int(time.time()) + 3600
        self.exhausted_until = 0.0
        self.retry_after = None
        self.failures = []       # queued injected answers: {"status": N} or {"raw": "..."}
        self.holds = []          # {"method", "suffix", "seconds"}: delay one matching answer

    # -- time --
    def tick(self):
        """A fresh update time: now, but strictly later than the last one (whole seconds,
        like GitHub)."""
        t = max(float(int(time.time())), self.clock + 1.0)
        self.clock = t
        return t

    # -- control --
    def control(self, path, body):
        with self.lock:
            if path == "/_control/reset":
                self.requests.clear()
                self.failures = []
                return {"ok": True}
            if path == "/_control/ratelimit":
                reset_in = float(body.get("reset_in_s", 2))
                self.exhausted_until = time.time() + reset_in
                self.reset_at = int(self.exhausted_until + 0.999)
                self.exhausted_until = float(self.reset_at)
                self.remaining = 0
                self.retry_after = body.get("retry_after")
                self.limited_status = int(body.get("status", type(self).limited_status))
                return {"ok": True, "reset": self.reset_at}
            if path == "/_control/hold":
                self.holds.append(body)
                return {"ok": True}
            if path == "/_control/fail":
                self.failures.extend(body.get("answers", []))
                return {"ok": True}
            if path == "/_control/item":
                return self.add_item(body)
            if path == "/_control/update":
                return self.update_item(body)
        return None

    # -- quota --
    def quota_headers(self):
        p = self.rate_prefix
        return {p + "Limit": str(self.limit), p + "Remaining": str(self.remaining),
                p + "Reset": str(self.reset_at)}

    def refill_if_due(self):
        now = time.time()
        if self.remaining == 0 and now >= self.exhausted_until:
            self.remaining = self.limit
            self.reset_at = int(now) + 3600
            self.retry_after = None

    # -- listing --
    def page(self, items, query, base_url):
        per_page = max(1, min(100, int(query.get("per_page", ["30"])[0])))
        page = max(1, int(query.get("page", ["1"])[0]))
        last = max(1, (len(items) + per_page - 1) // per_page)
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []

        def link(n, rel):
            q = {k: v[0] for k, v in query.items()}
            q["page"] = str(n)
            return '<%s?%s>; rel="%s"' % (base_url, urlencode(q), rel)
        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.append(link(page - 1, "prev"))
            links.append(link(1, "first"))
        return chunk, links, page, per_page, len(items)


def serve(forge, route, argv=None):
    """Runs the HTTP server; route(forge, method, path, query) returns
    (status, obj, headers) for an API request or None for 404."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--token", default="")
    ap.add_argument("--token-env", help="read the token from this environment variable "
                    "(keeps it out of argv, for tests that grep /proc/*/cmdline)")
    args = ap.parse_args(argv)
    forge.token = os.environ.get(args.token_env, "") if args.token_env else args.token

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def send(self, status, obj, headers=None):
            data = b"" if obj is None else (obj if isinstance(obj, bytes)
                                            else json.dumps(obj).encode())
            self.send_response(status)
            if status != 304:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if data:
                self.wfile.write(data)

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            return json.loads(raw) if raw else {}

        def do_POST(self):
            if not self.path.startswith("/_control/"):
                return self.api("POST")
            out = forge.control(self.path, self.body())
            self.send(200 if out is not None else 404, out or {"error": "unknown control"})

        def api(self, method):
            """POST to the API (create): quota, token, injected failures, holds."""
            u = urlsplit(self.path)
            body = self.body()
            token_ok, headers = check_token(self.headers)
            rec = {"method": method, "path": u.path, "query": u.query, "headers": headers,
                   "token_ok": token_ok, "t": time.time(), "body": body}
            hold = 0
            with forge.lock:
                forge.requests.append(rec)
                status, obj, extra = gate(token_ok)
                if status is None:
                    out = forge.create(u.path, body) if hasattr(forge, "create") else None
                    status, obj = out if out is not None else (404, {"message": "Not Found"})
                    forge.remaining -= 1
                    extra = forge.quota_headers()
                for h in list(forge.holds):
                    if h.get("method", "POST") == method and u.path.endswith(h.get("suffix", "")):
                        forge.holds.remove(h)
                        hold = float(h.get("seconds", 30))
                        break
                rec["status"] = status
                rec["remaining"] = forge.remaining
            if hold:
                time.sleep(hold)
            try:
                self.send(status, obj, extra)
            except OSError:
                pass        # the client is gone (killed while held)

        def do_GET(self):
            u = urlsplit(self.path)
            if u.path == "/_control/requests":
                with forge.lock:
                    return self.send(200, list(forge.requests))
            if u.path == "/_control/health":
                return self.send(200, {"ok": True})
            if u.path == "/_control/items":
                with forge.lock:
                    return self.send(200, list(forge.items.values()))
            token_ok, headers = check_token(self.headers)
            rec = {"method": "GET", "path": u.path, "query": u.query, "headers": headers,
                   "token_ok": token_ok, "t": time.time()}
            with forge.lock:
                forge.requests.append(rec)
                status, obj, extra = answer(u, token_ok, self.headers.get("If-None-Match"))
                rec["status"] = status
                rec["remaining"] = forge.remaining
            self.send(status, obj, extra)

    def check_token(request_headers):
        headers = {}
        token_ok = False
        for k, v in request_headers.items():
            lk = k.lower()
            if lk in forge.token_headers:
                secret = v.split(" ", 1)[1] if lk == "authorization" and " " in v else v
                token_ok = bool(forge.token) and secret == forge.token
                headers[lk] = "<redacted:len=%d>" % len(v)
            else:
                headers[lk] = v
        return token_ok, headers

    def gate(token_ok):
        """Lock held. (status, obj, headers) of a refusal, or (None, None, None) to go on."""
        forge.refill_if_due()
        quota = forge.quota_headers()
        if forge.remaining == 0:
            h = dict(quota)
            if forge.retry_after is not None:
                h["Retry-After"] = str(forge.retry_after)
            return forge.limited_status, {"message": "API rate limit exceeded",
                                          "documentation_url": "https://docs.github.com/rest"}, h
        if not token_ok:
            return 401, {"message": "Bad credentials"}, quota
        if forge.failures:
            f = forge.failures.pop(0)
            if "raw" in f:
                return 200, f["raw"].encode(), quota
            return int(f.get("status", 500)), {"message": "injected failure"}, quota
        return None, None, None

    def answer(u, token_ok, if_none_match):
        """Lock held. The API answer for one request."""
        status, obj, h = gate(token_ok)
        if status is not None:
            return status, obj, h
        quota = forge.quota_headers()
        query = parse_qs(u.query)
        routed = route(forge, u.path, query)
        if routed is None:
            return 404, {"message": "Not Found"}, quota
        items, base_url = routed
        chunk, links, page, per_page, total = forge.page(items, query, base_url)
        data = json.dumps(chunk).encode()
        etag = 'W/"%s"' % hashlib.sha1(data).hexdigest()
        h = {"ETag": etag}
        if links:
            h["Link"] = ", ".join(links)
        h.update(forge.extra_headers(page, per_page, total))
        inm = [t.strip() for t in (if_none_match or "").split(",") if t.strip()]
        if etag in inm:
            h.update(forge.quota_headers())
            return 304, None, h     # no quota used
        forge.remaining -= 1
        h.update(forge.quota_headers())
        return 200, data, h

    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    forge.port = srv.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()
