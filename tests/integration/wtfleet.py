"""wtfleet - starts a real local WorkTrain fleet for integration tests.

A Fleet owns a temp directory, a real redis-server on a free loopback port,
one broker and N workers (the real `worktrain` binary), all on ipc://
endpoints inside the temp dir, and stops every process it started. Waits are
event-driven where an event exists (XREAD BLOCK on the fleet stream) and
always bounded by a deadline.

Run with Debian's /usr/bin/python3 (python3-redis, python3-zmq, python3-msgpack).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import msgpack
import redis
import zmq

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("WORKTRAIN_BIN", os.path.join(REPO, "build", "worktrain"))
WORKFLOWS = os.path.join(REPO, "workflows")
SCRIPTS = os.path.join(REPO, "tests", "scripts")
# bench_load (bench/bench_load.c) and what the benchmarks run: a no-op
# one-step workflow and its scripted LLM replies.
BUILD = os.environ.get("WT_BUILD_DIR", os.path.join(REPO, "build"))
BENCH_LOAD = os.path.join(BUILD, "bench", "bench_load")
BENCH_WF = os.path.join(REPO, "bench", "workflows")
ONE_STEP = os.path.join(REPO, "bench", "scripts", "one-step.json")
SHARED = os.path.normpath(os.path.join(REPO, "..", "shared"))
# WorkRail v3.37.1's files: the full fixture folder in ../shared when present,
# else the copies shipped in tests/fixtures (same layout, MIT LICENSE there);
# WT_WORKRAIL_FIXTURES=DIR picks one (to run the clean-clone case here).
WORKRAIL = os.environ.get("WT_WORKRAIL_FIXTURES") or (
    os.path.join(SHARED, "fixtures", "workrail-v3.37.1")
    if os.path.isdir(os.path.join(SHARED, "fixtures", "workrail-v3.37.1", "workflows"))
    else os.path.join(REPO, "tests", "fixtures", "workrail-v3.37.1"))
WORKRAIL_FULL = len([f for _, _, fs in os.walk(os.path.join(WORKRAIL, "workflows"))
                     for f in fs if f.endswith(".json")]) >= 43

CMD = {"SPAWN": 0x01, "SPAWNED": 0x02, "CANCEL": 0x03, "CANCELLED": 0x04, "STATS": 0x05,
       "STATS_REPLY": 0x06, "BATCH": 0x1E, "ERROR": 0x1F}
CMD_NAME = {v: k for k, v in CMD.items()}
WCMD = {"READY": 0x20, "HEARTBEAT": 0x21, "ASSIGN": 0x22, "FINISHED": 0x23, "DISCONNECT": 0x24,
        "STOP": 0x25, "BATCH": 0x1E, "ERROR": 0x1F}
WCMD_NAME = {v: k for k, v in WCMD.items()}


def pack_batch(header, items):
    """A BATCH's frames (PROTOCOL.md 3.1): header (b"WTC1"/b"WTW1"), the
    command 0x1e and {"batch": [flat message, ...]}, each flat message the
    header, one command byte and the msgpack body; items: [(cmd byte, body)]."""
    flat = [header + bytes([cmd]) + msgpack.packb(body) for cmd, body in items]
    return [header, bytes([0x1E]), msgpack.packb({"batch": flat}, use_bin_type=True)]


def unbatch(frames):
    """[(command byte, body)] of one received message: a BATCH's messages in
    order, or the message itself."""
    if frames[1][0] != 0x1E:
        return [(frames[1][0], msgpack.unpackb(frames[2], raw=False))]
    return [(f[4], msgpack.unpackb(f[5:], raw=False))
            for f in msgpack.unpackb(frames[2], raw=False)["batch"]]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"  # Debian's bundle (ca-certificates)


def tls_cert(d):
    """A self-signed certificate for 127.0.0.1 in d (openssl's CLI, P-256: fast
    to make). Returns (cert, key, trusted): trusted is the system bundle with
    the certificate added, for SSL_CERT_FILE, so a worker trusts the test's
    server with a store the size users have."""
    cert, key, trusted = (os.path.join(d, n) for n in ("tls-cert.pem", "tls-key.pem", "trusted.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    with open(trusted, "w") as out:
        if os.path.exists(SYSTEM_CA):
            with open(SYSTEM_CA) as f:
                out.write(f.read())
        with open(cert) as f:
            out.write(f.read())
    return cert, key, trusted


def start_h2_proxy(d, backend_base, cert, key, streams=100):
    """nghttpx (Debian's nghttp2-proxy) on a free loopback port: HTTPS with
    HTTP/2 (ALPN) in front, HTTP/1.1 to backend_base ("http://127.0.0.1:N"),
    at most streams requests at once per connection. Its access log has one
    line per request: the client's port (one per connection) and the ALPN.
    Returns (process, "https://127.0.0.1:PORT", access log path)."""
    port, log = free_port(), os.path.join(d, "h2-access.log")
    bport = backend_base.rsplit(":", 1)[1]
    p = subprocess.Popen(["nghttpx", "-f127.0.0.1,%d" % port, "-b127.0.0.1,%s" % bport,
                          "--no-ocsp", "--workers=1", "-c", str(streams),
                          "--accesslog-file=" + log, "--accesslog-format=$remote_port $alpn $status",
                          "--errorlog-file=" + os.path.join(d, "h2-error.log"), key, cert],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        if p.poll() is not None or time.monotonic() > deadline:
            p.kill()
            raise RuntimeError("nghttpx did not start (see %s)" % os.path.join(d, "h2-error.log"))
        time.sleep(0.02)
    return p, "https://127.0.0.1:%d" % port, log


def h2_connections(log):
    """(connections, ALPNs) the requests of an start_h2_proxy access log came on."""
    with open(log) as f:
        rows = [line.split() for line in f if line.strip()]
    return len({r[0] for r in rows}), {r[1] for r in rows}


def http_metric(port, name):
    """The value of metric name on 127.0.0.1:port/metrics (a worker's --http),
    None when it is not there."""
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


class Check:
    """Counts assertions and prints the closing 'N passed, N failed' line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def __call__(self, cond, what):
        if cond:
            self.passed += 1
            print("ok   " + what, flush=True)
        else:
            self.failed += 1
            print("FAIL " + what, flush=True)
        return cond

    def done(self):
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)


class Client:
    """A raw client DEALER speaking the WTC1 protocol (for load and bad-input tests)."""

    def __init__(self, ctx, endpoint):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.req = 0

    def send(self, cmd, body):
        self.req += 1
        body = dict(body)
        body.setdefault("req", self.req)
        self.sock.send_multipart([b"WTC1", bytes([CMD[cmd]]), msgpack.packb(body)])
        return self.req

    def send_raw(self, frames):
        self.sock.send_multipart(frames)

    def recv(self, timeout_s=10.0):
        if not self.sock.poll(int(timeout_s * 1000)):
            raise TimeoutError("no reply from broker within %.1fs" % timeout_s)
        frames = self.sock.recv_multipart()
        assert len(frames) == 3, "reply has %d frames" % len(frames)
        return CMD_NAME.get(frames[1][0], frames[1][0]), msgpack.unpackb(frames[2], raw=False)

    def spawn(self, workflow, goal, timeout_s=10.0, **kw):
        self.send("SPAWN", dict(workflow=workflow, goal=goal, **kw))
        cmd, body = self.recv(timeout_s)
        if cmd != "SPAWNED":
            raise RuntimeError("spawn refused: %s %s" % (cmd, body))
        return body["session"]

    RETRYABLE = (7, 12)  # UNAVAILABLE (not stored yet), NOT_ACTIVE (a standby answered)

    def spawn_many(self, n, workflow, goal_fmt="goal %d", window=500, timeout_s=60.0, **kw):
        """Pipelined spawns with up to `window` in flight; returns ids in order.
        Each carries an idempotency key, so a retryable refusal (UNAVAILABLE,
        NOT_ACTIVE) is sent again, same request id and key, until the deadline."""
        ids = {}
        sent = 0
        deadline = time.monotonic() + timeout_s
        first_req = self.req + 1
        run = os.urandom(6).hex()
        bodies = {}
        while len(ids) < n:
            while sent < n and sent - len(ids) < window:
                body = dict(workflow=workflow, goal=goal_fmt % sent, **kw)
                body.setdefault("key", "many-%s-%d" % (run, sent))
                r = self.send("SPAWN", body)
                bodies[r] = dict(body, req=r)
                sent += 1
            cmd, body = self.recv(max(0.1, deadline - time.monotonic()))
            if cmd == "ERROR" and body.get("code") in self.RETRYABLE and body.get("req") in bodies \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
                self.sock.send_multipart([b"WTC1", bytes([CMD["SPAWN"]]),
                                          msgpack.packb(bodies[body["req"]])])
                continue
            if cmd != "SPAWNED":
                raise RuntimeError("spawn refused: %s %s" % (cmd, body))
            ids[body["req"]] = body["session"]
        return [ids[first_req + i] for i in range(n)]

    def close(self):
        self.sock.close(0)


class Fleet:
    def __init__(self, name="fleet", appendonly=False):
        self.dir = tempfile.mkdtemp(prefix="wt-%s-" % name)
        self.procs = {}
        self.ctx = zmq.Context()
        self.appendonly = appendonly
        self.clients_ep = "ipc://%s/clients.sock" % self.dir
        self.workers_ep = "ipc://%s/workers.sock" % self.dir
        self.http_port = free_port()
        self.redis_port = None
        self.r = None
        self.redis_args = []       # extra redis-server arguments (e.g. --requirepass, --user)
        self.redis_password = None  # the test's own (admin) connection authenticates with it
        self.redis_cred = ""       # "user:password@" put in redis_url for the fleet

    # --- processes ---
    def _spawn(self, key, argv, env=None):
        log = open(os.path.join(self.dir, key + ".log"), "ab")
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=e, cwd=REPO, start_new_session=True)
        self.procs[key] = p
        return p

    def start_redis(self, port=None):
        self.redis_port = port or self.redis_port or free_port()
        data = os.path.join(self.dir, "redis")
        os.makedirs(data, exist_ok=True)
        self._spawn("redis", ["/usr/bin/redis-server", "--port", str(self.redis_port),
                              "--bind", "127.0.0.1", "--dir", data, "--save", "",
                              "--appendonly", "yes" if self.appendonly else "no",
                              "--appendfsync", "always" if self.appendonly else "no"]
                    + self.redis_args)
        self.r = redis.Redis(host="127.0.0.1", port=self.redis_port, decode_responses=True,
                             socket_timeout=30, password=self.redis_password)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.r.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    @property
    def redis_url(self):
        return "redis://%s127.0.0.1:%d/0" % (self.redis_cred, self.redis_port)

    def start_broker(self, *extra):
        p = self._spawn("broker", [BIN, "broker", "--clients", self.clients_ep, "--workers",
                                   self.workers_ep, "--redis", self.redis_url, "--http",
                                   "127.0.0.1:%d" % self.http_port] + list(extra))
        self.wait_for(lambda: os.path.exists(self.clients_ep[6:]), 10, "broker socket")
        return p

    def start_worker(self, name, slots=4, script=None, *extra, env=None, min_notes=0, wrap=()):
        """min_notes: --min-notes (the scripted replies in tests/scripts carry short
        notes, so 0 unless a test checks WorkRail's rule; None keeps the default 50).
        wrap: a command line the worker runs under (e.g. ["taskset", "-c", "0"])."""
        argv = list(wrap) + [BIN, "worker", "--broker", self.workers_ep, "--clients", self.clients_ep,
                "--redis", self.redis_url,
                "--slots", str(slots), "--name", name, "--workflows", WORKFLOWS,
                "--workspace-root", os.path.join(self.dir, "ws")]
        if script:
            argv += ["--provider", "scripted", "--script", script]
        if min_notes is not None:
            argv += ["--min-notes", str(min_notes)]
        argv += list(extra)
        return self._spawn("worker-" + name, argv, env=env)

    def wait_workers(self, n, timeout_s=15, exact=False):
        """Waits until the broker counts n workers (STATS; exactly n with exact), bounded."""
        c = self.client()
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                c.send("STATS", {})
                _, body = c.recv(5)
                got = body.get("workers", 0)
                if got == n or (got > n and not exact):
                    return body
                if time.monotonic() > deadline:
                    raise TimeoutError("only %s workers registered" % body.get("workers"))
                time.sleep(0.05)
        finally:
            c.close()

    def client(self):
        return Client(self.ctx, self.clients_ep)

    def run_cli(self, *args, timeout=60, env=None):
        e = dict(os.environ)
        if self.redis_port:
            e["WORKTRAIN_REDIS"] = self.redis_url
        e["WORKTRAIN_BROKER"] = self.clients_ep
        e.update(env or {})
        return subprocess.run([BIN] + list(args), capture_output=True, text=True, timeout=timeout,
                              env=e, cwd=REPO, stdin=subprocess.DEVNULL)

    def wait_for(self, pred, timeout_s, what):
        deadline = time.monotonic() + timeout_s
        while not pred():
            if time.monotonic() > deadline:
                raise TimeoutError("timed out waiting for " + what)
            time.sleep(0.02)

    def wait_completed(self, sids, timeout_s=120):
        """Waits (XREAD BLOCK on wt:events) until every sid has a session_completed."""
        want = set(sids)
        done = set()
        last = "0"
        deadline = time.monotonic() + timeout_s
        while done != want:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("%d of %d sessions completed" % (len(done), len(want)))
            res = self.r.xread({"wt:events": last}, count=5000, block=int(min(left, 1.0) * 1000))
            for _, entries in res or []:
                for eid, f in entries:
                    last = eid
                    if f.get("type") == "session_completed" and f.get("session") in want:
                        done.add(f["session"])
        return done

    def events(self, sid):
        return [(eid, f["type"], json.loads(f["data"]), f.get("epoch"))
                for eid, f in self.r.xrange("wt:session:%s:events" % sid)]

    def metrics(self):
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.http_port, timeout=5) as r:
            return r.read().decode()

    def kill(self, key, sig=signal.SIGKILL):
        p = self.procs.get(key)
        if p and p.poll() is None:
            p.send_signal(sig)

    def stop(self, keep=False):
        for key, p in list(self.procs.items()):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for key, p in list(self.procs.items()):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        self.ctx.destroy(0)
        reports = self.sanitizer_reports()
        if not keep and os.environ.get("WT_KEEP_TMP") != "1" and not reports:
            shutil.rmtree(self.dir, ignore_errors=True)
        if reports:
            # Daemons' exit codes are not checked at stop (SIGTERM, or killed on
            # purpose), so under `make asan` their reports would go unseen.
            for name, text in reports:
                print("----- sanitizer report in %s -----\n%s" % (name, text), flush=True)
            raise RuntimeError("sanitizer reports in %s (kept in %s)"
                               % (", ".join(n for n, _ in reports), self.dir))

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: ")

    def sanitizer_reports(self):
        """(log name, report excerpt) for each process log holding an ASan,
        LSan or UBSan report."""
        out = []
        for name in sorted(os.listdir(self.dir)):
            if not name.endswith(".log"):
                continue
            with open(os.path.join(self.dir, name), errors="replace") as f:
                text = f.read()
            at = min((i for i in (text.find(m) for m in self.SANITIZER_MARKS) if i >= 0),
                     default=-1)
            if at >= 0:
                out.append((name, text[max(0, at - 200):at + 4000]))
        return out

    def dump_logs(self):
        for name in sorted(os.listdir(self.dir)):
            if name.endswith(".log"):
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    text = f.read()
                print("----- %s (last 3000 chars) -----\n%s" % (name, text[-3000:]))
