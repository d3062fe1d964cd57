#!/usr/bin/python3
"""make bench - measures WorkTrain on this machine and prints the figures to
stdout and to bench/results/<name>.json. Nothing here asserts a timing.

  dispatch.json     end-to-end throughput (20,000 one-step sessions, 2 workers x
                    8 slots, scripted provider with no delay), spawn->started
                    latency at a fixed 500 spawns/s for 10 s (bench_load's
                    microseconds and the session hashes' milliseconds),
                    broker-alone dispatches/s with synthetic workers, and
                    peak RSS; `curve`:
                    a real fleet (2 workers x 8 slots) on loopback TCP with
                    CURVE off and on in the same run (off, on, on, off, off, on):
                    sessions/s and spawn->session_started p50/p99, and the
                    on/off ratios.
  agent.json        one worker holding 500 sessions open against a fake LLM
                    answering after 1 s: RSS per open session and CPU.
  reliability.json  kill -9 of a worker -> session_resumed elsewhere (20 kills),
                    and throughput while a worker is killed every 5 s.
  console.json      `worktrain console` over 10,000 finished sessions: latency of
                    a page of /api/sessions, a filter matching nothing (bounded
                    scan), /api/stats, a session detail, /metrics on the broker.
  triggers.json     signed webhooks POSTed one after another to the broker:
                    POST -> 202 latency and webhooks/s (each one a durable SPAWN).
                    `stream`: 20,000 entries XADDed to a redis_stream trigger:
                    entries/s to the last XACK (each after its SPAWNED), XADD ->
                    session created p50/p99, and the ratio to the broker's plain
                    spawn rate (pipelined and one at a time) in the same run.
  ha.json           `replicas`: spawn->SPAWNED p50/p99 with --redis-min-replicas 0
                    and 1; `failover`: Redis master kill -9 -> first session
                    completed on the promoted replica (sentinels, two replicas);
                    `standby`: active broker kill -9 -> the standby active, its
                    first worker, its first dispatch (p50/p99 over 10 kills).
  suites.json       `worktrain bench`: a 1,000-case x 2-variant suite (equals
                    and set_recall scorers, scripted provider, 2 workers x 8
                    slots): wall time, cases/s as a ratio to plain session
                    throughput measured in the same run, runner CPU and peak
                    RSS, and the wall-time ratio of --record to none.
  limits.json       `limits`: redis-benchmark XADD pipelined and unpipelined on
                    the fleet's redis-server, raw ZeroMQ ROUTER/DEALER
                    throughput (bench_zmq), and beside them WorkTrain's
                    end-to-end sessions/s (2x8 and 2x1 slots), CPU per
                    session of redis/broker/workers, Redis commands per
                    session, spawn->started p99 at 500/s, broker dispatches
                    per CPU-second and RSS per waiting session. The
                    sessions are driven by bench_load (bench/bench_load.c),
                    whose own CPU per session is reported apart; spawn->
                    started both as bench_load sees it (microseconds, an
                    upper bound) and from the session hashes (ms).
                    `event_writes`: the event-write path alone (bench_events:
                    16 and 2 threads, K = 1, 8, 64 events per batch, verified
                    afterwards): events/s and Redis/client CPU per 1,000
                    events, as ratios to XADD -P 64, -P 16, -P 1 (and -P 64
                    with an event-sized entry) on the same redis-server.
  delivery.json     DESIGN.md 15: worktree creation from a warm mirror of a
                    10,000-file repository (session_started -> first LLM turn,
                    p50/p99, as a ratio to a plain-directory session measured
                    alike), and 100 concurrent sessions with --auto-commit
                    --deliver branch to a local bare remote: sessions/s until
                    every branch is pushed, as a ratio to the same 100 sessions
                    without a repository.
  pipeline.json     `worktrain run`: hand-off latency along a 20-phase chain
                    (a phase's session ended -> the next phase's session
                    accepted), and a 500-item foreach: wall time, sessions/s,
                    coordinator CPU and peak RSS.
  deploy.json       /metrics scrape time of the broker and a worker (--http) with
                    1,000 live sessions, as a ratio to the same scrapes of an idle
                    fleet; the image's size (make image) against the binary's; cold
                    start (exec to /healthz, worker to /readyz) of a broker and a
                    worker run from the image's file tree (chroot, uid 10001:
                    containers cannot run here) against the build tree's binary.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import wtfleet  # noqa: E402
from wtfleet import BENCH_WF, ONE_STEP, Fleet  # noqa: E402

RESULTS = os.path.join(HERE, "results")


def rss_kb(pid, field="VmHWM"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def fleet_for_bench(name, slots=8, workers=2, script=ONE_STEP, extra=()):
    fleet = Fleet(name)
    fleet.start_redis()
    fleet.start_broker()
    for i in range(workers):
        fleet.start_worker("bw%d" % (i + 1), slots, script, "--workflows", BENCH_WF, *extra)
    fleet.wait_workers(workers)
    return fleet


def bench_replicas(n=1000):
    """spawn->SPAWNED latency (serial spawns) with --redis-min-replicas 0 and 1,
    against a master with one replica (--replicaof) on loopback."""
    res = {"spawns": n}
    for mr in (0, 1):
        fleet = Fleet("bench-repl")
        try:
            fleet.start_redis()
            rport = wtfleet.free_port()
            fleet._spawn("replica", ["/usr/bin/redis-server", "--port", str(rport), "--bind",
                                     "127.0.0.1", "--save", "", "--appendonly", "no",
                                     "--dir", fleet.dir, "--replicaof", "127.0.0.1", str(fleet.redis_port)])
            fleet.wait_for(lambda: (fleet.r.info("replication").get("slave0") or {})
                           .get("state") == "online", 20, "replica online")
            fleet.start_broker("--redis-min-replicas", str(mr))
            c = fleet.client()
            lat_ms = []
            for i in range(n):
                t = time.monotonic()
                c.spawn("bench-one-step", "r%d" % i)
                lat_ms.append((time.monotonic() - t) * 1000)
            c.close()
            res["min_replicas_%d" % mr] = {"p50_ms": round(pct(lat_ms, 50), 3),
                                           "p99_ms": round(pct(lat_ms, 99), 3)}
        finally:
            fleet.stop()
    return res


def bench_failover(kills=3, down_after_ms=2000):
    """kill -9 of the Redis master under load (a broker and two workers on a
    redis-sentinel:// URL, --redis-min-replicas 1, two replicas): time to the
    sentinels naming a new master, and to the first session_completed entry
    on it (its stream id is the new master's clock in ms, so no polling
    error). The old master comes back as a replica between kills."""
    from wtha import HAFleet, HAClient, poll
    script = os.path.join(REPO, "tests", "scripts", "two-step-300ms.json")
    res = {"kills": kills, "down_after_ms": down_after_ms, "promoted_s": [], "first_done_s": []}
    fleet = HAFleet("bench-failover")
    try:
        fleet.start_ha(replicas=2, down_after_ms=down_after_ms)
        mr = ("--redis-min-replicas", "1")
        (b,) = fleet.brokers(1, *mr)
        for i in range(2):
            fleet.start_worker("f%d" % i, 8, script, "--broker", b.workers, *mr)
        poll(lambda: (b.health() or {}).get("workers") == 2, 30, "2 workers")
        c = HAClient(fleet.ctx, [b.clients])
        for k in range(kills):
            fleet.wait_healthy(2, 90)
            for i in range(200):  # about 8 s of work for 16 slots
                c.spawn("two-step", "f%d-%d" % (k, i), "fo-%d-%d-%d" % (os.getpid(), k, i),
                        time.monotonic() + 60)
            poll(lambda: fleet.r.hlen("wt:running") >= 8, 30, "sessions running")
            kill_ms = int(time.time() * 1000)
            t0 = time.monotonic()
            old = fleet.kill_master()
            poll(lambda: fleet.master_port() not in (None, old), 60, "promotion", every=0.02)
            res["promoted_s"].append(round(time.monotonic() - t0, 3))
            fleet.restart_as_replica(old)
            import redis as _redis
            new = _redis.Redis(port=fleet.master_port(), decode_responses=True, socket_timeout=5)

            def first_done():
                for eid, f in new.xrange("wt:events", min="%d-0" % kill_ms, max="+", count=5000):
                    if f.get("type") == "session_completed":
                        return int(eid.split("-")[0])
                return None
            poll(lambda: first_done() is not None, 60, "a session completed after the failover",
                 every=0.1)
            res["first_done_s"].append(round((first_done() - kill_ms) / 1000.0, 3))
        c.close()
    finally:
        fleet.stop()
    for k in ("promoted_s", "first_done_s"):
        res[k.replace("_s", "_p50_s")] = round(pct(res[k], 50), 3)
    # what the fleet adds to the sentinels' own failover, measured in the same run
    res["first_done_over_promoted_p50"] = round(res["first_done_p50_s"] / res["promoted_p50_s"], 2)
    return res


def bench_standby(kills=10):
    """kill -9 of the active broker (two brokers, one Redis): bench/standby_failover.py."""
    sys.path.insert(0, HERE)
    import standby_failover
    res = standby_failover.measure(kills)
    # a takeover is the lease TTL plus the standby's poll; the first dispatch
    # adds the workers' move to the new broker: both against the same run's time to active
    res["dispatch_over_active_p50"] = round(res["dispatch_p50_s"] / res["active_p50_s"], 2)
    return res


def bench_throughput(n):
    fleet = fleet_for_bench("bench-tput")
    try:
        c = fleet.client()
        t0 = time.monotonic()
        sids = c.spawn_many(n, "bench-one-step", goal_fmt="b%d", window=2000, timeout_s=600)
        t_spawned = time.monotonic()
        fleet.wait_completed(sids, timeout_s=900)
        t1 = time.monotonic()
        c.close()
        ok = sum(1 for s in sids[:: max(1, n // 500)]
                 if fleet.r.hget("wt:session:%s" % s, "outcome") == "success")
        res = {
            "sessions": n,
            "workers": 2,
            "slots_per_worker": 8,
            "seconds": round(t1 - t0, 3),
            "sessions_per_s": round(n / (t1 - t0), 1),
            "spawn_accept_per_s": round(n / (t_spawned - t0), 1),
            "sampled_success": ok,
            "broker_peak_rss_kb": rss_kb(fleet.procs["broker"].pid),
            "worker_peak_rss_kb": [rss_kb(fleet.procs["worker-bw%d" % i].pid) for i in (1, 2)],
            "redis_peak_rss_kb": rss_kb(fleet.procs["redis"].pid),
        }
        return res
    finally:
        fleet.stop()


def spawn_at_rate(c, rate, n):
    """n one-step SPAWNs at a fixed rate (replies read as they come); the ids."""
    sids = []
    t0 = time.monotonic()
    for i in range(n):
        due = t0 + i / float(rate)
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        c.send("SPAWN", {"workflow": "bench-one-step", "goal": "l%d" % i})
        while c.sock.poll(0):
            sids.append(c.recv(1)[1]["session"])
    while len(sids) < n:
        sids.append(c.recv(10)[1]["session"])
    return sids


def spawn_started_ms(fleet, sids):
    """spawn->session_started per session: the hash's created_ms to started_ms."""
    pipe = fleet.r.pipeline()
    for s in sids:
        pipe.hmget("wt:session:%s" % s, "created_ms", "started_ms")
    return [int(b) - int(a) for a, b in pipe.execute()]


def bench_load_exe():
    """build/bench/bench_load (bench/bench_load.c), or None when not built."""
    exe = os.path.join(os.path.dirname(wtfleet.BIN), "bench", "bench_load")
    return exe if os.path.exists(exe) else None


def run_bench_load(fleet, n, *mode, timeout_s=900):
    """bench_load against fleet (real broker, real Redis): its JSON report,
    per_session rows included. Raises with its stderr when it fails."""
    out = os.path.join(fleet.dir, "load-%d.json" % time.monotonic_ns())
    r = subprocess.run([bench_load_exe(), "--clients", fleet.clients_ep, "--redis", fleet.redis_url,
                        "--sessions", str(n), "--timeout", str(timeout_s), "--per-session",
                        "--out", out] + list(mode),
                       capture_output=True, text=True, timeout=timeout_s + 60)
    if r.returncode != 0 or not os.path.exists(out):
        raise RuntimeError("bench_load exit %d: %s" % (r.returncode, r.stderr.strip()[-500:]))
    with open(out) as f:
        return json.load(f)


def bench_latency(rate, seconds, client="load"):
    """spawn->session_started at a fixed spawn rate. client "load": bench_load
    (bench/bench_load.c) sends the SPAWNs on a CLOCK_MONOTONIC schedule and
    reports microseconds seen by the client (an upper bound: it includes the
    event's XREAD delivery), and the session hashes give the same figure in
    milliseconds (created_ms -> started_ms); client "python": the older
    Python client (spawn_at_rate), hash figure only."""
    if client == "load" and bench_load_exe() is None:
        return {"skipped": "bench_load not built"}
    fleet = fleet_for_bench("bench-lat")
    try:
        n = rate * seconds
        res = {"rate_per_s": rate, "seconds": seconds, "sessions": n,
               "client": "bench_load" if client == "load" else "python"}
        if client == "load":
            load = run_bench_load(fleet, n, "--rate", str(rate), timeout_s=120 + seconds)
            sids = [row[0] for row in load["per_session"]["rows"]]
            for k in ("spawn_to_spawned_us", "spawn_to_started_us", "spawn_to_completed_us"):
                res[k] = load[k]
            res["started_before_spawned"] = load["started_before_spawned"]
            res["schedule_max_lag_us"] = load.get("schedule_max_lag_us")
            res["client_cpu_ms_per_session"] = load["client_cpu_ms_per_session"]
        else:
            c = fleet.client()
            sids = spawn_at_rate(c, rate, n)
            fleet.wait_completed(sids, timeout_s=120)
            c.close()
        lat = spawn_started_ms(fleet, sids)
        res["spawn_to_started_ms"] = {"p50": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat),
                                      "mean": round(statistics.mean(lat), 2)}
        res["note"] = ("spawn_to_started_ms: the session hash's created_ms -> started_ms, wall-clock "
                       "milliseconds (1 ms resolution)")
        if client == "load":
            res["note"] += ("; *_us: bench_load's CLOCK_MONOTONIC microseconds from the SPAWN sent "
                            "to the SPAWNED received / the event seen on wt:events (XREAD BLOCK): "
                            "an upper bound of the true latency, it includes the event's delivery")
        return res
    finally:
        fleet.stop()


def bench_broker_alone(n, workers=4, slots=8):
    """bench_dispatch against a real broker and Redis: `workers` synthetic
    workers x `slots` slots. The figure depends on how many sessions a loop
    turn carries (bench/README.md), so limits runs two shapes."""
    exe = os.path.join(os.path.dirname(wtfleet.BIN), "bench", "bench_dispatch")
    if not os.path.exists(exe):
        return {"skipped": "bench_dispatch not built"}
    fleet = Fleet("bench-broker")
    fleet.start_redis()
    fleet.start_broker()
    out = os.path.join(fleet.dir, "broker.json")
    try:
        t0 = time.process_time()
        r = subprocess.run([exe, "--clients", fleet.clients_ep, "--workers", fleet.workers_ep,
                            "--sessions", str(n), "--workers-count", str(workers),
                            "--slots", str(slots), "--out", out],
                           capture_output=True, text=True, timeout=600)
        res = json.load(open(out)) if os.path.exists(out) else {"error": r.stderr[-500:]}
        res["broker_peak_rss_kb"] = rss_kb(fleet.procs["broker"].pid)
        with open("/proc/%d/stat" % fleet.procs["broker"].pid) as f:
            parts = f.read().split(")")[1].split()
        res["broker_cpu_s"] = round((int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK"), 2)
        return res
    finally:
        fleet.stop()


class CurveClient(wtfleet.Client):
    """A WTC1 client DEALER with CURVE keys (pyzmq reads keygen's files)."""

    def __init__(self, ctx, endpoint, key_file, broker_pub):
        import zmq.auth
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        pub, sec = zmq.auth.load_certificate(key_file)
        spub, _ = zmq.auth.load_certificate(broker_pub)
        self.sock.curve_publickey, self.sock.curve_secretkey = pub, sec
        self.sock.curve_serverkey = spub
        self.sock.connect(endpoint)
        self.req = 0


def curve_fleet(mode, slots=8, workers=2):
    """A fleet on loopback TCP: broker, `workers` real workers (scripted
    provider, no delay) and a client, all with CURVE keys when mode is on."""
    fleet = Fleet("bench-curve-" + mode)
    fleet.start_redis()
    fleet.clients_ep = "tcp://127.0.0.1:%d" % wtfleet.free_port()
    fleet.workers_ep = "tcp://127.0.0.1:%d" % wtfleet.free_port()
    bextra, wextra = [], []
    if mode == "on":
        keys = os.path.join(fleet.dir, "keys")
        aw, ac = os.path.join(fleet.dir, "aw"), os.path.join(fleet.dir, "ac")
        for d in (keys, aw, ac):
            os.makedirs(d)
        for name in ("broker", "client", "worker"):
            subprocess.run([wtfleet.BIN, "keygen", name, "--dir", keys], check=True,
                           capture_output=True)
        os.link(os.path.join(keys, "worker.pub"), os.path.join(aw, "worker.pub"))
        os.link(os.path.join(keys, "client.pub"), os.path.join(ac, "client.pub"))
        bextra = ["--curve-key", os.path.join(keys, "broker.key"), "--allow-workers", aw,
                  "--allow-clients", ac]
        wextra = ["--curve-key", os.path.join(keys, "worker.key"), "--broker-pub",
                  os.path.join(keys, "broker.pub")]
        fleet.client = lambda: CurveClient(fleet.ctx, fleet.clients_ep,
                                           os.path.join(keys, "client.key"),
                                           os.path.join(keys, "broker.pub"))
    fleet._spawn("broker", [wtfleet.BIN, "broker", "--clients", fleet.clients_ep,
                            "--workers", fleet.workers_ep, "--redis", fleet.redis_url,
                            "--http", "127.0.0.1:%d" % fleet.http_port] + bextra)
    fleet.wait_for(lambda: "broker up" in open(os.path.join(fleet.dir, "broker.log")).read(),
                   10, "broker up")
    for i in range(workers):
        fleet.start_worker("bw%d" % (i + 1), slots, ONE_STEP, "--workflows", BENCH_WF, *wextra)
    fleet.wait_workers(workers, timeout_s=30)
    return fleet


def bench_curve(n=5000, rate=200, seconds=5):
    """A real fleet (broker, 2 workers x 8 slots, scripted provider with no
    delay) on loopback TCP with CURVE off and on, in the same run, three
    times each in the order off, on, on, off, off, on so that a drift of the
    machine's load falls on both (the figures are the means per mode): dispatch throughput (n sessions spawned pipelined, spawn of the
    first to session_completed of the last: sessions/s) and spawn->
    session_started p50/p99 (hash created_ms to started_ms) at a fixed rate
    that leaves slots free. The on/off ratios are the figures: the machine
    cancels out."""
    runs = {"off": [], "on": []}
    for mode in ("off", "on", "on", "off", "off", "on"):
        fleet = curve_fleet(mode)
        try:
            c = fleet.client()
            t0 = time.monotonic()
            sids = c.spawn_many(n, "bench-one-step", goal_fmt="c%d", window=500, timeout_s=600)
            fleet.wait_completed(sids, timeout_s=900)
            el = time.monotonic() - t0
            lat_sids = spawn_at_rate(c, rate, rate * seconds)
            fleet.wait_completed(lat_sids, timeout_s=300)
            c.close()
            lat = spawn_started_ms(fleet, lat_sids)
            ok = sum(1 for s in sids[:: max(1, n // 200)]
                     if fleet.r.hget("wt:session:%s" % s, "outcome") == "success")
            runs[mode].append({"sessions_per_s": round(n / el, 1),
                               "spawn_to_started_ms": {"p50": pct(lat, 50), "p99": pct(lat, 99),
                                                       "max": max(lat)},
                               "sampled_success": ok})
        finally:
            fleet.stop()
    res = {"sessions": n, "workers": 2, "slots_per_worker": 8, "latency_rate_per_s": rate,
           "latency_sessions": rate * seconds, "runs": runs,
           "loadavg_1m": round(os.getloadavg()[0], 1)}
    for mode in ("off", "on"):
        rs = runs[mode]
        res[mode] = {"sessions_per_s": round(statistics.mean(r["sessions_per_s"] for r in rs), 1),
                     "spawn_to_started_p50_ms": round(statistics.mean(
                         r["spawn_to_started_ms"]["p50"] for r in rs), 1),
                     "spawn_to_started_p99_ms": round(statistics.mean(
                         r["spawn_to_started_ms"]["p99"] for r in rs), 1)}
    try:
        res["ratio_sessions_per_s"] = round(res["on"]["sessions_per_s"] /
                                            res["off"]["sessions_per_s"], 3)
        res["ratio_spawn_to_started_p99"] = round(res["on"]["spawn_to_started_p99_ms"] /
                                                  res["off"]["spawn_to_started_p99_ms"], 3)
    except ZeroDivisionError:
        pass
    return res


def bench_partition():
    """Multi-host lab (tests/multihost, network namespaces, root only): scenario 1
    (500 sessions over two worker hosts) for the unfaulted rate, then scenario 2
    (one worker host cut from the broker for 10 s): the resume delay, the time
    from the heal to that worker running again, and the speed of a 64-session
    batch spawned at the heal as a ratio to two undisturbed waves (session
    durations measured in the same run)."""
    test = os.path.join(REPO, "tests", "multihost", "test_multihost.py")
    env = dict(os.environ, WORKTRAIN_BIN=wtfleet.BIN)
    r = subprocess.run([sys.executable, test, "1", "2"], capture_output=True, text=True,
                       timeout=900, env=env)
    if r.returncode == 77:
        return {"skipped": r.stdout.strip().splitlines()[0] if r.stdout.strip() else "skipped"}
    figures = {}
    for line in r.stdout.splitlines():
        if line.startswith("figure: "):
            k, _, v = line[8:].partition(" = ")
            try:
                figures[k] = float(v)
            except ValueError:
                figures[k] = None
    res = {"figures": figures, "test_exit": r.returncode}
    ideal = figures.get("2 full-speed batch of 64 (s)")
    batch = figures.get("2 after-heal batch of 64 (s)")
    if ideal and batch:
        # 1.0: the healed fleet ran the batch as fast as two undisturbed waves
        res["after_heal_speed_ratio"] = round(ideal / batch, 3)
    return res


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().split(")")[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


class Procs:
    """Processes killed together (a fake LLM and the proxy in front of it)."""

    def __init__(self, *procs):
        self.procs = list(procs)

    def kill(self):
        for p in self.procs:
            p.kill()


def slow_llm_worker(name, n, delay_ms, tls=False):
    """A fake LLM answering complete_step after delay_ms, and a fleet with one
    worker of n slots using it. tls True: the fake serves HTTPS (HTTP/1.1)
    with a certificate of its own; "h2": nghttpx serves HTTPS with HTTP/2 in
    front of it (as hosted providers do; 100 streams per connection). The
    worker trusts the certificate through SSL_CERT_FILE (the system bundle
    plus it: a store the size users have). Returns (fake, fleet, worker
    process); the caller kills the fake (and its proxy) and stops the
    fleet."""
    sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
    from test_providers import start_fake
    import tempfile
    d = tempfile.mkdtemp(prefix="wt-bench-%s-" % name)
    env, extra = None, ()
    if tls:
        cert, key, trusted = wtfleet.tls_cert(d)
        env = {"SSL_CERT_FILE": trusted}
        if tls is True:
            extra = ("--tls-cert", cert, "--tls-key", key)
    fake, base = start_fake(d, "--delay-ms", str(delay_ms), "--default",
                            '{"reply": {"tool_calls": [{"name": "complete_step", "input": '
                            '{"notes": "n", "context": {"answer": "a"}}}]}}', *extra)
    fake = Procs(fake)
    if tls == "h2":
        try:
            proxy, base, _ = wtfleet.start_h2_proxy(d, base, cert, key)
        except BaseException:
            fake.kill()
            raise
        fake.procs.append(proxy)
    fleet = Fleet("bench-" + name)
    try:
        fleet.start_redis()
        fleet.r.config_set("maxclients", 4000)
        fleet.start_broker()
        w = fleet.start_worker("big", n, None, "--provider", "openai", "--base-url", base,
                               "--workflows", BENCH_WF, env=env)
        fleet.wait_workers(1)
    except BaseException:
        fake.kill()
        fleet.stop()
        raise
    return fake, fleet, w


def bench_concurrency(n=500, delay_ms=1000):
    """One worker, n slots, a fake LLM answering after delay_ms: RSS per open session, CPU."""
    fake, fleet, w = slow_llm_worker("conc", n, delay_ms)
    try:
        idle = rss_kb(w.pid, "VmRSS")
        cpu0 = cpu_s(w.pid)
        c = fleet.client()
        t0 = time.monotonic()
        sids = c.spawn_many(n, "two-step", goal_fmt="c%d", window=n)
        fleet.wait_completed(sids, 300)
        wall = time.monotonic() - t0
        c.close()
        peak = rss_kb(w.pid, "VmHWM")
        return {"open_sessions": n, "llm_delay_ms": delay_ms, "turns_per_session": 2,
                "worker_idle_rss_kb": idle, "worker_peak_rss_kb": peak,
                "rss_per_open_session_kb": round((peak - idle) / float(n), 1),
                "worker_cpu_s": round(cpu_s(w.pid) - cpu0, 2), "wall_s": round(wall, 2)}
    finally:
        fake.kill()
        fleet.stop()


def bench_resume(kills=20):
    """Time from kill -9 of the worker holding a session to session_resumed elsewhere."""
    import signal
    wf = os.path.join(REPO, "tests", "workflows")
    script = os.path.join(REPO, "tests", "scripts", "five-step-slow.json")
    fleet = Fleet("bench-resume")
    delays = []
    try:
        fleet.start_redis()
        fleet.start_broker()
        names = ["r1", "r2"]
        for n in names:
            fleet.start_worker(n, 2, script, "--workflows", wf)
        fleet.wait_workers(2)
        c = fleet.client()
        for i in range(kills):
            sid = c.spawn("five-step", "resume %d" % i)
            key, last = "wt:session:%s:events" % sid, "0"
            holder = None
            while holder is None:
                for _, entries in fleet.r.xread({key: last}, block=1000) or []:
                    for eid, f in entries:
                        last = eid
                        if f["type"] == "step_advanced":
                            holder = fleet.r.hget("wt:session:%s" % sid, "worker")
            t_kill = time.time()
            fleet.kill("worker-" + holder, signal.SIGKILL)
            fleet.procs["worker-" + holder].wait(timeout=10)
            resumed = None
            while resumed is None:
                for _, entries in fleet.r.xread({key: last}, block=1000) or []:
                    for eid, f in entries:
                        last = eid
                        if f["type"] == "session_resumed":
                            resumed = int(eid.split("-")[0]) / 1000.0
            delays.append(resumed - t_kill)
            fleet.start_worker(holder, 2, script, "--workflows", wf)
            fleet.wait_completed([sid], 60)
            fleet.wait_workers(2, exact=True, timeout_s=30)
        c.close()
        ms = [d * 1000 for d in delays]
        return {"kills": kills, "heartbeat_ms": 1000, "liveness": 3,
                "kill_to_resumed_ms": {"p50": round(pct(ms, 50)), "p99": round(pct(ms, 99)),
                                       "max": round(max(ms)), "min": round(min(ms))}}
    finally:
        fleet.stop()


def bench_throughput_under_kills(n=30000, every_s=5.0):
    """One-step sessions/s while a random worker is killed every 5 s and restarted."""
    import random
    import signal
    fleet = Fleet("bench-kills")
    try:
        fleet.start_redis()
        fleet.start_broker("--max-attempts", "20")
        names = ["k1", "k2", "k3"]
        for w in names:
            fleet.start_worker(w, 8, ONE_STEP, "--workflows", BENCH_WF)
        fleet.wait_workers(3)
        c = fleet.client()
        t0 = time.monotonic()
        sids = c.spawn_many(n, "bench-one-step", goal_fmt="k%d", window=2000)
        c.close()
        want, done, last = set(sids), set(), "0"
        next_kill, kills = time.monotonic() + every_s, 0
        rng = random.Random(7)
        while done != want and time.monotonic() - t0 < 600:
            if time.monotonic() >= next_kill:
                w = rng.choice(names)
                fleet.kill("worker-" + w, signal.SIGKILL)
                fleet.procs["worker-" + w].wait(timeout=10)
                fleet.start_worker(w, 8, ONE_STEP, "--workflows", BENCH_WF)
                kills += 1
                next_kill = time.monotonic() + every_s
            for _, entries in fleet.r.xread({"wt:events": last}, count=10000, block=200) or []:
                for eid, f in entries:
                    last = eid
                    if f["type"] == "session_completed" and f["session"] in want:
                        done.add(f["session"])
        secs = time.monotonic() - t0
        return {"sessions": n, "completed": len(done), "kills": kills, "kill_every_s": every_s,
                "seconds": round(secs, 2), "sessions_per_s": round(len(done) / secs, 1)}
    finally:
        fleet.stop()


def run_pipeline(fleet, yml, *args):
    """Runs `worktrain run --json`; returns (report, cpu seconds, peak RSS KB, wall s)."""
    env = dict(os.environ, WORKTRAIN_REDIS=fleet.redis_url, WORKTRAIN_BROKER=fleet.clients_ep)
    t0 = time.monotonic()
    p = subprocess.Popen([wtfleet.BIN, "run", yml, "--json", "--quiet"] + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate(timeout=600)
    wall = time.monotonic() - t0
    # The child is reaped by communicate(); its usage is in RUSAGE_CHILDREN.
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError("run failed (%d): %s" % (p.returncode, err.decode()[-500:]))
    return json.loads(out), ru.ru_utime + ru.ru_stime, ru.ru_maxrss, wall


def bench_pipeline(chain=20, items=500):
    import resource
    fleet = fleet_for_bench("bench-pipe", slots=8)
    try:
        chain_yml = os.path.join(fleet.dir, "chain.yml")
        with open(chain_yml, "w") as f:
            f.write("pipeline: bench-chain\ninputs: [goal]\nphases:\n")
            for i in range(chain):
                f.write("  - id: p%d\n    workflow: bench-one-step\n    goal: \"step %d\"\n" % (i, i))
                if i:
                    f.write("    needs: [p%d]\n" % (i - 1))
        base = resource.getrusage(resource.RUSAGE_CHILDREN)
        rep, cpu, _, wall = run_pipeline(fleet, chain_yml, "--goal", "chain")
        cpu -= base.ru_utime + base.ru_stime
        sids = [ph["session"] for ph in rep["phases"]]
        hashes = [fleet.r.hgetall("wt:session:%s" % s) for s in sids]
        gaps = [int(hashes[i]["created_ms"]) - int(hashes[i - 1]["ended_ms"])
                for i in range(1, len(hashes))]
        chain_res = {"phases": chain, "wall_s": round(wall, 3),
                     "per_phase_ms": round(wall * 1000 / chain, 1),
                     "handoff_ms_p50": pct(gaps, 50), "handoff_ms_p99": pct(gaps, 99),
                     "handoff_ms_max": max(gaps), "coordinator_cpu_s": round(cpu, 3)}
        fan_yml = os.path.join(fleet.dir, "fan.yml")
        with open(fan_yml, "w") as f:
            f.write("pipeline: bench-fan\ninputs: [goal, items]\nphases:\n"
                    "  - id: fan\n    workflow: bench-one-step\n    foreach: inputs.items\n"
                    "    goal: \"item {{item}}\"\n")
        base = resource.getrusage(resource.RUSAGE_CHILDREN)
        rep, cpu, rss, wall = run_pipeline(fleet, fan_yml, "--goal", "fan", "--var",
                                           "items=%s" % json.dumps(list(range(items))))
        cpu -= base.ru_utime + base.ru_stime
        fan = rep["phases"][0]
        ok = sum(1 for r in fan["results"] if r and r.get("outcome") == "success")
        fan_res = {"items": items, "succeeded": ok, "wall_s": round(wall, 3),
                   "sessions_per_s": round(items / wall, 1), "coordinator_cpu_s": round(cpu, 3),
                   "coordinator_peak_rss_kb": rss}
        return {"chain": chain_res, "foreach": fan_res}
    finally:
        fleet.stop()


def http_get_ms(port, path, n):
    """n sequential GETs on one keep-alive connection; latencies in ms."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        out.append((time.monotonic() - t0) * 1000)
        if r.status != 200:
            raise RuntimeError("GET %s -> %d" % (path, r.status))
    c.close()
    return out


def lat(values):
    return {"p50_ms": round(pct(values, 50), 2), "p99_ms": round(pct(values, 99), 2)}


def bench_console(n=10000):
    fleet = fleet_for_bench("bench-console", slots=8)
    try:
        c = fleet.client()
        sids = c.spawn_many(n, "bench-one-step", goal_fmt="c%d", window=2000, timeout_s=600)
        c.close()
        fleet.wait_completed(sids, timeout_s=600)
        port = wtfleet.free_port()
        con = fleet._spawn("console", [wtfleet.BIN, "console", "--http", "127.0.0.1:%d" % port,
                                       "--redis", fleet.redis_url])
        fleet.wait_for(lambda: os.path.exists("/proc/%d" % con.pid), 5, "console")
        deadline = time.monotonic() + 10
        while True:
            try:
                http_get_ms(port, "/healthz", 1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        res = {"sessions": n,
               "sessions_page_50": lat(http_get_ms(port, "/api/sessions?limit=50", 200)),
               "filter_no_match": lat(http_get_ms(port, "/api/sessions?status=failed&limit=50", 20)),
               "stats": lat(http_get_ms(port, "/api/stats", 200)),
               "session_detail": lat(http_get_ms(port, "/api/sessions/%s" % sids[-1], 200)),
               "broker_metrics": lat(http_get_ms(fleet.http_port, "/metrics", 200)),
               "console_rss_kb": rss_kb(con.pid)}
        return res
    finally:
        fleet.stop()


def bench_triggers(n=2000):
    import hashlib
    import hmac
    import http.client
    fleet = Fleet("bench-trig")
    try:
        fleet.start_redis()
        secret = "bench-secret"
        trig = os.path.join(fleet.dir, "triggers.yml")
        with open(trig, "w") as f:
            f.write("triggers:\n  - id: hook\n    provider: generic\n"
                    "    workflowId: bench-one-step\n    goalTemplate: \"bench {{$.n}}\"\n"
                    "    hmacSecret: $WT_BENCH_SECRET\n")
        os.environ["WT_BENCH_SECRET"] = secret
        fleet.start_broker("--triggers", trig, "--workflows", BENCH_WF)
        for i in range(2):
            fleet.start_worker("bw%d" % (i + 1), 8, ONE_STEP, "--workflows", BENCH_WF)
        fleet.wait_workers(2)
        c = http.client.HTTPConnection("127.0.0.1", fleet.http_port, timeout=30)
        times = []
        t_all = time.monotonic()
        for i in range(n):
            body = json.dumps({"n": i}).encode()
            sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            t0 = time.monotonic()
            c.request("POST", "/webhook/hook", body, {"X-WorkRail-Signature": sig,
                                                      "Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            times.append((time.monotonic() - t0) * 1000)
            if r.status != 202:
                raise RuntimeError("webhook answered %d" % r.status)
            if r.getheader("Connection", "").lower() == "close":
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", fleet.http_port, timeout=30)
        wall = time.monotonic() - t_all
        c.close()
        return {"webhooks": n, "per_s": round(n / wall, 1), **lat(times)}
    finally:
        fleet.stop()


def bench_stream(n=2000):
    """redis_stream intake (DESIGN.md 18): n entries XADDed at once to a
    stream a `redis_stream` trigger reads; entries/s from the first XADD to
    the last entry acknowledged (each acknowledged only after its SPAWNED,
    the session durable in Redis), and per entry the XADD -> session
    created latency (the entry id's milliseconds to created_ms, both wall
    clock). Beside it, in the same run on the same broker and Redis, the
    broker's plain spawn rate: n SPAWNs pipelined (window 2000) and n sent
    one at a time (what a reader does: one SPAWN round trip per entry), and
    the ratios. No workers: this is intake, sessions stay queued."""
    fleet = Fleet("bench-stream")
    try:
        fleet.start_redis()
        trig = os.path.join(fleet.dir, "triggers.yml")
        with open(trig, "w") as f:
            f.write("triggers:\n  - id: q\n    provider: redis_stream\n"
                    "    workflowId: bench-one-step\n    goalTemplate: \"stream {{$.n}}\"\n"
                    "    source: {stream: \"bench:in\", group: worktrain}\n")
        fleet.start_broker("--triggers", trig, "--workflows", BENCH_WF)
        r = fleet.r
        fleet.wait_for(lambda: any(g["name"] == "worktrain" for g in _groups(r, "bench:in")), 30,
                       "the trigger's consumer group")
        c = fleet.client()
        t0 = time.monotonic()
        c.spawn_many(n, "bench-one-step", goal_fmt="plain %d", window=2000, timeout_s=600)
        plain = n / (time.monotonic() - t0)
        t0 = time.monotonic()
        c.spawn_many(n, "bench-one-step", goal_fmt="seq %d", window=1, timeout_s=600)
        seq = n / (time.monotonic() - t0)
        c.close()

        t0 = time.monotonic()
        pipe = r.pipeline(transaction=False)
        for i in range(n):
            pipe.xadd("bench:in", {"payload": json.dumps({"n": i})})
            if i % 500 == 499:
                pipe.execute()
        pipe.execute()
        t_added = time.monotonic()

        def acked():
            g = [x for x in _groups(r, "bench:in") if x["name"] == "worktrain"]
            return bool(g) and g[0]["pending"] == 0 and g[0].get("lag", 1) == 0 and \
                g[0].get("entries-read", 0) >= n
        fleet.wait_for(acked, 600, "every entry acknowledged")
        wall = time.monotonic() - t0
        sids = [s for s in r.zrange("wt:sessions", 0, -1)
                if (r.hget("wt:session:%s" % s, "goal") or "").startswith("stream ")]
        ids = {json.loads(f["payload"])["n"]: int(eid.split("-")[0])
               for eid, f in r.xrange("bench:in")}
        pipe = r.pipeline()
        for s in sids:
            pipe.hmget("wt:session:%s" % s, "goal", "created_ms")
        lag = [int(created) - ids[int(goal.split()[1])] for goal, created in pipe.execute()]
        per_s = n / wall
        return {
            "entries": n,
            "sessions": len(sids),
            "xadd_seconds": round(t_added - t0, 3),
            "seconds": round(wall, 3),
            "entries_per_s": round(per_s, 1),
            "xadd_to_session_ms": {"p50": pct(lag, 50), "p99": pct(lag, 99),
                                   "max": max(lag) if lag else None},
            "plain_spawn_per_s": round(plain, 1),
            "plain_spawn_sequential_per_s": round(seq, 1),
            "ratio_to_plain": round(per_s / plain, 3),
            "ratio_to_sequential": round(per_s / seq, 3),
            "broker_peak_rss_kb": rss_kb(fleet.procs["broker"].pid),
            "load_1m": round(os.getloadavg()[0], 2),
            "note": "XADD of all entries at once -> last XACK (each after its SPAWNED); "
                    "plain spawns on the same broker in the same run; no workers",
        }
    finally:
        fleet.stop()


def _groups(r, stream):
    try:
        return r.xinfo_groups(stream)
    except Exception:
        return []


def scrape_ms(port, n):
    """n GETs of /metrics on port: (median ms, p99 ms, bytes)."""
    import urllib.request
    times, size = [], 0
    for _ in range(n):
        t0 = time.monotonic()
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
            size = len(r.read())
        times.append((time.monotonic() - t0) * 1000)
    return {"p50_ms": round(statistics.median(times), 3), "p99_ms": round(pct(times, 99), 3),
            "bytes": size}


def http_ok(port, path):
    import urllib.request
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def cold_start(prefix, fleet, tag):
    """Exec -> healthy of a broker (/healthz) and a worker (/readyz) started
    with prefix (e.g. a chroot) in front of the binary path given."""
    exe = prefix[-1]
    prefix = prefix[:-1]
    cport, wport, bh, wh = (wtfleet.free_port() for _ in range(4))
    t0 = time.monotonic()
    fleet._spawn("broker-" + tag, prefix + [exe, "broker", "--clients", "tcp://127.0.0.1:%d" % cport,
                                            "--workers", "tcp://127.0.0.1:%d" % wport, "--redis",
                                            fleet.redis_url, "--http", "127.0.0.1:%d" % bh])
    fleet.wait_for(lambda: http_ok(bh, "/healthz"), 30, "broker healthz")
    t_b = time.monotonic() - t0
    t0 = time.monotonic()
    fleet._spawn("worker-" + tag, prefix + [exe, "worker", "--broker", "tcp://127.0.0.1:%d" % wport,
                                            "--redis", fleet.redis_url, "--provider", "openai",
                                            "--base-url", "http://127.0.0.1:9", "--sandbox", "off",
                                            "--workflows", "/usr/local/share/worktrain/workflows"
                                            if prefix else os.path.join(REPO, "workflows"),
                                            "--heartbeat", "100ms", "--http", "127.0.0.1:%d" % wh],
                 env={"HOME": "/tmp", "OPENAI_API_KEY": "unused"})
    fleet.wait_for(lambda: http_ok(wh, "/readyz"), 30, "worker readyz")
    t_w = time.monotonic() - t0
    fleet.kill("broker-" + tag, 15)
    fleet.kill("worker-" + tag, 15)
    return {"broker_ms": round(t_b * 1000, 1), "worker_ms": round(t_w * 1000, 1)}


def bench_deploy(n=1000, scrapes=200):
    """Scrape time of /metrics with n live sessions vs idle; image size; cold start."""
    import shutil
    import tempfile
    from test_providers import start_fake
    res = {}
    d = tempfile.mkdtemp(prefix="wt-bench-deploy-")
    fake, base = start_fake(d, "--delay-ms", "300000")
    fleet = Fleet("bench-deploy")
    try:
        fleet.start_redis()
        fleet.r.config_set("maxclients", 6000)
        fleet.start_broker()
        wports = [wtfleet.free_port() for _ in range(2)]
        for i, port in enumerate(wports):
            fleet.start_worker("d%d" % i, n // 2, None, "--provider", "openai", "--base-url", base,
                               "--workflows", BENCH_WF, "--stall-timeout", "10m",
                               "--http", "127.0.0.1:%d" % port)
        fleet.wait_workers(2)
        idle = {"broker": scrape_ms(fleet.http_port, scrapes), "worker": scrape_ms(wports[0], scrapes)}
        c = fleet.client()
        c.spawn_many(n, "two-step", goal_fmt="d%d", window=n)
        c.close()
        fleet.wait_for(lambda: "\nwt_sessions_active %d\n" % n in fleet.metrics(), 300,
                       "%d live sessions" % n)
        live = {"broker": scrape_ms(fleet.http_port, scrapes), "worker": scrape_ms(wports[0], scrapes)}
        res["scrape"] = {"live_sessions": n, "scrapes": scrapes, "idle": idle, "live": live,
                         "ratio_broker_p50": round(live["broker"]["p50_ms"] / idle["broker"]["p50_ms"], 3),
                         "ratio_worker_p50": round(live["worker"]["p50_ms"] / idle["worker"]["p50_ms"], 3)}
    finally:
        fake.kill()
        fleet.stop()
        shutil.rmtree(d, ignore_errors=True)
    script = os.path.join(REPO, "deploy", "docker", "build-image.sh")
    bindir = os.path.dirname(wtfleet.BIN)
    if shutil.which("buildah"):
        tag = "localhost/worktrain:bench-%d" % os.getpid()
        subprocess.run(["bash", script, bindir, tag], capture_output=True, timeout=300)
        r = subprocess.run(["podman", "image", "inspect", tag], capture_output=True, text=True)
        if r.returncode == 0:
            size = json.loads(r.stdout)[0]["Size"]
            res["image"] = {"bytes": size, "binary_bytes": os.path.getsize(wtfleet.BIN),
                            "ratio_to_binary": round(size / os.path.getsize(wtfleet.BIN), 1)}
        subprocess.run(["podman", "rmi", "-f", tag], capture_output=True)
    if os.geteuid() == 0:
        root = tempfile.mkdtemp(prefix="wt-bench-rootfs-")
        os.chmod(root, 0o755)
        fleet = Fleet("bench-cold")
        try:
            subprocess.run(["bash", script, "--rootfs", root, bindir], check=True,
                           capture_output=True, timeout=300)
            fleet.start_redis()
            host = cold_start([wtfleet.BIN], fleet, "host")
            tree = cold_start(["chroot", "--userspec=10001:10001", root, "/usr/local/bin/worktrain"],
                              fleet, "tree")
            res["cold_start"] = {"containers": "cannot run here (crun setrlimit denied); image tree "
                                               "under chroot instead",
                                 "host_binary": host, "image_tree": tree,
                                 "ratio_broker": round(tree["broker_ms"] / host["broker_ms"], 3),
                                 "ratio_worker": round(tree["worker_ms"] / host["worker_ms"], 3)}
        finally:
            fleet.stop()
            shutil.rmtree(root, ignore_errors=True)
    return res
def run_bench_cli(fleet, suite, out, *extra):
    """Runs `worktrain bench run` to the end; (exit code, wall s, CPU s, peak RSS KB)."""
    env = dict(os.environ, WORKTRAIN_REDIS=fleet.redis_url, WORKTRAIN_BROKER=fleet.clients_ep)
    t0 = time.monotonic()
    p = subprocess.Popen([wtfleet.BIN, "bench", "run", suite, "--concurrency", "64", "--out", out,
                          "--quiet"] + list(extra), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env, cwd=REPO, stdin=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, time.monotonic() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def bench_suites(cases=1000):
    """`worktrain bench run` of cases x 2 variants vs plain sessions on the same fleet."""
    fleet = fleet_for_bench("bench-suites")
    try:
        d = os.path.join(fleet.dir, "suite")
        os.makedirs(d)
        suite = os.path.join(d, "suite.yml")
        with open(suite, "w") as f:
            f.write("suite: bench\nworkflow: bench-one-step\nmatrix: [{name: a}, {name: b}]\n"
                    "scorers:\n  - {name: n, type: equals, output: context.n, expect: n}\n"
                    "  - {name: r, type: set_recall, output: context.n, expect: l}\ncases:\n")
            for i in range(cases):
                f.write("  - {id: c%d, goal: g%d, expect: {n: g%d, l: [g%d]}}\n" % (i, i, i, i))
        n = 2 * cases
        c = fleet.client()
        t0 = time.monotonic()
        sids = c.spawn_many(n, "bench-one-step", goal_fmt="p%d", window=64, timeout_s=600)
        fleet.wait_completed(sids, timeout_s=900)
        plain_s = time.monotonic() - t0
        c.close()
        rc, wall, cpu, rss = run_bench_cli(fleet, suite, os.path.join(fleet.dir, "out"))
        run = json.load(open(os.path.join(fleet.dir, "out", "RUN.json")))
        agg = run["variants"][0]["aggregate"]
        rc2, wall_rec, cpu_rec, rss_rec = run_bench_cli(
            fleet, suite, os.path.join(fleet.dir, "out2"), "--record", os.path.join(fleet.dir, "rec"))
        recorded = len(os.listdir(os.path.join(fleet.dir, "rec")))
        return {"cases": cases, "variants": 2, "sessions": n, "workers": 2, "slots_per_worker": 8,
                "concurrency": 64, "exit": rc, "pass_rate": agg["pass_rate"]["mean"],
                "plain_sessions_per_s": round(n / plain_s, 1),
                "bench_wall_s": round(wall, 2), "bench_cases_per_s": round(n / wall, 1),
                "ratio_to_plain": round((n / wall) / (n / plain_s), 3),
                "runner_cpu_s": round(cpu, 2), "runner_peak_rss_kb": rss,
                "record": {"exit": rc2, "wall_s": round(wall_rec, 2), "recordings": recorded,
                           "runner_cpu_s": round(cpu_rec, 2), "runner_peak_rss_kb": rss_rec,
                           "wall_ratio_to_none": round(wall_rec / wall, 3)}}
    finally:
        fleet.stop()
# --- limits: WorkTrain's figures beside what Redis and ZeroMQ allow here ---

def redis_xadd_limit(fleet, n, pipeline):
    """redis-benchmark XADD (one 2-field entry, like an event) against the
    fleet's own redis-server: entries per second."""
    r = subprocess.run(["redis-benchmark", "-p", str(fleet.redis_port), "-n", str(n), "-c", "2",
                        "-P", str(pipeline), "--csv", "XADD", "bench:limits", "MAXLEN", "~",
                        "100000", "*", "type", "step_advanced", "data", '{"step":"s1"}'],
                       capture_output=True, text=True, timeout=300)
    for line in r.stdout.splitlines():
        cells = [c.strip('"') for c in line.split('","')]
        if len(cells) > 1 and cells[0].startswith("XADD"):
            return round(float(cells[1]), 1)
    return None


def redis_xadd_cost(fleet, n, pipeline, data='{"step":"s1"}'):
    """redis_xadd_limit with the redis-server's CPU per 1,000 entries (INFO
    cpu around the run); data: the entry's data field (no double quotes:
    redis-benchmark's CSV does not escape them)."""
    c0 = _redis_cpu(fleet.r)
    r = subprocess.run(["redis-benchmark", "-p", str(fleet.redis_port), "-n", str(n), "-c", "2",
                        "-P", str(pipeline), "--csv", "XADD", "bench:limits", "MAXLEN", "~",
                        "100000", "*", "type", "step_advanced", "data", data],
                       capture_output=True, text=True, timeout=300)
    c1 = _redis_cpu(fleet.r)
    fleet.r.delete("bench:limits")
    for line in r.stdout.splitlines():
        cells = [c.strip('"') for c in line.split('","')]
        if len(cells) > 1 and cells[0].startswith("XADD"):
            return {"per_s": round(float(cells[1]), 1),
                    "redis_cpu_ms_per_1000": round((c1 - c0) * 1e6 / n, 3)}
    return {"per_s": None, "redis_cpu_ms_per_1000": None}


def _redis_cpu(r):
    i = r.info("cpu")
    return i["used_cpu_sys"] + i["used_cpu_user"]


def bench_event_writes(seconds=5, threads=(16, 2), batches=(1, 8, 64)):
    """The capacity of the worker's event-write path (bench/bench_events:
    the worker's writer, group commit through the append script, real
    leases, verified afterwards) for each thread count and K events per
    batch, beside redis-benchmark XADD pipelined (-P 16, -P 64; also with a
    240-byte data field, an event's usual size) and unpipelined on the same
    redis-server, measured before and after the runs (the higher figure is
    the limit)."""
    exe = os.path.join(os.path.dirname(wtfleet.BIN), "bench", "bench_events")
    if not os.path.exists(exe):
        return {"skipped": "bench_events not built"}
    fleet = Fleet("bench-evlim")
    res = {"limits": {}, "runs": []}
    try:
        fleet.start_redis()
        big = "x" * 240

        def limits():
            return {"xadd_P64": redis_xadd_cost(fleet, 1000000, 64),
                    "xadd_P16": redis_xadd_cost(fleet, 500000, 16),
                    "xadd_P1": redis_xadd_cost(fleet, 100000, 1),
                    "xadd_P64_240B": redis_xadd_cost(fleet, 500000, 64, big)}
        before = limits()
        for t in threads:
            for k in batches:
                p = subprocess.run([exe, "--redis", fleet.redis_url, "--threads", str(t),
                                    "--batch", str(k), "--seconds", str(seconds),
                                    "--prefix", "bev%d_%d:" % (t, k)],
                                   capture_output=True, text=True, timeout=seconds * 20 + 120)
                try:
                    run = json.loads(p.stdout)
                except ValueError:
                    run = {"threads": t, "batch": k, "error": p.stderr[-300:]}
                run["exit"] = p.returncode
                res["runs"].append(run)
                fleet.r.flushall()
        after = limits()
        for name in before:
            pair = [x for x in (before[name]["per_s"], after[name]["per_s"]) if x]
            res["limits"][name] = {"before": before[name], "after": after[name],
                                   "per_s": max(pair) if pair else None}
    finally:
        fleet.stop()
    lim = {k: v["per_s"] or 0 for k, v in res["limits"].items()}
    for run in res["runs"]:
        eps = run.get("events_per_s") or 0
        run["ratio_to"] = {k: round(eps / v, 3) if v else None for k, v in lim.items()}
    return res


def zmq_limit(n=500000):
    exe = os.path.join(os.path.dirname(wtfleet.BIN), "bench", "bench_zmq")
    if not os.path.exists(exe):
        return {"skipped": "bench_zmq not built"}
    import tempfile
    d = tempfile.mkdtemp(prefix="wt-bench-zmq-")
    r = subprocess.run([exe, "--endpoint", "ipc://%s/z.sock" % d, "--messages", str(n)],
                       capture_output=True, text=True, timeout=300)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"error": r.stderr[-300:]}


def commandstats(r):
    return {k[len("cmdstat_"):] if k.startswith("cmdstat_") else k: v["calls"]
            for k, v in r.info("commandstats").items()}


def e2e_costs(n, workers, slots, prefetch=None, client="load"):
    """n no-op one-step sessions end to end: sessions/s, CPU per 1,000 sessions
    of redis, broker and workers (from /proc), Redis commands per session
    (INFO commandstats, commands run inside scripts included). prefetch: the
    workers' --prefetch (None: their default). client "load": bench_load
    (C, a window of 2,000 SPAWNs, completions read from wt:events) drives the
    fleet; "python": wtfleet's spawn_many + wait_completed. The client's own
    CPU is reported apart (client_cpu_ms_per_session), never in the fleet's."""
    if client == "load" and bench_load_exe() is None:
        return {"skipped": "bench_load not built"}
    extra = () if prefetch is None else ("--prefetch", str(prefetch))
    fleet = fleet_for_bench("bench-lim", slots=slots, workers=workers, extra=extra)
    try:
        names = ["redis", "broker"] + ["worker-bw%d" % (i + 1) for i in range(workers)]
        pids = {k: fleet.procs[k].pid for k in names}
        fleet.r.config_resetstat()
        cpu0 = {k: cpu_s(p) for k, p in pids.items()}
        load = None
        if client == "load":
            load = run_bench_load(fleet, n, "--window", "2000")
            wall = load["seconds"]
            client_cpu = load["client_cpu_s"]
        else:
            c = fleet.client()
            pcpu0 = time.process_time()
            t0 = time.monotonic()
            sids = c.spawn_many(n, "bench-one-step", goal_fmt="b%d", window=2000, timeout_s=600)
            fleet.wait_completed(sids, timeout_s=900)
            wall = time.monotonic() - t0
            client_cpu = time.process_time() - pcpu0
            c.close()
        cpu1 = {k: cpu_s(p) for k, p in pids.items()}
        stats = commandstats(fleet.r)
        stats.pop("config", None)
        stats.pop("info", None)
        stats.pop("xrevrange", None)  # bench_load's one look at wt:events' end
        if client == "load":  # the client's own reads of wt:events, not the fleet's
            stats["xread"] = max(0, stats.get("xread", 0) - load["xread_replies"])
            stats.pop("ping", None)
        cpu = {k: cpu1[k] - cpu0[k] for k in pids}
        wcpu = sum(v for k, v in cpu.items() if k.startswith("worker"))
        total = cpu["redis"] + cpu["broker"] + wcpu
        calls = sum(stats.values())
        xadds = stats.get("xadd", 0)
        res = {
            "sessions": n, "workers": workers, "slots_per_worker": slots,
            "prefetch": "default" if prefetch is None else prefetch,
            "client": "bench_load" if client == "load" else "python",
            "sessions_per_s": round(n / wall, 1),
            "cpu_ms_per_session": round(total * 1000 / n, 3),
            "cpu_s_per_1000_sessions": {"redis": round(cpu["redis"] * 1000 / n, 3),
                                        "broker": round(cpu["broker"] * 1000 / n, 3),
                                        "workers": round(wcpu * 1000 / n, 3)},
            "client_cpu_ms_per_session": round(client_cpu * 1000 / n, 3),
            "redis_commands_per_session": round(calls / float(n), 2),
            # the round trips that carry a session's work: script calls and reads
            "scripts_and_reads_per_session": round(
                (stats.get("evalsha", 0) + stats.get("eval", 0) + stats.get("xrange", 0))
                / float(n), 2),
            "commands_per_session": {k: round(v / float(n), 2) for k, v in sorted(stats.items())},
            "xadd_per_s": round(xadds / wall, 1),
        }
        if load:
            res["spawn_to_completed_us"] = load["spawn_to_completed_us"]
            res["missing"], res["duplicated"] = load["missing"], load["duplicated"]
            res["client_xreads_per_session"] = round(load["xread_replies"] / float(n), 2)
        return res
    finally:
        fleet.stop()


def bench_waiting(n, delay_ms=15000, tls=False):
    """One worker with n slots, n sessions all waiting on a fake LLM that
    answers after delay_ms: VmRSS per waiting session, sampled once all n
    hold a lease and the worker has gone quiet (so every session is counted,
    however fast they start), and the worker's CPU share over the last half
    second while they all wait. tls: over HTTPS (slow_llm_worker: True
    HTTP/1.1, a connection per waiting call; "h2" HTTP/2, as hosted providers
    speak it, calls sharing connections)."""
    fake, fleet, w = slow_llm_worker("wait", n, delay_ms, tls=tls)
    try:
        idle = rss_kb(w.pid, "VmRSS")
        c = fleet.client()
        sids = c.spawn_many(n, "two-step", goal_fmt="w%d", window=n)
        fleet.wait_for(lambda: fleet.r.hlen("wt:running") >= n, 120, "all sessions running")
        # settled: every session has reached its LLM call once the worker's
        # CPU over half a second is near zero (bounded: at most 10 s)
        settle_end = time.monotonic() + 10
        while True:
            cpu0, t0 = cpu_s(w.pid), time.monotonic()
            time.sleep(0.5)
            cpu_idle = (cpu_s(w.pid) - cpu0) / (time.monotonic() - t0)
            if cpu_idle < 0.05 or time.monotonic() > settle_end:
                break
        waiting = rss_kb(w.pid, "VmRSS")
        fleet.wait_completed(sids, 300)
        c.close()
        return {"waiting_sessions": n, "llm_delay_ms": delay_ms,
                "https": {False: None, True: "http/1.1"}.get(tls, tls),
                "worker_idle_rss_kb": idle,
                "worker_rss_waiting_kb": waiting,
                "rss_per_waiting_session_kb": round((waiting - idle) / float(n), 1),
                "worker_cpu_share_while_waiting": round(cpu_idle, 3)}
    finally:
        fake.kill()
        fleet.stop()


def bench_llm_calls(n, tls):
    """n one-step sessions (one LLM call each) on one worker of 4 slots
    against a fake LLM that answers at once, 50 in flight: the worker's CPU
    per LLM call and sessions/s. tls: over HTTPS (a handshake, and before
    the shared trust store a CA bundle parse, per new connection)."""
    fake, fleet, w = slow_llm_worker("calls", 4, 0, tls=tls)
    try:
        c = fleet.client()
        cpu0, t0 = cpu_s(w.pid), time.monotonic()
        sids = c.spawn_many(n, "bench-one-step", goal_fmt="c%d", window=50)
        fleet.wait_completed(sids, 300)
        wall, cpu = time.monotonic() - t0, cpu_s(w.pid) - cpu0
        c.close()
        return {"sessions": n, "https": tls, "worker_cpu_ms_per_llm_call": round(cpu * 1000 / n, 3),
                "sessions_per_s": round(n / wall, 1)}
    finally:
        fake.kill()
        fleet.stop()


def event_write_rows(ew):
    """The limits rows of bench_event_writes: each run's events/s beside
    pipelined XADD (-P 64, the issue's limit) measured on the same
    redis-server, and its Redis CPU per 1,000 events beside XADD's."""
    rows = []
    lim = ew.get("limits", {})
    p64 = (lim.get("xadd_P64") or {}).get("per_s") or 0
    cpu64 = ((lim.get("xadd_P64") or {}).get("after") or {}).get("redis_cpu_ms_per_1000") or 0
    for run in ew.get("runs", []):
        if "events_per_s" not in run:
            continue
        tag = "event write path K=%d T=%d" % (run["batch"], run["threads"])
        rows.append((tag + " events/s", run["events_per_s"], "redis XADD pipelined", p64))
        rows.append((tag + " redis ms/1000", run["redis_cpu_ms_per_1000_events"],
                     "XADD -P64 redis ms/1000", cpu64))
    return rows


E2E_RUNS = 3


def median_run(runs):
    """The run with the median sessions/s (its CPU and commands go with it),
    with every run's sessions/s and CPU ms/session beside it."""
    ok = [r for r in runs if r.get("sessions_per_s")]
    if not ok:
        return runs[0]
    ok.sort(key=lambda r: r["sessions_per_s"])
    med = dict(ok[len(ok) // 2])
    med["runs"] = len(runs)
    med["runs_sessions_per_s"] = [r.get("sessions_per_s") for r in runs]
    med["runs_cpu_ms_per_session"] = [r.get("cpu_ms_per_session") for r in runs]
    med["missing"] = sum(r.get("missing", 0) for r in runs)
    med["duplicated"] = sum(r.get("duplicated", 0) for r in runs)
    return med


def bench_limits(n, rate, seconds, waiting):
    """The `limits` section: the Redis and ZeroMQ limits of this machine, and
    WorkTrain's figures, each beside the limit it is bounded by, in one run."""
    res = {"limits": {}}
    fleet = Fleet("bench-redislim")
    try:
        fleet.start_redis()
        res["limits"]["redis_xadd_pipelined_per_s"] = redis_xadd_limit(fleet, 1000000, 64)
        res["limits"]["redis_xadd_unpipelined_per_s"] = redis_xadd_limit(fleet, 100000, 1)
        res["limits"]["redis_version"] = fleet.r.info("server").get("redis_version")
    finally:
        fleet.stop()
    res["limits"]["zmq_router_dealer"] = zmq_limit()
    # the end-to-end shapes, and the same without prefetch (--prefetch 0)
    # for the ratio prefetch gives; each figure is the median of E2E_RUNS
    # runs taken in turn with the other shapes' (a single run on this
    # shared VM moved by 25 % from one minute to the next)
    shapes = [("e2e_2x8", 8, 1), ("e2e_2x1", 1, 1), ("e2e_2x1_no_prefetch", 1, 0),
              ("e2e_2x8_no_prefetch", 8, 0)]
    runs = {name: [] for name, _, _ in shapes}
    for _ in range(E2E_RUNS):
        for name, slots, prefetch in shapes:
            runs[name].append(e2e_costs(n, 2, slots, prefetch=prefetch))
    for name, _, _ in shapes:
        res[name] = median_run(runs[name])
    res["latency_500_per_s"] = bench_latency(rate, seconds)
    res["broker_alone"] = bench_broker_alone(50000)
    res["broker_alone_16x128"] = bench_broker_alone(100000, 16, 128)
    res["waiting"] = bench_waiting(waiting)
    res["waiting_https"] = bench_waiting(waiting, tls=True)
    res["waiting_h2"] = bench_waiting(waiting, tls="h2")
    res["llm_calls_http"] = bench_llm_calls(400, False)
    res["llm_calls_https"] = bench_llm_calls(400, True)
    res["event_writes"] = bench_event_writes()
    lim, e8, e1 = res["limits"], res["e2e_2x8"], res["e2e_2x1"]
    lat = res["latency_500_per_s"]
    pipelined = lim.get("redis_xadd_pipelined_per_s") or 0
    zmq_echo = (lim["zmq_router_dealer"] or {}).get("echo_msgs_per_s") or 0
    def per_broker_cpu(ba):
        return (round(ba["sessions"] / ba["broker_cpu_s"], 0)
                if ba.get("broker_cpu_s") and ba.get("sessions") else None)
    per_cpu = per_broker_cpu(res["broker_alone"])
    per_cpu_big = per_broker_cpu(res["broker_alone_16x128"])
    s8 = e8.get("sessions_per_s")
    us = lat.get("spawn_to_started_us") or {}
    # each figure beside the limit it is bounded by (ratio = figure / limit);
    # a part skipped (bench_load not built) shows None
    rows = [
        ("sessions/s 2x8", s8, "target 3500", 3500),
        ("sessions/s 2x1", e1.get("sessions_per_s"), "target 2500", 2500),
        ("sessions/s 2x1 prefetch 1", e1.get("sessions_per_s"), "2x1 --prefetch 0",
         res["e2e_2x1_no_prefetch"].get("sessions_per_s")),
        ("sessions/s 2x8 prefetch 1", s8, "2x8 --prefetch 0",
         res["e2e_2x8_no_prefetch"].get("sessions_per_s")),
        ("cpu ms/session 2x8", e8.get("cpu_ms_per_session"), "target 0.5", 0.5),
        ("client cpu ms/session 2x8", e8.get("client_cpu_ms_per_session"),
         "fleet cpu ms/session 2x8", e8.get("cpu_ms_per_session")),
        ("redis commands/session", e8.get("redis_commands_per_session"), "target 20", 20),
        ("event XADDs/s fleet-wide", e8.get("xadd_per_s"), "redis XADD pipelined", pipelined),
        ("event XADDs/s fleet-wide", e8.get("xadd_per_s"), "redis XADD unpipelined",
         lim.get("redis_xadd_unpipelined_per_s") or 0),
    ] + event_write_rows(res["event_writes"]) + [
        ("sessions/s 2x8 (x ~6 broker msgs)", round(s8 * 6, 1) if s8 else None,
         "zmq ROUTER/DEALER echo", zmq_echo),
        ("broker dispatches/cpu-s 4x8 slots", per_cpu, "target 100000", 100000),
        ("broker dispatches/cpu-s 16x128 slots", per_cpu_big, "target 100000", 100000),
        ("spawn->started p99 ms @%d/s (hash)" % rate,
         (lat.get("spawn_to_started_ms") or {}).get("p99"), "target 2", 2),
        ("spawn->started p99 us @%d/s (client)" % rate, us.get("p99"), "target 2000", 2000),
        ("spawn->started max us @%d/s (client)" % rate, us.get("max"), "target 10000", 10000),
        ("rss kb per waiting session", res["waiting"]["rss_per_waiting_session_kb"], "target 64", 64),
        ("rss kb per waiting session, https LLM", res["waiting_https"]["rss_per_waiting_session_kb"],
         "the same over http", res["waiting"]["rss_per_waiting_session_kb"]),
        ("rss kb per waiting session, https h2 LLM", res["waiting_h2"]["rss_per_waiting_session_kb"],
         "target 64", 64),
        ("worker cpu ms per LLM call, https", res["llm_calls_https"]["worker_cpu_ms_per_llm_call"],
         "the same over http", res["llm_calls_http"]["worker_cpu_ms_per_llm_call"]),
        ("worker cpu share while all wait", res["waiting"]["worker_cpu_share_while_waiting"],
         "one core", 1.0),
    ]
    res["beside_limits"] = [{"figure": a, "value": v, "limit": b, "limit_value": lv,
                             "ratio": round(v / float(lv), 3) if v is not None and lv else None}
                            for a, v, b, lv in rows]
    res["broker_alone"]["dispatches_per_broker_cpu_s"] = per_cpu
    res["broker_alone_16x128"]["dispatches_per_broker_cpu_s"] = per_cpu_big
    for row in res["beside_limits"]:
        print("  %-38s %12s   %-24s %12s   ratio %s" % (row["figure"], row["value"], row["limit"],
                                                        row["limit_value"], row["ratio"]),
              flush=True)
    for name in ("e2e_2x8", "e2e_2x1", "e2e_2x1_no_prefetch", "e2e_2x8_no_prefetch"):
        if res[name].get("runs_sessions_per_s"):
            print("  %-38s sessions/s %s, cpu ms/session %s (median run above)"
                  % (name, res[name]["runs_sessions_per_s"], res[name]["runs_cpu_ms_per_session"]),
                  flush=True)
    return res
def _setup_ms(fleet, sid):
    """session_started -> llm_turn_started of sid, from the stream ids (ms)."""
    t = {}
    for eid, typ, _, _ in fleet.events(sid):
        if typ in ("session_started", "llm_turn_started") and typ not in t:
            t[typ] = int(eid.split("-")[0])
    return t.get("llm_turn_started", 0) - t.get("session_started", 0)


def bench_delivery(files=10000, serial=20, concurrent=100):
    """Workspaces from a warm mirror, and concurrent sessions that push."""
    import tempfile
    from deliverkit import make_remote
    d = tempfile.mkdtemp(prefix="wt-bench-dl-")
    big = make_remote(d, "big.git", files=files)
    small = make_remote(d, "app.git")
    write = os.path.join(d, "write.json")
    with open(write, "w") as f:
        json.dump([{"tool_calls": [{"name": "Write", "input": {"path": "out.txt",
                                                                "content": "{{session}}"}}]},
                   {"tool_calls": [{"name": "complete_step",
                                    "input": {"notes": "wrote {{goal}}",
                                              "context": {"n": "{{goal}}"}}}]}], f)
    res = {"repo_files": files}
    fleet = Fleet("bench-dl")
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("bw1", 1, ONE_STEP, "--workflows", BENCH_WF)
        fleet.wait_workers(1)
        c = fleet.client()
        spec = json.dumps({"repo": "file://" + big})
        warm = c.spawn("bench-one-step", "warm", workspace=spec)
        fleet.wait_completed([warm], 600)
        print("delivery: mirror warm", file=sys.stderr, flush=True)
        ws, plain = [], []
        for i in range(serial):
            a = c.spawn("bench-one-step", "w%d" % i, workspace=spec)
            b = c.spawn("bench-one-step", "p%d" % i)
            fleet.wait_completed([a, b], 300)
            ws.append(_setup_ms(fleet, a))
            plain.append(_setup_ms(fleet, b))
        res["worktree_from_warm_mirror"] = {
            "sessions": serial, "p50_ms": pct(ws, 50), "p99_ms": pct(ws, 99),
            "plain_dir_p50_ms": pct(plain, 50), "plain_dir_p99_ms": pct(plain, 99),
            "p50_ratio_to_plain": round(pct(ws, 50) / max(1, pct(plain, 50)), 1)}
        c.close()
    finally:
        fleet.stop()
    fleet = Fleet("bench-dl2")
    try:
        fleet.start_redis()
        fleet.start_broker()
        for i in range(2):
            fleet.start_worker("bw%d" % (i + 1), 50, write, "--workflows", BENCH_WF,
                               "--workspace-root", os.path.join(fleet.dir, "ws%d" % i))
        fleet.wait_workers(2)
        c = fleet.client()
        out = {"sessions": concurrent, "workers": 2, "slots": 100}
        for label, kw in (("plain", {}),
                          ("deliver", {"workspace": json.dumps(
                              {"repo": "file://" + small, "auto_commit": True,
                               "deliver": "branch"})})):
            t0 = time.monotonic()
            sids = c.spawn_many(concurrent, "bench-one-step", goal_fmt=label + "%d", **kw)
            fleet.wait_completed(sids, 600)
            if label == "deliver":
                fleet.wait_for(lambda: all(fleet.r.hget("wt:delivery:%s" % s, "state") in
                                           ("done", "failed") for s in sids), 600, "deliveries")
                out["delivered"] = sum(fleet.r.hget("wt:delivery:%s" % s, "state") == "done"
                                       for s in sids)
            wall = time.monotonic() - t0
            print("delivery: %s done in %.1f s" % (label, wall), file=sys.stderr, flush=True)
            out[label + "_wall_s"] = round(wall, 2)
            out[label + "_sessions_per_s"] = round(concurrent / wall, 1)
        out["deliver_to_plain_ratio"] = round(out["deliver_sessions_per_s"] /
                                              out["plain_sessions_per_s"], 3)
        res["concurrent_push"] = out
        c.close()
    finally:
        fleet.stop()
        import shutil
        shutil.rmtree(d, ignore_errors=True)
    try:
        res["load_average_1m"] = os.getloadavg()[0]
    except OSError:
        pass
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--sessions", type=int, default=20000)
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--waiting", type=int, default=1000,
                    help="limits: sessions one worker holds waiting on a slow LLM")
    ap.add_argument("--stream-entries", type=int, default=20000,
                    help="stream: entries XADDed to a redis_stream trigger")
    ap.add_argument("--only", default="", help="comma list: throughput,latency,concurrency,resume,kills,pipeline,console,triggers,stream,broker,curve,partition,replicas,failover,standby,deploy,suites,limits,events,delivery")
    args = ap.parse_args()
    wtfleet.BIN = os.path.join(REPO, args.build, "worktrain")
    os.makedirs(RESULTS, exist_ok=True)
    only = set(filter(None, args.only.split(",")))
    report = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
              "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if not only or "throughput" in only:
        report["throughput"] = bench_throughput(args.sessions)
        print("throughput: %s" % json.dumps(report["throughput"]), flush=True)
    if not only or "latency" in only:
        report["latency"] = bench_latency(args.rate, args.seconds)
        print("latency:    %s" % json.dumps(report["latency"]), flush=True)
    if not only or "concurrency" in only:
        report["concurrency"] = bench_concurrency()
        print("concurrency: %s" % json.dumps(report["concurrency"]), flush=True)
    if not only or "resume" in only:
        report["resume"] = bench_resume()
        print("resume:     %s" % json.dumps(report["resume"]), flush=True)
    if not only or "kills" in only:
        report["throughput_under_kills"] = bench_throughput_under_kills()
        print("kills:      %s" % json.dumps(report["throughput_under_kills"]), flush=True)
    if not only or "console" in only:
        report["console"] = bench_console()
        print("console:    %s" % json.dumps(report["console"]), flush=True)
    if not only or "triggers" in only:
        report["triggers"] = bench_triggers()
        print("triggers:   %s" % json.dumps(report["triggers"]), flush=True)
    if not only or "stream" in only:
        report["stream"] = bench_stream(args.stream_entries)
        print("stream:     %s" % json.dumps(report["stream"]), flush=True)
    if not only or "pipeline" in only:
        report["pipeline"] = bench_pipeline()
        print("pipeline:   %s" % json.dumps(report["pipeline"]), flush=True)
    if not only or "broker" in only:
        report["broker_alone"] = bench_broker_alone(200000)
        print("broker:     %s" % json.dumps(report["broker_alone"]), flush=True)
    if not only or "curve" in only:
        report["curve"] = bench_curve()
        print("curve:      %s" % json.dumps(report["curve"]), flush=True)
    if not only or "replicas" in only:
        report["replicas"] = bench_replicas()
        print("replicas:   %s" % json.dumps(report["replicas"]), flush=True)
    if not only or "failover" in only:
        report["failover"] = bench_failover()
        print("failover:   %s" % json.dumps(report["failover"]), flush=True)
    if not only or "standby" in only:
        report["standby"] = bench_standby()
        print("standby:    %s" % json.dumps(report["standby"]), flush=True)
    if not only or "suites" in only:
        report["suites"] = bench_suites()
        print("suites:     %s" % json.dumps(report["suites"]), flush=True)
    if not only or "limits" in only:
        report["limits"] = bench_limits(min(args.sessions, 5000), args.rate, args.seconds,
                                        args.waiting)
        print("limits:     %s" % json.dumps(report["limits"]), flush=True)
    if "events" in only and "limits" not in only:  # the limits part includes it
        try:  # the rest of limits.json keeps its last figures
            with open(os.path.join(RESULTS, "limits.json")) as f:
                report["limits"] = json.load(f).get("limits") or {}
        except (OSError, ValueError):
            report["limits"] = {}
        report["limits"]["event_writes"] = bench_event_writes()
        for a, v, b, lv in event_write_rows(report["limits"]["event_writes"]):
            print("  %-38s %12s   %-24s %12s   ratio %s"
                  % (a, v, b, lv, round(v / float(lv), 3) if lv else None), flush=True)
        print("events:     %s" % json.dumps(report["limits"]), flush=True)
    if not only or "delivery" in only:
        report["delivery"] = bench_delivery()
        print("delivery:   %s" % json.dumps(report["delivery"]), flush=True)
    if not only or "partition" in only:
        report["partition"] = bench_partition()
        print("partition:  %s" % json.dumps(report["partition"]), flush=True)
    if not only or "deploy" in only:
        report["deploy"] = bench_deploy()
        print("deploy:     %s" % json.dumps(report["deploy"]), flush=True)
    files = {"dispatch.json": ["throughput", "latency", "broker_alone", "curve"],
             "deploy.json": ["deploy"],
             "multihost.json": ["partition"],
             "ha.json": ["replicas", "failover", "standby"],
             "delivery.json": ["delivery"],
             "agent.json": ["concurrency"],
             "reliability.json": ["resume", "throughput_under_kills"],
             "pipeline.json": ["pipeline"],
             "suites.json": ["suites"],
             "console.json": ["console"],
             "triggers.json": ["triggers", "stream"],
             "limits.json": ["limits"]}
    for name, keys in files.items():
        part = {k: report[k] for k in keys if k in report}
        if not part:
            continue
        part.update({"machine": report["machine"], "when": report["when"]})
        try:  # parts not measured this time (--only) keep their last figures
            with open(os.path.join(RESULTS, name)) as f:
                part = dict(json.load(f), **part)
        except (OSError, ValueError):
            pass
        with open(os.path.join(RESULTS, name), "w") as f:
            json.dump(part, f, indent=2)
        print("wrote bench/results/%s" % name)


if __name__ == "__main__":
    main()
