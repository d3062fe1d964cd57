#!/usr/bin/python3
"""make bench - measures WorkTrain on this machine and prints the figures to
stdout and to bench/results/<name>.json. Nothing here asserts a timing.

  dispatch.json     end-to-end throughput (20,000 one-step sessions, 2 workers x
                    8 slots, scripted provider with no delay), spawn->started
                    latency at a fixed 500 spawns/s for 10 s, broker-alone
                    dispatches/s with synthetic workers, and peak RSS; `curve`:
                    broker-alone dispatches/s and spawn->assigned p99 with CURVE
                    off and on over loopback TCP, and their ratios.
  agent.json        one worker holding 500 sessions open against a fake LLM
                    answering after 1 s: RSS per open session and CPU.
  reliability.json  kill -9 of a worker -> session_resumed elsewhere (20 kills),
                    and throughput while a worker is killed every 5 s.
  console.json      `worktrain console` over 10,000 finished sessions: latency of
                    a page of /api/sessions, a filter matching nothing (bounded
                    scan), /api/stats, a session detail, /metrics on the broker.
  triggers.json     signed webhooks POSTed one after another to the broker:
                    POST -> 202 latency and webhooks/s (each one a durable SPAWN).
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
from wtfleet import Fleet  # noqa: E402

RESULTS = os.path.join(HERE, "results")
BENCH_WF = os.path.join(HERE, "workflows")
ONE_STEP = os.path.join(HERE, "scripts", "one-step.json")


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


def fleet_for_bench(name, slots=8, workers=2, script=ONE_STEP):
    fleet = Fleet(name)
    fleet.start_redis()
    fleet.start_broker()
    for i in range(workers):
        fleet.start_worker("bw%d" % (i + 1), slots, script, "--workflows", BENCH_WF)
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


def bench_latency(rate, seconds):
    fleet = fleet_for_bench("bench-lat")
    try:
        c = fleet.client()
        n = rate * seconds
        sids = []
        t0 = time.monotonic()
        for i in range(n):
            due = t0 + i / float(rate)
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            c.send("SPAWN", {"workflow": "bench-one-step", "goal": "l%d" % i})
            while c.sock.poll(0):
                cmd, body = c.recv(1)
                sids.append(body["session"])
        while len(sids) < n:
            cmd, body = c.recv(10)
            sids.append(body["session"])
        fleet.wait_completed(sids, timeout_s=120)
        c.close()
        lat = []
        pipe = fleet.r.pipeline()
        for s in sids:
            pipe.hmget("wt:session:%s" % s, "created_ms", "started_ms")
        for created, started in pipe.execute():
            lat.append(int(started) - int(created))
        return {
            "rate_per_s": rate,
            "seconds": seconds,
            "sessions": n,
            "spawn_to_started_ms": {"p50": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat),
                                    "mean": round(statistics.mean(lat), 2)},
            "note": "created_ms and started_ms are wall-clock milliseconds (1 ms resolution)",
        }
    finally:
        fleet.stop()


def bench_broker_alone(n):
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
                            "--sessions", str(n), "--workers-count", "4", "--out", out],
                           capture_output=True, text=True, timeout=600)
        res = json.load(open(out)) if os.path.exists(out) else {"error": r.stderr[-500:]}
        res["broker_peak_rss_kb"] = rss_kb(fleet.procs["broker"].pid)
        with open("/proc/%d/stat" % fleet.procs["broker"].pid) as f:
            parts = f.read().split(")")[1].split()
        res["broker_cpu_s"] = round((int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK"), 2)
        return res
    finally:
        fleet.stop()


def bench_curve(n):
    """The broker alone (bench_dispatch) on loopback TCP with CURVE off and then
    on, in the same run: dispatches/s and spawn->assigned p50/p99 each way,
    and the on/off ratios (the figures that matter: the machine cancels out)."""
    exe = os.path.join(os.path.dirname(wtfleet.BIN), "bench", "bench_dispatch")
    if not os.path.exists(exe):
        return {"skipped": "bench_dispatch not built"}
    res = {}
    for mode in ("off", "on"):
        fleet = Fleet("bench-curve-" + mode)
        try:
            fleet.start_redis()
            fleet.clients_ep = "tcp://127.0.0.1:%d" % wtfleet.free_port()
            fleet.workers_ep = "tcp://127.0.0.1:%d" % wtfleet.free_port()
            extra, bargs = [], []
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
                extra = ["--curve-key", os.path.join(keys, "broker.key"), "--allow-workers", aw,
                         "--allow-clients", ac]
                bargs = ["--curve", keys]
            fleet._spawn("broker", [wtfleet.BIN, "broker", "--clients", fleet.clients_ep,
                                    "--workers", fleet.workers_ep, "--redis", fleet.redis_url,
                                    "--http", "127.0.0.1:%d" % fleet.http_port] + extra)
            fleet.wait_for(lambda: "broker up" in open(os.path.join(fleet.dir, "broker.log")).read(),
                           10, "broker up")
            # saturated (2000 SPAWNs in flight) for throughput, then a closed
            # window of 64 unassigned sessions for latency without queueing
            for kind, window in (("saturated", ["--window", "2000"]),
                                 ("closed", ["--window", "64", "--closed"])):
                out = os.path.join(fleet.dir, "curve-%s.json" % kind)
                r = subprocess.run([exe, "--clients", fleet.clients_ep, "--workers",
                                    fleet.workers_ep, "--sessions", str(n), "--workers-count", "4",
                                    "--out", out] + window + bargs,
                                   capture_output=True, text=True, timeout=600)
                res["%s_%s" % (mode, kind)] = (json.load(open(out)) if os.path.exists(out)
                                               else {"error": r.stderr[-500:]})
        finally:
            fleet.stop()
    try:
        res["ratio_dispatches_per_s"] = round(res["on_saturated"]["dispatches_per_s"] /
                                              res["off_saturated"]["dispatches_per_s"], 3)
        res["ratio_spawn_to_assigned_p99"] = round(
            res["on_closed"]["spawn_to_assigned_ms"]["p99"] /
            res["off_closed"]["spawn_to_assigned_ms"]["p99"], 3)
    except (KeyError, ZeroDivisionError):
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


def bench_concurrency(n=500, delay_ms=1000):
    """One worker, n slots, a fake LLM answering after delay_ms: RSS per open session, CPU."""
    sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
    from test_providers import start_fake
    import tempfile
    d = tempfile.mkdtemp(prefix="wt-bench-conc-")
    fake, base = start_fake(d, "--delay-ms", str(delay_ms), "--default",
                            '{"reply": {"tool_calls": [{"name": "complete_step", "input": '
                            '{"notes": "n", "context": {"answer": "a"}}}]}}')
    fleet = Fleet("bench-conc")
    try:
        fleet.start_redis()
        fleet.r.config_set("maxclients", 4000)
        fleet.start_broker()
        w = fleet.start_worker("big", n, None, "--provider", "openai", "--base-url", base,
                               "--workflows", BENCH_WF)
        fleet.wait_workers(1)
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
    ap.add_argument("--only", default="", help="comma list: throughput,latency,concurrency,resume,kills,pipeline,console,triggers,broker,curve,partition,replicas,delivery")
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
    if not only or "pipeline" in only:
        report["pipeline"] = bench_pipeline()
        print("pipeline:   %s" % json.dumps(report["pipeline"]), flush=True)
    if not only or "broker" in only:
        report["broker_alone"] = bench_broker_alone(200000)
        print("broker:     %s" % json.dumps(report["broker_alone"]), flush=True)
    if not only or "curve" in only:
        report["curve"] = bench_curve(30000)
        print("curve:      %s" % json.dumps(report["curve"]), flush=True)
    if not only or "replicas" in only:
        report["replicas"] = bench_replicas()
        print("replicas:   %s" % json.dumps(report["replicas"]), flush=True)
    if not only or "delivery" in only:
        report["delivery"] = bench_delivery()
        print("delivery:   %s" % json.dumps(report["delivery"]), flush=True)
    if not only or "partition" in only:
        report["partition"] = bench_partition()
        print("partition:  %s" % json.dumps(report["partition"]), flush=True)
    files = {"dispatch.json": ["throughput", "latency", "broker_alone", "curve"],
             "multihost.json": ["partition"],
             "ha.json": ["replicas"],
             "delivery.json": ["delivery"],
             "agent.json": ["concurrency"],
             "reliability.json": ["resume", "throughput_under_kills"],
             "pipeline.json": ["pipeline"],
             "console.json": ["console"],
             "triggers.json": ["triggers"]}
    for name, keys in files.items():
        part = {k: report[k] for k in keys if k in report}
        if not part:
            continue
        part.update({"machine": report["machine"], "when": report["when"]})
        with open(os.path.join(RESULTS, name), "w") as f:
            json.dump(part, f, indent=2)
        print("wrote bench/results/%s" % name)


main()
