# ctest-timeout: 240
"""CURVE on the broker's sockets (issue 13, DESIGN §12), on loopback TCP.

keygen writes a 0600 secret and a public certificate that pyzmq's
zmq.auth.load_certificate reads, and refuses to overwrite. Bad key files and
flags stop every verb with one line naming the file or flag (exit 2). Without
--curve-key the broker refuses a non-loopback TCP endpoint unless --insecure,
which warns. A CURVE fleet (two workers, a CURVE client) runs sessions end to
end; a worker with an unknown key and a worker with a client key never
register; a client with a worker key is refused; each refusal is counted in
wt_auth_failures_total{socket}. SIGHUP after removing a worker's .pub drops
that worker and its sessions complete on the other one."""
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

import zmq
import zmq.auth

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, SCRIPTS, WORKFLOWS, Check, Client, Fleet, free_port  # noqa: E402

SCRIPT = os.path.join(SCRIPTS, "two-step.json")
SLOW = os.path.join(SCRIPTS, "two-step-3s.json")


def run(fleet, *args, env=None):
    return fleet.run_cli(*args, env=env, timeout=30)


def one_line(r):
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    return len(lines) == 1, (lines[0] if lines else "")


def auth_failures(fleet, sock):
    m = re.search(r'^wt_auth_failures_total\{socket="%s"\} (\d+)$' % sock, fleet.metrics(), re.M)
    return int(m.group(1)) if m else -1


class CurveClient(Client):
    def __init__(self, ctx, endpoint, key_file, broker_pub):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        pub, sec = zmq.auth.load_certificate(key_file)
        spub, _ = zmq.auth.load_certificate(broker_pub)
        self.sock.curve_publickey = pub
        self.sock.curve_secretkey = sec
        self.sock.curve_serverkey = spub
        self.sock.connect(endpoint)
        self.req = 0


def main():
    check = Check()
    fleet = Fleet("curve")
    try:
        body(fleet, check)
    except Exception as e:  # noqa: BLE001
        check(False, "no exception: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


def up_run(fleet, d, *args, env=None):
    e = dict(os.environ, **(env or {}))
    e.pop("ANTHROPIC_API_KEY", None)
    e.pop("OPENAI_API_KEY", None)
    return subprocess.run([BIN, "up", "--workers", "1", "--sessions", "2", "--dir", d] + list(args),
                          capture_output=True, text=True, timeout=240, env=e)


def up_curve(fleet, check, k):
    """`up --curve` makes keys for its fleet under DIR/keys and runs its demo
    with CURVE; `up --curve-key --broker-pub` (or the variables) uses the
    given client key and the broker key beside the .pub; bad key settings
    stop it at once with one line."""
    d1 = os.path.join(fleet.dir, "up1")
    r = up_run(fleet, d1, "--curve", "--demo", "--exit")
    blog = open(os.path.join(d1, "logs", "broker.log")).read() if os.path.exists(
        os.path.join(d1, "logs", "broker.log")) else ""
    check(r.returncode == 0 and "Demo succeeded" in r.stdout and "CURVE on" in r.stdout,
          "up --curve runs its demo (rc %d: %s)" % (r.returncode, (r.stdout + r.stderr)[-300:]))
    check("CURVE on (ZAP" in blog, "up --curve: its broker runs CURVE with ZAP")
    ukeys = os.path.join(d1, "keys")
    made = sorted(os.listdir(ukeys)) if os.path.isdir(ukeys) else []
    check(made == ["broker.key", "broker.pub", "client.key", "client.pub", "clients.d", "worker.key",
                   "worker.pub", "workers.d"], "up --curve made its keys: %s" % made)
    check(all(stat.S_IMODE(os.stat(os.path.join(ukeys, n)).st_mode) == 0o600
              for n in made if n.endswith(".key")), "up --curve: its .key files are 0600")
    before = open(os.path.join(ukeys, "broker.key")).read() if made else ""
    r = up_run(fleet, d1, "--curve", "--demo", "--exit")
    check(r.returncode == 0 and open(os.path.join(ukeys, "broker.key")).read() == before,
          "a second up --curve reuses the keys it made (rc %d)" % r.returncode)

    # the user's keys, from the environment: c1 is up's client, broker.key
    # (beside broker.pub) the broker's
    d2 = os.path.join(fleet.dir, "up2")
    r = up_run(fleet, d2, "--demo", "--exit", env={"WORKTRAIN_CURVE_KEY": k("c1", "key"),
                                                   "WORKTRAIN_BROKER_PUB": k("broker", "pub")})
    check(r.returncode == 0 and "Demo succeeded" in r.stdout and "CURVE on" in r.stdout,
          "up with WORKTRAIN_CURVE_KEY/_BROKER_PUB runs its demo with them (rc %d: %s)"
          % (r.returncode, (r.stdout + r.stderr)[-300:]))
    admitted = os.path.join(d2, "keys", "clients.d", "client.pub")
    c1pub = zmq.auth.load_certificate(k("c1", "pub"))[0]
    check(os.path.exists(admitted) and zmq.auth.load_certificate(admitted)[0] == c1pub,
          "up admitted exactly the given client key")
    check("CURVE on (ZAP" in open(os.path.join(d2, "logs", "broker.log")).read(),
          "up's broker runs CURVE (the demo's handshakes prove it holds broker.key)")

    # bad key settings: one line, exit 2, nothing started
    lone = os.path.join(fleet.dir, "lone")
    os.makedirs(lone)
    shutil.copy(k("broker", "pub"), lone)
    for args, want, what in (
            (["--broker-pub", k("broker", "pub")], "--curve-key", "--broker-pub alone"),
            (["--curve-key", k("c1", "key"), "--broker-pub", os.path.join(lone, "broker.pub")],
             "lone/broker.key", "a --broker-pub with no secret key beside it"),
            (["--curve-key", k("c1", "pub"), "--broker-pub", k("broker", "pub")], "c1.pub",
             "a .pub given as --curve-key")):
        d3 = os.path.join(fleet.dir, "up-bad-%d" % len(what))
        r = up_run(fleet, d3, "--exit", *args)
        ok, line = one_line(r)
        started = os.path.exists(os.path.join(d3, "logs", "redis.log"))
        check(r.returncode == 2 and ok and want in line and not started,
              "up with %s: exit 2, one line naming %s, nothing started: %s" % (what, want, line))


def body(fleet, check):
    keys = os.path.join(fleet.dir, "keys")
    aw, ac = os.path.join(fleet.dir, "allow-w"), os.path.join(fleet.dir, "allow-c")
    for d in (keys, aw, ac):
        os.makedirs(d)
    k = lambda n, ext: os.path.join(keys, n + "." + ext)  # noqa: E731

    # --- keygen ---
    for n in ("broker", "w1", "w2", "c1", "rogue", "sp"):
        r = run(fleet, "keygen", n, "--dir", keys)
        check(r.returncode == 0, "keygen %s: exit 0 (%s)" % (n, r.stderr.strip()))
    check(stat.S_IMODE(os.stat(k("w1", "key")).st_mode) == 0o600, "keygen: .key is mode 0600")
    pub, sec = zmq.auth.load_certificate(k("w1", "key"))
    pub2, sec2 = zmq.auth.load_certificate(k("w1", "pub"))
    check(pub == pub2 and len(pub) == 40 and sec and len(sec) == 40,
          "pyzmq load_certificate reads .key and .pub; public keys match")
    check(sec2 is None, "the .pub holds no secret key")
    check(zmq.curve_public(sec) == pub, "the secret key belongs to the public key")
    before = open(k("w1", "key")).read()
    r = run(fleet, "keygen", "w1", "--dir", keys)
    check(r.returncode == 2 and "exists" in r.stderr and open(k("w1", "key")).read() == before,
          "keygen refuses to overwrite (exit 2, file unchanged): " + r.stderr.strip())
    for n in ("w1", "w2"):
        shutil.copy(k(n, "pub"), aw)
    shutil.copy(k("c1", "pub"), ac)

    fleet.start_redis()
    cport, wport = free_port(), free_port()
    fleet.clients_ep = "tcp://127.0.0.1:%d" % cport
    fleet.workers_ep = "tcp://127.0.0.1:%d" % wport
    base = [BIN, "broker", "--clients", fleet.clients_ep, "--workers", fleet.workers_ep,
            "--redis", fleet.redis_url, "--http", "127.0.0.1:%d" % fleet.http_port]
    curve = ["--curve-key", k("broker", "key"), "--allow-workers", aw, "--allow-clients", ac]

    # --- bad input: one line naming the file or flag, exit 2 ---
    def broker_fails(extra, want, what):
        r = run(fleet, *(base[1:] + extra))
        ok, line = one_line(r)
        check(r.returncode == 2 and ok and want in line, "%s: exit 2, one line naming %s: %s"
              % (what, want, line))

    broker_fails(["--curve-key", k("broker", "pub"), "--allow-workers", aw, "--allow-clients", ac],
                 "broker.pub", "broker --curve-key given a .pub")
    broker_fails(["--curve-key", k("broker", "key")], "--allow-workers",
                 "broker --curve-key without the allow directories")
    broker_fails(["--curve-key", k("broker", "key"), "--allow-workers", aw + "-none",
                  "--allow-clients", ac], "allow-w-none", "broker with an unreadable --allow-workers")
    bad_dir = os.path.join(fleet.dir, "allow-bad")
    os.makedirs(bad_dir)
    with open(os.path.join(bad_dir, "cut.pub"), "w") as f:
        f.write(open(k("w2", "pub")).read()[:-12])
    broker_fails(["--curve-key", k("broker", "key"), "--allow-workers", bad_dir,
                  "--allow-clients", ac], "cut.pub' line", "broker with a truncated .pub")
    broker_fails(["--clients", "tcp://0.0.0.0:%d" % free_port()], "--insecure",
                 "broker on 0.0.0.0 without CURVE")
    broker_fails(["--workers", "tcp://127.0.0.1:99999"], "--workers",
                 "broker with a bad --workers port")
    broker_fails(["--clients", "udp://x:1"], "--clients", "broker with a bad --clients transport")
    r = run(fleet, "worker", "--broker", fleet.workers_ep, "--curve-key", k("w1", "pub"),
            "--broker-pub", k("broker", "pub"), "--workflows", WORKFLOWS, "--provider", "scripted",
            "--script", SCRIPT)
    ok, line = one_line(r)
    check(r.returncode == 2 and ok and "w1.pub" in line and "secret" in line,
          "worker --curve-key given a .pub: exit 2, one line: " + line)
    r = run(fleet, "spawn", "--workflow", "two-step", "--goal", "x", "--curve-key", k("c1", "key"),
            "--broker-pub", k("broker", "key"))
    ok, line = one_line(r)
    check(r.returncode == 2 and ok and "--broker-pub" in line and "broker.key" in line,
          "spawn --broker-pub given a .key: exit 2, one line: " + line)
    r = run(fleet, "cancel", "x", "--curve-key", k("c1", "key"))
    ok, line = one_line(r)
    check(r.returncode == 2 and ok and "--broker-pub" in line,
          "cancel --curve-key without --broker-pub: exit 2: " + line)

    # A broker endpoint no connection could ever use: the verb stops at once
    # (before, a worker logged "cannot connect" and ran on forever).
    def stops(argv, want, what, env=None):
        e = dict(os.environ, **(env or {}))
        try:
            r = subprocess.run([BIN] + argv, capture_output=True, text=True, timeout=15, env=e)
        except subprocess.TimeoutExpired:
            check(False, "%s: exit 2 (it kept running)" % what)
            return
        ok, line = one_line(r)
        check(r.returncode == 2 and ok and want in line, "%s: exit 2, one line naming %s: %s"
              % (what, want, line))

    wargs = ["--redis", fleet.redis_url, "--workflows", WORKFLOWS, "--provider", "scripted",
             "--script", SCRIPT]
    for ep in ("tcp://nohost", "tcp://127.0.0.1:99999", "udp://1.2.3.4:5"):
        stops(["worker", "--broker", ep] + wargs, "--broker '%s'" % ep, "worker --broker " + ep)
    stops(["worker", "--broker", fleet.workers_ep, "--clients", "tcp://*:5555"] + wargs,
          "--clients", "worker --clients tcp://*:5555 (nothing to connect to)")
    stops(["worker"] + wargs, "WORKTRAIN_BROKER_WORKERS", "worker with a bad WORKTRAIN_BROKER_WORKERS",
          env={"WORKTRAIN_BROKER_WORKERS": "tcp://a:1,tcp://b"})
    for verb in (["spawn", "--workflow", "two-step", "--goal", "x"], ["cancel", "x"],
                 ["run", "--resume", "x"], ["talk"], ["bench", "list"], ["doctor", "--offline"]):
        stops(verb + ["--broker", "tcp://127.0.0.1:99999"], "--broker 'tcp://127.0.0.1:99999'",
              "%s --broker tcp://127.0.0.1:99999" % verb[0])
    stops(["spawn", "--workflow", "two-step", "--goal", "x"], "WORKTRAIN_BROKER 'udp://1.2.3.4:5'",
          "spawn with WORKTRAIN_BROKER=udp://1.2.3.4:5", env={"WORKTRAIN_BROKER": "udp://1.2.3.4:5"})

    # --- worktrain up with CURVE (DESIGN 12: up is a broker peer) ---
    up_curve(fleet, check, k)

    # --- --insecure starts, warning ---
    ins = fleet._spawn("insecure", [BIN, "broker", "--clients", "tcp://0.0.0.0:%d" % free_port(),
                                    "--workers", "tcp://127.0.0.1:%d" % free_port(), "--redis",
                                    fleet.redis_url, "--http", "off", "--insecure"],
                 env={"WORKTRAIN_TEST_INSECURE_WARN_MS": "300"})
    logf = os.path.join(fleet.dir, "insecure.log")
    fleet.wait_for(lambda: "--insecure" in open(logf).read(), 10, "the --insecure warning")
    check(ins.poll() is None, "broker --insecure on 0.0.0.0 runs and warns")
    # the hourly repeat, its hour shortened to 300 ms for the test
    warned = lambda: open(logf).read().count("--insecure: plain TCP")  # noqa: E731
    deadline = time.monotonic() + 15
    while warned() < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    check(warned() >= 3, "the --insecure warning repeats on its interval (%d times)" % warned())
    ins.send_signal(signal.SIGTERM)
    ins.wait(timeout=10)

    # --- a CURVE fleet ---
    fleet._spawn("broker", base + curve + ["--heartbeat", "200ms"])
    cenv = {"WORKTRAIN_CURVE_KEY": k("c1", "key"), "WORKTRAIN_BROKER_PUB": k("broker", "pub")}

    def worker(name, key, script=SCRIPT, extra=()):
        return fleet._spawn("worker-" + name, [
            BIN, "worker", "--broker", fleet.workers_ep, "--clients", fleet.clients_ep,
            "--redis", fleet.redis_url, "--slots", "4", "--name", name, "--workflows", WORKFLOWS,
            "--workspace-root", os.path.join(fleet.dir, "ws"), "--provider", "scripted",
            "--script", script, "--min-notes", "0", "--heartbeat", "200ms",
            "--curve-key", k(key, "key"), "--broker-pub", k("broker", "pub")] + list(extra))

    worker("w1", "w1")
    worker("w2", "w2", SLOW)

    def stats():
        c = CurveClient(fleet.ctx, fleet.clients_ep, k("c1", "key"), k("broker", "pub"))
        try:
            c.send("STATS", {})
            return c.recv(5)[1]
        finally:
            c.close()

    fleet.wait_for(lambda: stats().get("workers") == 2, 20, "two CURVE workers")
    check(True, "two CURVE workers registered")
    r = run(fleet, "spawn", "--workflow", "two-step", "--goal", "curve e2e", env=cenv)
    check(r.returncode == 0, "spawn with a client key over CURVE: %s" % (r.stderr.strip()))
    sid = r.stdout.strip()
    c = CurveClient(fleet.ctx, fleet.clients_ep, k("c1", "key"), k("broker", "pub"))
    sids = c.spawn_many(40, "two-step", "curve %d") + [sid]
    c.close()
    fleet.wait_completed(sids, 60)
    check(all(fleet.r.hget("wt:session:%s" % s, "outcome") == "success" for s in sids),
          "41 sessions completed with outcome success over CURVE")

    # --- spawn_agent under CURVE: the worker's --client-key on the client socket ---
    shutil.copy(k("sp", "pub"), aw)
    fleet.kill("broker", signal.SIGHUP)  # a key added without a restart
    fleet.wait_for(lambda: "--allow-workers '%s': 3 keys" % aw in
                   open(os.path.join(fleet.dir, "broker.log")).read(), 10, "reload")
    worker("sp", "sp", os.path.join(SCRIPTS, "spawn.json"),
           ["--label", "spawner", "--client-key", k("c1", "key")])
    fleet.wait_for(lambda: stats().get("workers") == 3, 20, "the spawner worker")
    r = run(fleet, "spawn", "--workflow", "two-step", "--goal", "parent", "--require", "spawner",
            env=cenv)
    parent = r.stdout.strip()
    fleet.wait_completed([parent], 60)
    kids = fleet.r.zrange("wt:session:%s:children" % parent, 0, -1)
    good = [x for x in kids if fleet.r.hget("wt:session:%s" % x, "workflow") == "two-step"]
    check(fleet.r.hget("wt:session:%s" % parent, "outcome") == "success" and len(good) == 1,
          "spawn_agent on a CURVE fleet creates its child with the worker's --client-key")
    fleet.kill("worker-sp", signal.SIGTERM)
    fleet.procs["worker-sp"].wait(timeout=30)
    os.remove(os.path.join(aw, "sp.pub"))
    fleet.wait_for(lambda: stats().get("workers") == 2, 20, "the spawner gone")

    # --- refusals ---
    w0 = auth_failures(fleet, "worker")
    check(w0 == 0, "no worker auth failure so far (%d)" % w0)
    worker("rogue", "rogue")
    fleet.wait_for(lambda: auth_failures(fleet, "worker") >= 1, 10, "the rogue worker counted")
    worker("cw", "c1")
    # the rogue retries about every 100 ms, so a count of 2 can be the rogue
    # alone: wait for the client-key worker's own refusal in the broker's log
    fleet.wait_for(lambda: "other socket's kind" in open(os.path.join(
        fleet.dir, "broker.log")).read(), 20, "client-key worker refused")
    check(auth_failures(fleet, "worker") >= 2, "both worker refusals counted")
    check(stats().get("workers") == 2, "unknown-key and client-key workers never register")
    rlog = os.path.join(fleet.dir, "worker-rogue.log")
    fleet.wait_for(lambda: "refused this worker's CURVE key" in open(rlog).read(), 10,
                   "the rogue worker's own log line")
    check(open(rlog).read().count("refused this worker's CURVE key") == 1,
          "the refused worker says why in its log, once")
    blog = open(os.path.join(fleet.dir, "broker.log")).read()
    check("unknown key" in blog and "other socket's kind" in blog,
          "both worker refusals logged with the reason")
    c0 = auth_failures(fleet, "client")
    r = run(fleet, "spawn", "--workflow", "two-step", "--goal", "as worker",
            env={"WORKTRAIN_CURVE_KEY": k("w1", "key"), "WORKTRAIN_BROKER_PUB": k("broker", "pub")})
    check(r.returncode == 2 and "refused" in r.stderr,
          "spawn with a worker key is refused: " + r.stderr.strip())
    fleet.wait_for(lambda: auth_failures(fleet, "client") > c0, 10, "client refusal counted")
    check(True, "the refused client is counted in wt_auth_failures_total{socket=\"client\"}")
    n_logged = open(os.path.join(fleet.dir, "broker.log")).read().count("refused")
    check(n_logged <= 6, "refusals logged once per peer, not per attempt (%d lines)" % n_logged)
    plain = run(fleet, "spawn", "--workflow", "two-step", "--goal", "plain", "--wait-timeout",
                "2s")
    check(plain.returncode == 2, "spawn without keys gets nothing from a CURVE broker")

    # --- SIGHUP revocation: w2 (slow) holds sessions, loses its key ---
    c = CurveClient(fleet.ctx, fleet.clients_ep, k("c1", "key"), k("broker", "pub"))
    slow = c.spawn_many(24, "two-step", "revoke %d")
    c.close()
    fleet.wait_for(lambda: any(fleet.r.hget("wt:session:%s" % s, "worker") == "w2"
                               and not fleet.r.hget("wt:session:%s" % s, "outcome")
                               for s in slow), 20, "w2 running a session")
    held = [s for s in slow if fleet.r.hget("wt:session:%s" % s, "worker") == "w2"
            and not fleet.r.hget("wt:session:%s" % s, "outcome")]
    os.remove(os.path.join(aw, "w2.pub"))
    fleet.kill("broker", signal.SIGHUP)
    fleet.wait_for(lambda: "its key was revoked" in
                   open(os.path.join(fleet.dir, "broker.log")).read(), 10, "w2 dropped")
    fleet.wait_for(lambda: stats().get("workers") == 1, 10, "one worker left")
    check(True, "SIGHUP: the revoked worker is dropped (%d sessions it held)" % len(held))
    fleet.wait_completed(slow, 90)
    finished_on = {s: fleet.r.hget("wt:session:%s" % s, "worker") for s in held}
    check(all(w == "w1" for w in finished_on.values()),
          "every session w2 held completed on w1: %s" % finished_on)
    check(all(fleet.r.hget("wt:session:%s" % s, "outcome") == "success" for s in slow),
          "all 24 sessions of the revocation run succeeded")
    check(fleet.procs["broker"].poll() is None, "the broker is still running after SIGHUP")


if __name__ == "__main__":
    main()
