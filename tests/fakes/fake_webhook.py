#!/usr/bin/python3
"""fake_webhook - a local stand-in for a webhook receiver (generic JSON
webhook or a Slack incoming webhook).

Listens on 127.0.0.1 and answers every POST outside /_control/ with the
current mode: {"status": 200} by default; POST /_control/mode with a JSON
object replaces it, e.g. {"status": 500}, {"status": 429, "headers":
{"Retry-After": "1"}}, {"status": 200, "delay_ms": 1500} (sleep before
answering). Every such POST is recorded with its path, headers and JSON
body (or "raw" text when it is not JSON) and served at
GET /_control/requests; POST /_control/reset clears the records.
--port-file writes the chosen port (atomically) once listening.
Run with /usr/bin/python3.
"""
import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"mode": {"status": 200}, "requests": [], "lock": threading.Lock()}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_control/requests":
            with STATE["lock"]:
                return self.send_json(200, STATE["requests"])
        if self.path == "/_control/health":
            return self.send_json(200, {"ok": True})
        self.send_json(404, {"error": "not found"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        if self.path.startswith("/_control/"):
            with STATE["lock"]:
                if self.path == "/_control/mode":
                    STATE["mode"] = json.loads(raw or b"{}")
                elif self.path == "/_control/reset":
                    STATE["requests"].clear()
                else:
                    return self.send_json(404, {"error": "unknown control %s" % self.path})
            return self.send_json(200, {"ok": True})
        rec = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
               "t": time.time()}
        try:
            rec["body"] = json.loads(raw)
        except ValueError:
            rec["body"] = None
            rec["raw"] = raw.decode("utf-8", "replace")
        with STATE["lock"]:
            STATE["requests"].append(rec)
            mode = dict(STATE["mode"])
        if mode.get("delay_ms"):
            time.sleep(mode["delay_ms"] / 1000.0)
        status = int(mode.get("status", 200))
        self.send_json(status, mode.get("body", {"ok": 200 <= status < 300}), mode.get("headers"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--status", type=int, default=200, help="initial reply status")
    ap.add_argument("--delay-ms", type=int, default=0, help="initial reply delay")
    args = ap.parse_args()
    STATE["mode"] = {"status": args.status, "delay_ms": args.delay_ms}
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
