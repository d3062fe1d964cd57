# ctest-timeout: 240
"""redis_stream triggers through a real broker and redis-server (DESIGN.md
section 18):
- a dead consumer's 30 pending entries, half of them already spawned with
  their entry-id key, are claimed: no session twice;
- 2,000 entries (JSON `payload` fields and flat fields) plus malformed ones
  are pushed while the broker is killed -9 twice mid-stream and restarted
  (100 good entries and a malformed one each time while it is dead):
  every good entry becomes exactly one session (its goal names the entry,
  none twice), the pending entries of the killed brokers are claimed again
  (XAUTOCLAIM), the malformed ones (payload not JSON, no goal) are in
  <stream>:deadletter with the reason, and every entry is acknowledged;
- source.redis: a stream on the producer's own Redis feeds the fleet;
- a standby broker on the same Redis reads nothing;
- backpressure: with maxQueueDepth 5 and nothing running, 5 sessions start
  and the rest stay unread until cancelling frees the queue;
- counters on /metrics."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import redis  # noqa: E402
from wtfleet import BIN, WORKFLOWS, Check, Fleet, free_port  # noqa: E402


def ping(r):
    try:
        return r.ping()
    except redis.exceptions.ConnectionError:
        return False

N = 2000
BAD = 20
PRE = 30  # entries a previous broker left pending
DOWN = 100  # entries pushed while the broker is dead, after each kill


def entry(i):
    """Good entry i: every 10th with flat fields, the others a JSON payload."""
    if i % 10 == 3:
        return {"task": "job %d" % i, "n": str(i)}
    return {"payload": '{"task": "job %d", "n": %d}' % (i, i)}


def bad_entry(b, i):
    """Malformed entry b: payload not JSON (odd b) or no task (empty goal)."""
    return {"payload": '{"task": "broken' if b % 2 else '{"n": %d}' % i, "k": "bad-%d" % b}

TRIGGERS = """\
triggers:
  - id: jobs
    provider: redis_stream
    workflowId: two-step
    goalTemplate: "{{$.task}}"
    contextMapping: {n: $.n}
    source: {stream: "jobs:in", group: worktrain, claimIdleSeconds: 2}
  - id: bp
    provider: redis_stream
    workflowId: two-step
    goalTemplate: "bp {{$.n}}"
    maxQueueDepth: 5
    source: {stream: "bp:in", group: worktrain, claimIdleSeconds: 2}
  - id: ext
    provider: redis_stream
    workflowId: two-step
    goalTemplate: "ext {{$.n}}"
    source: {stream: "ext:in", group: worktrain, redis: "$WT_TEST_EXT_REDIS"}
"""


def group_done(fleet, stream, total):
    """All total entries delivered to the group and acknowledged."""
    try:
        g = [x for x in fleet.r.xinfo_groups(stream) if x["name"] == "worktrain"]
    except Exception:
        return False
    return bool(g) and g[0]["pending"] == 0 and g[0].get("entries-read", 0) >= total and \
        g[0].get("lag", 1) == 0


def main():
    check = Check()
    fleet = Fleet("trig-stream")  # the broker is killed, not Redis
    try:
        fleet.start_redis()
        path = os.path.join(fleet.dir, "triggers.yml")
        with open(path, "w") as f:
            f.write(TRIGGERS)
        # A producer's own Redis (source.redis), apart from the fleet's.
        ext_port = free_port()
        fleet._spawn("redis-ext", ["/usr/bin/redis-server", "--port", str(ext_port), "--bind",
                                   "127.0.0.1", "--save", "", "--appendonly", "no"])
        ext = redis.Redis(host="127.0.0.1", port=ext_port, decode_responses=True)
        fleet.wait_for(lambda: ping(ext), 10, "the producer's redis")
        os.environ["WT_TEST_EXT_REDIS"] = "redis://127.0.0.1:%d/0" % ext_port
        args = ("--triggers", path, "--workflows", WORKFLOWS)

        # A broker that died before this one: it read the first PRE entries
        # (pending, never acknowledged) and had already started the sessions
        # of half of them (SPAWN with the entry-id key, then died before XACK).
        fleet.r.xgroup_create("jobs:in", "worktrain", id="0", mkstream=True)
        ids = [fleet.r.xadd("jobs:in", {"payload": '{"task": "job %d", "n": %d}' % (i, i)})
               for i in range(PRE)]
        got = fleet.r.xreadgroup("worktrain", "dead-broker", {"jobs:in": ">"}, count=PRE)
        check(len(got[0][1]) == PRE, "the dead consumer holds %d pending entries" % PRE)
        fleet.start_broker(*args)
        c = fleet.client()
        pre = {"job %d" % i: c.spawn("two-step", "job %d" % i, key="rs:jobs:%s" % ids[i])
               for i in range(0, PRE, 2)}
        c.close()

        # The producer: good entries (every 10th with flat fields) and, mixed in,
        # malformed ones (payload not JSON; no task -> empty goal).
        # The last 2 x DOWN good entries (and two bad ones) are pushed while the
        # broker is dead, between each kill and the restart.
        def produce():
            pipe = fleet.r.pipeline(transaction=False)
            bad = 0
            for i in range(PRE, N - 2 * DOWN):
                pipe.xadd("jobs:in", entry(i))
                if i % (N // BAD) == 37 and bad < BAD - 2:
                    pipe.xadd("jobs:in", bad_entry(bad, i))
                    bad += 1
                if i % 50 == 49:
                    pipe.execute()
                    time.sleep(0.05)  # a producer spread over the kills, not a race
            pipe.execute()

        th = threading.Thread(target=produce)
        th.start()
        pending_at_kill = []
        for kill in range(2):
            # kill -9 once the broker has started sessions since its (re)start
            base = fleet.r.zcard("wt:sessions")
            fleet.wait_for(lambda: fleet.r.zcard("wt:sessions") >= base + 150, 60,
                           "sessions before kill %d" % (kill + 1))
            fleet.kill("broker")
            fleet.procs["broker"].wait(10)
            pending = fleet.r.xpending("jobs:in", "worktrain")["pending"]
            pending_at_kill.append(pending)
            print("kill -9 #%d at %d sessions, %d entries pending, %d in the stream" %
                  (kill + 1, fleet.r.zcard("wt:sessions"), pending, fleet.r.xlen("jobs:in")))
            first = N - 2 * DOWN + kill * DOWN
            pipe = fleet.r.pipeline(transaction=False)
            for i in range(first, first + DOWN):
                pipe.xadd("jobs:in", entry(i))
            pipe.xadd("jobs:in", bad_entry(BAD - 2 + kill, first))
            pipe.execute()
            check(fleet.procs["broker"].poll() is not None,
                  "entries %d..%d pushed while the broker is dead (kill %d)"
                  % (first, first + DOWN - 1, kill + 1))
            fleet.start_broker(*args)
        th.join(60)
        try:
            fleet.wait_for(lambda: group_done(fleet, "jobs:in", N + BAD), 120,
                           "every entry read and acknowledged")
        except TimeoutError:
            print("group:", fleet.r.xinfo_groups("jobs:in"), "len", fleet.r.xlen("jobs:in"),
                  fleet.r.xpending("jobs:in", "worktrain"))
            raise

        sids = fleet.r.zrange("wt:sessions", 0, -1)
        jobs = [s for s in sids if not (fleet.r.hget("wt:session:%s" % s, "goal") or
                                        "").startswith("bp ")]
        goals = [fleet.r.hget("wt:session:%s" % s, "goal") for s in jobs]
        want = ["job %d" % i for i in range(N)]
        check(len(jobs) == N, "%d sessions for %d good entries (%d)" % (N, N, len(jobs)))
        check(sorted(goals) == sorted(want) and len(set(goals)) == N,
              "each entry's session once, none twice (%d distinct goals)" % len(set(goals)))
        by_goal = dict(zip(goals, jobs))
        check(all(by_goal.get(g) == sid for g, sid in pre.items()),
              "entries whose session a dead broker had started kept that session (claimed, "
              "SPAWN with the entry id answered with it)")
        ctxs = [fleet.r.hget("wt:session:%s" % s, "context") for s in jobs[-5:]]
        check(all('"n"' in (c or "") for c in ctxs), "contextMapping applied (%r)" % ctxs[:2])
        dead = fleet.r.xrange("jobs:in:deadletter")
        reasons = [f.get("reason", "") for _, f in dead]
        ks = set(f.get("k") for _, f in dead)
        check(ks == set("bad-%d" % b for b in range(BAD)),
              "every malformed entry in the dead-letter stream (%d, %d distinct)"
              % (len(dead), len(ks)))
        check(all(f.get("id") and f.get("trigger") == "jobs" for _, f in dead) and
              any("payload' is not JSON" in r for r in reasons) and
              any("goal is empty" in r for r in reasons),
              "dead letters carry id, trigger and the reason (%r)" % sorted(set(reasons))[:3])
        m = fleet.metrics()
        claimed = [ln for ln in m.splitlines()
                   if ln.startswith('wt_stream_entries_total{trigger="jobs",outcome="claimed"}')]
        print("after the restarts:", claimed)
        # the entries the second broker held when killed were only acknowledged
        # after the third one took them over
        n_claimed = int(float(claimed[0].split()[-1])) if claimed else 0
        check(n_claimed >= pending_at_kill[1],
              "the last broker claimed the %d entries the killed one left pending (%d)"
              % (pending_at_kill[1], n_claimed))

        # source.redis: entries on another Redis; sessions in the fleet's.
        for i in range(5):
            ext.xadd("ext:in", {"n": str(i)})
        ext.xadd("ext:in", {"payload": "{nope"})
        exts = lambda: sorted(fleet.r.hget("wt:session:%s" % s, "goal") or ""  # noqa: E731
                              for s in fleet.r.zrange("wt:sessions", 0, -1)
                              if (fleet.r.hget("wt:session:%s" % s, "goal") or "").startswith("ext "))
        fleet.wait_for(lambda: len(exts()) == 5 and ext.xlen("ext:in:deadletter") == 1, 30,
                       "sessions from the producer's own Redis")
        check(exts() == ["ext %d" % i for i in range(5)] and
              ext.xpending("ext:in", "worktrain")["pending"] == 0 and
              not fleet.r.exists("ext:in:deadletter"),
              "source.redis: 5 sessions, dead letter and acks on the producer's Redis")

        # A standby broker (same Redis and triggers) reads nothing: entries it
        # read would wait claimIdleSeconds before the active broker took them.
        port2 = free_port()
        standby = fleet._spawn("broker2", [
            BIN, "broker", "--clients", "ipc://%s/c2.sock" % fleet.dir, "--workers",
            "ipc://%s/w2.sock" % fleet.dir, "--redis", fleet.redis_url, "--http",
            "127.0.0.1:%d" % port2] + list(args))

        def standby_waits():
            import urllib.request
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port2, timeout=5) as r:
                    m2 = r.read().decode()
            except OSError:
                return False
            return 'wt_stream_entries_total{trigger="bp",outcome="standby"} 0' not in m2 and \
                'wt_stream_entries_total{trigger="bp",outcome="standby"}' in m2
        fleet.wait_for(standby_waits, 30, "the standby broker's readers waiting")

        # Backpressure: 30 entries, maxQueueDepth 5, nothing running.
        for i in range(30):
            fleet.r.xadd("bp:in", {"n": str(i)})
        bp = lambda: [s for s in fleet.r.zrange("wt:sessions", 0, -1)  # noqa: E731
                      if (fleet.r.hget("wt:session:%s" % s, "goal") or "").startswith("bp ")]
        fleet.wait_for(lambda: len(bp()) == 5, 30, "5 bp sessions")
        fleet.wait_for(lambda: 'wt_stream_entries_total{trigger="bp",outcome="paused"} 0'
                       not in fleet.metrics(), 30, "the bp reader pausing")
        lag = [g for g in fleet.r.xinfo_groups("bp:in") if g["name"] == "worktrain"][0]["lag"]
        check(len(bp()) == 5 and lag >= 25 - 5,
              "maxQueueDepth 5: five sessions, the rest left in the stream (lag %s)" % lag)
        first = bp()
        for s in first:
            r = fleet.run_cli("cancel", s)
            check(r.returncode == 0, "cancel %s (%s)" % (s, r.stderr.strip()[-200:]))
        fleet.wait_for(lambda: len(bp()) >= 10, 30, "the reader resuming after cancels")
        check(len(bp()) == 10, "five more once the queue drained (%d)" % len(bp()))

        mine = "-%d-" % standby.pid
        consumers = [c["name"] for st in ("bp:in", "jobs:in")
                     for c in fleet.r.xinfo_consumers(st, "worktrain")]
        check(not any(mine in c for c in consumers),
              "the standby broker never joined the consumer group (%r)" % consumers)
        m = fleet.metrics()
        check('wt_stream_entries_total{trigger="jobs",outcome="deadletter"}' in m,
              "wt_stream_entries_total on /metrics")
    except Exception:
        fleet.dump_logs()
        raise
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
