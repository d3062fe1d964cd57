# ctest-timeout: 480
"""Redis Sentinel failover under load (issue 14, must-show 1).

A master, one replica (--replicaof) and three sentinels (redis-server
--sentinel) on free loopback ports; the broker and two workers take a
redis-sentinel:// URL. A client spawns 300 sessions (1,000 with
--redis-min-replicas 1) with
idempotency keys (retrying refused ones); after a third are acknowledged the
master is killed with SIGKILL. The sentinels promote the replica, the fleet
re-resolves, and the checker prints `submitted completed lost duplicated`.
Asserts: duplicated 0, and sessions acknowledged after the kill complete (the
fleet keeps working on the new master). Lost acknowledged sessions are
printed, not hidden: replication is asynchronous without --redis-min-replicas.
Also checks the bad-input paths: a master name the sentinels do not know,
and no reachable sentinel, give clear errors naming the address and no crash.
"""
import os
import signal
import subprocess
import sys
import threading
import time

import redis
import redis.sentinel

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, SCRIPTS, Check, Fleet, free_port  # noqa: E402

MASTER = "wtmaster"
N = 300


class SentinelFleet(Fleet):
    def start_ha(self):
        self.mport, self.rport = free_port(), free_port()
        self.sports = [free_port() for _ in range(3)]
        for key, port, extra in (("redis", self.mport, []),
                                 ("replica", self.rport,
                                  ["--replicaof", "127.0.0.1", str(self.mport)])):
            data = os.path.join(self.dir, key)
            os.makedirs(data, exist_ok=True)
            self._spawn(key, ["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1",
                              "--dir", data, "--save", "", "--appendonly", "no"] + extra)
        for i, port in enumerate(self.sports):
            conf = os.path.join(self.dir, "sentinel%d.conf" % i)
            with open(conf, "w") as f:
                f.write("port %d\nbind 127.0.0.1\ndir %s\n"
                        "sentinel monitor %s 127.0.0.1 %d 2\n"
                        "sentinel down-after-milliseconds %s 2000\n"
                        "sentinel failover-timeout %s 6000\n"
                        % (port, self.dir, MASTER, self.mport, MASTER, MASTER))
            self._spawn("sentinel%d" % i, ["/usr/bin/redis-server", conf, "--sentinel"])
        self.sentinel = redis.sentinel.Sentinel([("127.0.0.1", p) for p in self.sports],
                                                socket_timeout=2)
        # wait (bounded) until the replica is in sync and every sentinel knows the master
        direct = redis.Redis(port=self.rport, decode_responses=True, socket_timeout=2)
        self.wait_for(lambda: _try(lambda: direct.info("replication")["master_link_status"]
                                   == "up"), 20, "replica in sync")
        for p in self.sports:
            s = redis.Redis(port=p, decode_responses=True, socket_timeout=2)
            # a failover needs each sentinel to have found the replica (INFO of
            # the master, every 10 s) and its peers (hello messages, every 2 s)
            self.wait_for(lambda: _try(lambda: len(s.execute_command(
                "SENTINEL", "replicas", MASTER)) == 1 and len(s.execute_command(
                    "SENTINEL", "sentinels", MASTER)) == 2), 30, "sentinel %d ready" % p)
        self.r = self.sentinel.master_for(MASTER, decode_responses=True, socket_timeout=5)

    @property
    def redis_url(self):
        return "redis-sentinel://%s/%s/0" % (
            ",".join("127.0.0.1:%d" % p for p in self.sports), MASTER)


def _try(f):
    try:
        return f()
    except (redis.exceptions.RedisError, OSError, KeyError):
        return False


def completed_count(r, sid):
    try:
        return sum(1 for _, f in r.xrange("wt:session:%s:events" % sid)
                   if f.get("type") == "session_completed")
    except redis.exceptions.RedisError:
        return -1


def bad_input(check, fleet, replica_port):
    env = dict(os.environ)
    url = "redis-sentinel://127.0.0.1:%d/nosuchmaster/0" % fleet.sports[0]
    p = subprocess.run([BIN, "logs", "--count", "1", "--redis", url], capture_output=True, text=True, timeout=30,
                       env=env, stdin=subprocess.DEVNULL)
    out = p.stdout + p.stderr
    check(p.returncode not in (0, -11, -6) and "does not know master 'nosuchmaster'" in out
          and "127.0.0.1:%d" % fleet.sports[0] in out,
          "unknown master name: clear error naming the sentinel (rc %d: %s)"
          % (p.returncode, out.strip()[:200]))
    # a "master" that answers ROLE as a replica: sentinel 0 also monitors the
    # replica under another name, so it names the replica as that master
    s0 = redis.Redis(port=fleet.sports[0], decode_responses=True, socket_timeout=2)
    s0.execute_command("SENTINEL", "MONITOR", "wrongmaster", "127.0.0.1", replica_port, 2)
    url = "redis-sentinel://127.0.0.1:%d/wrongmaster/0" % fleet.sports[0]
    p = subprocess.run([BIN, "logs", "--count", "1", "--redis", url], capture_output=True,
                       text=True, timeout=30, env=env, stdin=subprocess.DEVNULL)
    s0.execute_command("SENTINEL", "REMOVE", "wrongmaster")
    out = p.stdout + p.stderr
    check(p.returncode not in (0, -11, -6) and "127.0.0.1:%d" % replica_port in out
          and "answers ROLE as 'slave'" in out,
          "a replica named as master: clear error naming its address (rc %d: %s)"
          % (p.returncode, out.strip()[:200]))
    dead = free_port()
    url = "redis-sentinel://127.0.0.1:%d/%s/0" % (dead, MASTER)
    p = subprocess.run([BIN, "logs", "--count", "1", "--redis", url], capture_output=True, text=True, timeout=30,
                       env=env, stdin=subprocess.DEVNULL)
    out = p.stdout + p.stderr
    check(p.returncode not in (0, -11, -6) and "127.0.0.1:%d unreachable" % dead in out,
          "no reachable sentinel: clear error naming the address (rc %d: %s)"
          % (p.returncode, out.strip()[:200]))


def sentinels_agree_on(fleet, port):
    for p in fleet.sports:
        s = redis.Redis(port=p, decode_responses=True, socket_timeout=2)
        addr = _try(lambda: s.execute_command("SENTINEL", "get-master-addr-by-name", MASTER))
        if not addr or int(addr[1]) != port:
            return False
    return True


def sentinel_events(fleet):
    """The failover steps the sentinels logged (printed when a check fails:
    a second failover is the usual reason for a lost acknowledged write)."""
    keep = ("+switch-master", "+convert-to-slave", "+sdown", "+odown", "+promoted-slave",
            "+failover-end", "-failover-abort")
    out = []
    for i in range(len(fleet.sports)):
        with open(os.path.join(fleet.dir, "sentinel%d.log" % i), errors="replace") as f:
            out += ["sentinel%d: %s" % (i, ln.strip()) for ln in f if any(k in ln for k in keep)]
    return out


def restart_old_master(fleet):
    """Once every sentinel names the new master, starts the killed one again on
    its port (empty: no persistence); the sentinels turn it into a replica of
    the new master, so WAIT 1 can be satisfied again. Restarting it while a
    sentinel still holds the old configuration would let that sentinel see
    the old master healthy again and demote the promoted replica under it,
    which wipes the replica's data in the full resync (an operator's mistake
    the test must not make)."""
    def run():
        fleet.wait_for(lambda: sentinels_agree_on(fleet, fleet.rport), 30, "promotion")
        data = os.path.join(fleet.dir, "redis")
        fleet._spawn("redis", ["/usr/bin/redis-server", "--port", str(fleet.mport), "--bind",
                               "127.0.0.1", "--dir", data, "--save", "", "--appendonly", "no"])
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


def scenario(check, min_replicas, with_bad_input, n=None):
    n = n or N
    label = "min-replicas %d" % min_replicas
    fleet = SentinelFleet("sentinel")
    try:
        fleet.start_ha()
        extra = ["--redis-min-replicas", str(min_replicas)] if min_replicas else []
        fleet.start_broker(*extra)
        for w in ("s1", "s2"):
            fleet.start_worker(w, 8, os.path.join(SCRIPTS, "two-step-300ms.json"), *extra)
        fleet.wait_workers(2)
        c = fleet.client()
        acked = {}         # i -> (sid, acknowledged after the kill?)
        lat = []           # spawn -> SPAWNED before the kill, seconds
        killed_at = None
        deadline = time.monotonic() + 180
        while len(acked) < n and time.monotonic() < deadline:
            progress = False
            for i in range(n):
                if i in acked:
                    continue
                if killed_at is None and len(acked) >= n // 3:
                    fleet.kill("redis")
                    killed_at = time.monotonic()
                    restarter = restart_old_master(fleet)
                    print("%s: killed the master (port %d) after %d acknowledged spawns"
                          % (label, fleet.mport, len(acked)), flush=True)
                t = time.monotonic()
                c.send("SPAWN", {"workflow": "two-step", "goal": "ha %d" % i, "key": "ha-%d" % i})
                try:
                    cmd, body = c.recv(10)
                except Exception:  # noqa: BLE001 - a lost reply: retried with the same key
                    continue
                if cmd == "SPAWNED":
                    progress = True
                    acked[i] = (body["session"], killed_at is not None)
                    if killed_at is None:
                        lat.append(time.monotonic() - t)
            if not progress:
                time.sleep(0.1)  # refused (failover in progress): back off, then retry
        check(len(acked) == n, "%s: all %d spawns acknowledged across the failover (got %d)"
              % (label, n, len(acked)))
        print("%s: spawn->SPAWNED p50 %.2f ms p99 %.2f ms (%d serial spawns before the kill)"
              % (label, pct(lat, 0.5), pct(lat, 0.99), len(lat)), flush=True)
        new_master = fleet.sentinel.discover_master(MASTER)
        if not check(new_master[1] == fleet.rport, "%s: sentinels promoted the replica (%s)"
                     % (label, new_master,)):
            print("\n".join(sentinel_events(fleet)), flush=True)
        restarter.join(30)
        after = [sid for sid, post in acked.values() if post]
        t0 = time.monotonic()
        try:
            fleet.wait_completed(after, timeout_s=240)
            ok_after = True
        except TimeoutError as e:
            print("post-failover: %s" % e, flush=True)
            ok_after = False
        check(ok_after and after, "%s: the fleet keeps completing sessions after the failover "
              "(%d acknowledged after the kill all completed, %.1f s after the kill)"
              % (label, len(after), time.monotonic() - killed_at))
        # Acknowledged before the kill: those the promoted replica never got are lost.
        before = [sid for sid, post in acked.values() if not post]
        end = time.monotonic() + 15
        while time.monotonic() < end:
            pending = [s for s in before if completed_count(fleet.r, s) == 0
                       and fleet.r.exists("wt:session:%s" % s)]
            if not pending:
                break
            time.sleep(0.2)
        lost = dup = 0
        for sid, _ in acked.values():
            cnt = completed_count(fleet.r, sid)
            lost += cnt == 0
            dup += cnt > 1
        print("%s: submitted %d completed %d lost %d duplicated %d (wait %.1f s)"
              % (label, len(acked), len(acked) - lost, lost, dup, time.monotonic() - t0),
              flush=True)
        check(dup == 0, "%s: no session completed twice" % label)
        if min_replicas and not check(lost == 0, "%s: no acknowledged session lost" % label):
            print("\n".join(sentinel_events(fleet)), flush=True)
        check(fleet.procs["broker"].poll() is None, "%s: broker survived the failover" % label)
        m = fleet.metrics()
        check("wt_redis_master_changes_total 1" in m,
              "%s: /metrics counts the master change" % label)
        if min_replicas:
            print("%s: %s" % (label, [ln for ln in m.splitlines()
                                     if ln.startswith("wt_spawns_unreplicated_total")]))
        if with_bad_input:
            # after the run (monitoring a replica under another name must not
            # disturb the failover): the restarted old master is the replica now
            old = redis.Redis(port=fleet.mport, decode_responses=True, socket_timeout=2)
            fleet.wait_for(lambda: _try(lambda: old.execute_command("ROLE")[0] == "slave"), 20,
                           "old master back as a replica")
            bad_input(check, fleet, fleet.mport)
    except Exception as e:  # noqa: BLE001
        check(False, "%s: unexpected: %r" % (label, e))
        fleet.dump_logs()
    finally:
        fleet.stop()


def main():
    check = Check()
    scenario(check, 0, True)
    scenario(check, 1, False, 1000)  # must-show 1: a 1,000-session run, lost 0
    check.done()


if __name__ == "__main__":
    main()
