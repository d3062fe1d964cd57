# ctest-timeout: 300
"""bench_load (bench/bench_load.c, WorkTrain's own load client) against a
real fleet: redis-server, broker, 2 workers x 4 slots running one-step
sessions with the scripted provider. 200 sessions in closed loop (--window)
and 200 in open loop (--rate): its JSON is checked against the real Redis
(the session ids it reports exist, each has exactly one session_completed,
the run made exactly that many sessions), its percentiles against its own
per-session rows, and its per-session times against what must hold
causally. A re-run with the same idempotency keys is answered `existing`
and, reading wt:events from 0, finds each completion once; a
session_completed added by hand makes it report a duplicate (exit 1); read
from the end, the old sessions are missing (exit 1). SPAWNs refused
UNAVAILABLE (--redis-min-replicas 1, no replica yet) are re-sent with the
same key until a replica confirms them, and no session is made twice.
With CURVE (loopback TCP) it runs with --curve and says what is missing
without it.
Bad endpoints and a refused workflow end it with exit 2 and a message
naming what is wrong."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BENCH_LOAD as EXE, BENCH_WF, BIN, ONE_STEP, Check, Fleet, free_port  # noqa: E402

N = 200


def load(fleet, *args, clients=None, redis_url=None, timeout=120):
    """Runs bench_load; (exit code, JSON written to --out or None, stderr)."""
    out = os.path.join(fleet.dir, "load-%d.json" % time.monotonic_ns())
    argv = [EXE, "--clients", clients or fleet.clients_ep, "--redis", redis_url or fleet.redis_url,
            "--out", out, "--per-session"] + list(args)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    doc = None
    if os.path.exists(out):
        with open(out) as f:
            doc = json.load(f)
    return r.returncode, doc, r.stderr


def rows(doc):
    fields = doc["per_session"]["fields"]
    return [dict(zip(fields, row)) for row in doc["per_session"]["rows"]]


def nearest_rank(values, p):
    s = sorted(values)
    return s[int(p * (len(s) - 1) + 0.5)]


def check_run(check, fleet, doc, what, n):
    """Checks one run's JSON against itself and the real Redis; returns its rows."""
    rs = rows(doc)
    check(doc["sessions"] == n and doc["spawned"] == n and doc["completed"] == n,
          "%s: %d sessions spawned and completed (%s/%s)"
          % (what, n, doc["spawned"], doc["completed"]))
    check(doc["missing"] == 0 and doc["duplicated"] == 0 and doc["duplicate_events"] == 0,
          "%s: 0 missing, 0 duplicated" % what)
    sids = [r["session"] for r in rs]
    check(len(rs) == n and len(set(sids)) == n and all(s and len(s) == 26 for s in sids),
          "%s: %d distinct session ids" % (what, n))
    # the real Redis: each session exists, completed, with exactly one session_completed
    pipe = fleet.r.pipeline()
    for s in sids:
        pipe.hget("wt:session:%s" % s, "status")
        pipe.xrange("wt:session:%s:events" % s)
    got = pipe.execute()
    statuses = got[0::2]
    ends = [sum(1 for _, f in evs if f.get("type") == "session_completed") for evs in got[1::2]]
    check(all(st == "completed" for st in statuses), "%s: every reported session is completed "
          "in Redis (%s)" % (what, sorted(set(statuses), key=str)))
    check(all(e == 1 for e in ends), "%s: each has exactly one session_completed in its stream"
          % what)
    check(all(r["completions"] == 1 for r in rs), "%s: each row saw one completion" % what)
    # its percentiles are those of its rows (nearest rank), ordered
    for key, mark in (("spawn_to_spawned_us", "spawned_us"), ("spawn_to_started_us", "started_us"),
                      ("spawn_to_completed_us", "completed_us")):
        lat = [r[mark] - r["sent_us"] for r in rs]
        st = doc[key]
        check(st["n"] == n and st["p50"] == nearest_rank(lat, 0.5)
              and st["p99"] == nearest_rank(lat, 0.99) and st["max"] == max(lat),
              "%s: %s p50/p99/max = its rows' (%s)" % (what, key, st))
        check(0 < st["p50"] <= st["p99"] <= st["max"], "%s: %s p50 <= p99 <= max" % (what, key))
    # causal order per session: sent < SPAWNED, sent < started <= completed
    check(all(0 <= r["sent_us"] < r["spawned_us"] and r["sent_us"] < r["started_us"]
              <= r["completed_us"] for r in rs),
          "%s: per session sent < SPAWNED and sent < started <= completed" % what)
    # spawn->started >= spawn->SPAWNED, except where the session_started was
    # seen before its SPAWNED (the broker sends ASSIGN before SPAWNED, so it
    # can happen on a busy machine): exactly the ones the JSON counts
    early = sum(1 for r in rs if r["started_us"] < r["spawned_us"])
    check(early == doc["started_before_spawned"],
          "%s: spawn_to_started >= spawn_to_spawned for all but the %d the JSON counts (%d)"
          % (what, doc["started_before_spawned"], early))
    check(doc["sessions_per_s"] > 0 and doc["client_cpu_ms_per_session"] > 0,
          "%s: sessions/s %s, client cpu %s ms/session"
          % (what, doc["sessions_per_s"], doc["client_cpu_ms_per_session"]))
    check("upper bound" in doc["note"], "%s: the note says spawn->started is an upper bound" % what)
    return rs


def main():
    check = Check()
    if not os.path.exists(EXE):
        check(False, "bench_load is built at %s" % EXE)
        check.done()
    fleet = Fleet("bench-load")
    try:
        fleet.start_redis()
        fleet.start_broker()
        for w in ("l1", "l2"):
            fleet.start_worker(w, 4, ONE_STEP, "--workflows", BENCH_WF)
        fleet.wait_workers(2)

        before = fleet.r.zcard("wt:sessions")
        rc, doc, err = load(fleet, "--sessions", str(N), "--window", "50", "--key-prefix", "tw")
        check(rc == 0 and doc is not None, "window: exit 0 (%d %s)" % (rc, err.strip()[-300:]))
        window_rows = check_run(check, fleet, doc, "window", N)
        check(doc["mode"] == "window" and doc["window"] == 50, "window: mode and window reported")
        check(fleet.r.zcard("wt:sessions") - before == N, "window: exactly %d sessions made" % N)

        before = fleet.r.zcard("wt:sessions")
        rate = 200
        rc, doc, err = load(fleet, "--sessions", str(N), "--rate", str(rate), "--key-prefix", "tr")
        check(rc == 0 and doc is not None, "rate: exit 0 (%d %s)" % (rc, err.strip()[-300:]))
        rate_rows = check_run(check, fleet, doc, "rate", N)
        check(doc["mode"] == "rate" and doc["rate_per_s"] == rate, "rate: mode and rate reported")
        check(fleet.r.zcard("wt:sessions") - before == N, "rate: exactly %d sessions made" % N)
        # open loop: SPAWN i never leaves before its slot i/rate on the schedule
        check(all(r["sent_us"] >= int(i * 1e6 / rate) for i, r in enumerate(rate_rows)),
              "rate: no SPAWN sent before its time on the schedule")
        check(sorted(rate_rows, key=lambda r: r["sent_us"]) == rate_rows,
              "rate: SPAWNs sent in order")

        # the same keys again, reading wt:events from its start: every SPAWN
        # is answered existing with the first run's session, each completion
        # found once
        before = fleet.r.zcard("wt:sessions")
        rc, doc, err = load(fleet, "--sessions", str(N), "--window", "100", "--key-prefix", "tw",
                            "--from", "0")
        check(rc == 0 and doc and doc["existing"] == N and doc["duplicated"] == 0,
              "same keys, --from 0: all %d existing, none duplicated (%d %s)"
              % (N, rc, err.strip()[-300:]))
        check(doc and [r["session"] for r in rows(doc)] == [r["session"] for r in window_rows],
              "same keys: the first run's session ids, in order")
        check(fleet.r.zcard("wt:sessions") == before, "same keys: no session made")

        # a second session_completed for one session is reported, exit 1
        victim = window_rows[7]["session"]
        fleet.r.xadd("wt:events", {"type": "session_completed", "session": victim,
                                   "data": '{"outcome":"success"}'})
        rc, doc, err = load(fleet, "--sessions", str(N), "--window", "100", "--key-prefix", "tw",
                            "--from", "0")
        check(rc == 1 and doc and doc["duplicated"] == 1 and doc["duplicate_events"] == 1
              and rows(doc)[7]["completions"] == 2,
              "a duplicated session_completed: exit 1, duplicated 1 (%d %s)"
              % (rc, doc and doc["duplicated"]))
        check("more than one session_completed" in err, "and says so: %s" % err.strip())

        # read from the end, the old sessions' completions are not seen: missing
        rc, doc, err = load(fleet, "--sessions", "20", "--window", "20", "--key-prefix", "tw",
                            "--timeout", "2")
        check(rc == 1 and doc and doc["missing"] == 20 and doc["completed"] == 0,
              "completions never seen: exit 1, 20 missing (%d %s)" % (rc, doc and doc["missing"]))
        check("timed out" in err and "20 missing" in err, "and says so: %s" % err.strip())

        # a refused workflow ends the run with the broker's reason
        rc, doc, err = load(fleet, "--sessions", "5", "--workflow", "no-such-wf")
        check(rc == 2 and "refused" in err and "no-such-wf" in err,
              "unknown workflow: exit 2 naming it (%d %s)" % (rc, err.strip()[:200]))

        # nobody listening at --clients
        nobody = "ipc://%s/nobody.sock" % fleet.dir
        rc, doc, err = load(fleet, "--sessions", "5", "--timeout", "2", clients=nobody)
        check(rc == 2 and "no broker at --clients" in err and nobody in err,
              "no broker: exit 2 naming the endpoint (%d %s)" % (rc, err.strip()))
        # bad --redis: not a URL, and nothing listening
        rc, doc, err = load(fleet, "--sessions", "5", redis_url="http://127.0.0.1:1")
        check(rc == 2 and "--redis" in err and "http://127.0.0.1:1" in err,
              "bad --redis URL: exit 2 naming it (%d %s)" % (rc, err.strip()))
        dead = "redis://127.0.0.1:%d/0" % free_port()
        rc, doc, err = load(fleet, "--sessions", "5", redis_url=dead)
        check(rc == 2 and "cannot connect" in err and dead in err,
              "no Redis there: exit 2 naming it (%d %s)" % (rc, err.strip()))
    except Exception:
        fleet.dump_logs()
        raise
    finally:
        fleet.stop()

    # retryable refusals: UNAVAILABLE until a replica confirms the writes
    fleet = Fleet("bench-load-retry")
    try:
        fleet.start_redis()
        fleet.start_broker("--redis-min-replicas", "1")
        fleet.start_worker("r1", 4, ONE_STEP, "--workflows", BENCH_WF)
        fleet.wait_workers(1)
        out = os.path.join(fleet.dir, "retry.json")
        p = subprocess.Popen([EXE, "--clients", fleet.clients_ep, "--redis", fleet.redis_url,
                              "--sessions", "20", "--window", "20", "--timeout", "60", "--out", out,
                              "--per-session"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        log = os.path.join(fleet.dir, "broker.log")
        fleet.wait_for(lambda: "answering spawns UNAVAILABLE" in open(log, errors="replace").read(),
                       30, "the broker refusing spawns UNAVAILABLE")
        rport = free_port()
        fleet._spawn("replica", ["/usr/bin/redis-server", "--port", str(rport), "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", fleet.dir,
                                 "--replicaof", "127.0.0.1", str(fleet.redis_port)])
        _, err = p.communicate(timeout=90)
        doc = json.load(open(out)) if os.path.exists(out) else None
        check(p.returncode == 0 and doc is not None,
              "retry: exit 0 once a replica confirms (%d %s)" % (p.returncode, err.strip()[-300:]))
        if doc:
            check(doc["retryable_refusals"] >= 1 and doc["completed"] == 20 and doc["missing"] == 0
                  and doc["duplicated"] == 0,
                  "retry: %d UNAVAILABLE re-sent, all 20 completed once"
                  % doc["retryable_refusals"])
            sids = [r["session"] for r in rows(doc)]
            check(len(set(sids)) == 20 and fleet.r.zcard("wt:sessions") == 20,
                  "retry: the same key never made a second session (%d in Redis)"
                  % fleet.r.zcard("wt:sessions"))
    except Exception:
        fleet.dump_logs()
        raise
    finally:
        if "p" in locals() and p.poll() is None:
            p.kill()
            p.wait()
        fleet.stop()

    # CURVE: a broker on loopback TCP that only takes allowed client keys
    fleet = Fleet("bench-load-curve")
    try:
        fleet.start_redis()
        fleet.clients_ep = "tcp://127.0.0.1:%d" % free_port()
        fleet.workers_ep = "tcp://127.0.0.1:%d" % free_port()
        keys, aw, ac = (os.path.join(fleet.dir, d) for d in ("keys", "aw", "ac"))
        for d in (keys, aw, ac):
            os.makedirs(d)
        for name in ("broker", "client", "worker"):
            subprocess.run([BIN, "keygen", name, "--dir", keys], check=True, capture_output=True)
        os.link(os.path.join(keys, "worker.pub"), os.path.join(aw, "worker.pub"))
        os.link(os.path.join(keys, "client.pub"), os.path.join(ac, "client.pub"))
        fleet._spawn("broker", [BIN, "broker", "--clients", fleet.clients_ep, "--workers",
                                fleet.workers_ep, "--redis", fleet.redis_url, "--http",
                                "127.0.0.1:%d" % fleet.http_port, "--curve-key",
                                os.path.join(keys, "broker.key"), "--allow-workers", aw,
                                "--allow-clients", ac])
        fleet.wait_for(lambda: "broker up" in open(os.path.join(fleet.dir, "broker.log")).read(),
                       10, "broker up")
        fleet.start_worker("c1", 4, ONE_STEP, "--workflows", BENCH_WF, "--curve-key",
                           os.path.join(keys, "worker.key"), "--broker-pub",
                           os.path.join(keys, "broker.pub"))
        fleet.wait_for(lambda: "worker c1 ready" in open(os.path.join(fleet.dir, "broker.log")).read(),
                       20, "worker c1 ready")
        rc, doc, err = load(fleet, "--sessions", "50", "--window", "50", "--curve", keys)
        check(rc == 0 and doc and doc["completed"] == 50 and doc["missing"] == 0,
              "CURVE: 50 sessions with --curve (%d %s)" % (rc, err.strip()[-300:]))
        rc, doc, err = load(fleet, "--sessions", "5", "--timeout", "5")
        check(rc == 2 and "refused" in err and "--curve" in err,
              "CURVE broker, no --curve: exit 2 saying so (%d %s)" % (rc, err.strip()))
    except Exception:
        fleet.dump_logs()
        raise
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
