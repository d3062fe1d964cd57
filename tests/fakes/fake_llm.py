#!/usr/bin/python3
"""fake_llm - a local stand-in for the Anthropic and OpenAI HTTP APIs.

Serves POST /v1/messages (Anthropic Messages format) and
POST /v1/chat/completions (OpenAI Chat Completions format) on 127.0.0.1.
Replies come from a queue of actions (--script FILE, or POST /_control/script
with a JSON list that replaces the queue); each action is one of
  {"reply": {"text": "...", "tool_calls": [{"name": ..., "input": {...}}],
             "stop_reason": "end_turn|tool_use|max_tokens|refusal",
             "usage": {"input_tokens": N, "output_tokens": N}}}
  {"status": 429, "headers": {"retry-after": "1"}, "body": {...}}
  {"stall_s": 5}        sleep, then take the next action (none if the client
                        closed the connection meanwhile: it gave up)
  {"reset": true}       close the connection without answering
  {"raw": "not json{"}  a 200 with this exact body
When the queue is empty it answers with --default (an action, default a text
reply). --delay-ms delays every reply. --hold-until N holds every reply
until N requests have arrived (at most --hold-s seconds), so a test can
know N requests were open at once however slow the machine. With --tls-cert
and --tls-key it serves HTTPS (the handshake in each connection's own
thread). Every request is recorded (API keys
and Authorization values are redacted, with "key_ok" saying whether they
matched --expect-key; "conn" numbers the connection it came on, so a test
can count connections) and served at GET /_control/requests;
POST /_control/reset clears them. Run with /usr/bin/python3.
"""
import argparse
import itertools
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"queue": [], "requests": [], "lock": threading.Lock(), "ids": itertools.count(1),
         "conns": itertools.count(1)}
TLS = None  # an ssl.SSLContext with --tls-cert
ARRIVED = threading.Condition()
ARGS = None


def anthropic_body(reply, model):
    content = []
    if reply.get("text"):
        content.append({"type": "text", "text": reply["text"]})
    for c in reply.get("tool_calls", []):
        content.append({"type": "tool_use", "id": "toolu_%04d" % next(STATE["ids"]),
                        "name": c["name"], "input": c.get("input", {})})
    usage = reply.get("usage", {"input_tokens": 11, "output_tokens": 7})
    stop = reply.get("stop_reason") or ("tool_use" if reply.get("tool_calls") else "end_turn")
    return {"id": "msg_%04d" % next(STATE["ids"]), "type": "message", "role": "assistant",
            "model": model, "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": usage}


def openai_body(reply, model):
    calls = [{"id": "call_%04d" % next(STATE["ids"]), "type": "function",
              "function": {"name": c["name"], "arguments": json.dumps(c.get("input", {}))}}
             for c in reply.get("tool_calls", [])]
    msg = {"role": "assistant", "content": reply.get("text")}
    if calls:
        msg["tool_calls"] = calls
    stop = reply.get("stop_reason")
    finish = {"tool_use": "tool_calls", "max_tokens": "length", "refusal": "content_filter",
              "end_turn": "stop", None: "tool_calls" if calls else "stop"}.get(stop, stop)
    if stop == "refusal":
        msg = {"role": "assistant", "content": None, "refusal": reply.get("text", "I can't.")}
    usage = reply.get("usage", {"input_tokens": 11, "output_tokens": 7})
    return {"id": "chatcmpl-%04d" % next(STATE["ids"]), "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
            "usage": {"prompt_tokens": usage["input_tokens"],
                      "completion_tokens": usage["output_tokens"],
                      "total_tokens": usage["input_tokens"] + usage["output_tokens"]}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        self.conn_id = next(STATE["conns"])
        # as API servers do: an answer's headers and body are two writes, and
        # with Nagle the body waits for the ACK of the headers, which a client
        # on a kept connection delays by 40 ms
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if TLS is not None:  # here, not in accept: a slow handshake holds only its thread
            self.request = TLS.wrap_socket(self.request, server_side=True)
        super().setup()

    def handle(self):
        try:
            super().handle()
        except OSError:  # a failed handshake (a client that does not trust us), a reset
            pass

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
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
                self.send_json(200, STATE["requests"])
        elif self.path == "/_control/health":
            self.send_json(200, {"ok": True})
        elif self.path == "/v1/models":  # the key check of `worktrain doctor`
            given = self.headers.get("x-api-key") or self.headers.get("authorization", "")[7:]
            if ARGS.expect_key and given != ARGS.expect_key:
                self.send_json(401, {"error": {"type": "authentication_error"}})
            else:
                self.send_json(200, {"data": [{"id": "fake-model"}]})
        else:
            self.send_json(404, {"error": "not found"})

    def client_gone(self):
        """True when the client closed the connection (it timed out waiting)."""
        import select
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def next_action(self):
        with STATE["lock"]:
            if STATE["queue"]:
                return STATE["queue"].pop(0)
        return json.loads(ARGS.default)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        if self.path.startswith("/_control/"):
            with STATE["lock"]:
                if self.path == "/_control/script":
                    STATE["queue"] = json.loads(raw or b"[]")
                elif self.path == "/_control/reset":
                    STATE["requests"].clear()
                    STATE["queue"] = []
            return self.send_json(200, {"ok": True})
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            if k in ("x-api-key", "authorization"):
                secret = v[7:] if k == "authorization" and v.startswith("Bearer ") else v
                headers[k] = "<redacted:len=%d>" % len(v)
                headers[k + ":key_ok"] = bool(ARGS.expect_key) and secret == ARGS.expect_key
            else:
                headers[k] = v
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with STATE["lock"]:
            STATE["requests"].append({"path": self.path, "headers": headers, "body": body,
                                      "t": time.time(), "conn": self.conn_id})
        if ARGS.hold_until:
            with ARRIVED:
                ARRIVED.notify_all()
                ARRIVED.wait_for(lambda: len(STATE["requests"]) >= ARGS.hold_until, ARGS.hold_s)
        if ARGS.delay_ms:
            time.sleep(ARGS.delay_ms / 1000.0)
        action = self.next_action()
        while "stall_s" in action:
            time.sleep(action["stall_s"])
            if self.client_gone():
                return  # it gave up: leave the next action for the next request
            action = self.next_action()
        if action.get("reset"):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            return
        if "raw" in action:
            return self.send_json(200, action["raw"].encode())
        if "status" in action:
            return self.send_json(action["status"], action.get("body", {"type": "error", "error": {
                "type": "api_error", "message": "injected %d" % action["status"]}}),
                action.get("headers"))
        model = (body or {}).get("model", "fake-model")
        reply = action.get("reply", {"text": "ok"})
        if self.path == "/v1/messages":
            return self.send_json(200, anthropic_body(reply, model))
        if self.path.endswith("/chat/completions"):
            return self.send_json(200, openai_body(reply, model))
        self.send_json(404, {"error": "unknown path %s" % self.path})


def main():
    global ARGS, TLS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--script")
    ap.add_argument("--default", default='{"reply": {"text": "ok"}}')
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--hold-until", type=int, default=0)
    ap.add_argument("--hold-s", type=float, default=120.0)
    ap.add_argument("--expect-key", default="")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ARGS = ap.parse_args()
    if ARGS.tls_cert:
        import ssl
        TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        TLS.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
    if ARGS.script:
        with open(ARGS.script) as f:
            STATE["queue"] = json.load(f)
    ThreadingHTTPServer.request_queue_size = 1024
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    if ARGS.port_file:
        with open(ARGS.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        import os
        os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
