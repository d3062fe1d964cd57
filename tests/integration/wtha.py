"""wtha - a highly available WorkTrain fleet for fault tests (issue 14, DESIGN 13).

HAFleet extends test_redis_sentinel's SentinelFleet (a master, one replica,
three sentinels) with more replicas and a slower failure detector (this
machine is loaded: a 1 s down-after would fail over on a scheduling hiccup),
and with the helpers the double-fault test, the chaos run and the bench
share: which port is the master now, kill it, start it again as a replica,
and wait until the set is healthy again (a second failover must never
promote a node that has not synced). Brokers are test_standby's Broker (two
or more on the same sentinel URL), clients a DEALER connected to all of them.
"""
import os
import time

import msgpack
import redis
import zmq

from test_redis_sentinel import MASTER, SentinelFleet, _try, completed_count  # noqa: F401
from test_standby import Broker, poll  # noqa: F401
from wtfleet import CMD, CMD_NAME, free_port

RETRYABLE = (7, 12)  # UNAVAILABLE (e.g. WAIT short of replicas), NOT_ACTIVE (a standby)


class HAFleet(SentinelFleet):
    def start_ha(self, replicas=2, down_after_ms=2000):
        super().start_ha()
        self.ports = {self.mport: "redis", self.rport: "replica"}
        for p in self.sports:
            s = redis.Redis(port=p, decode_responses=True, socket_timeout=2)
            s.execute_command("SENTINEL", "SET", MASTER, "down-after-milliseconds",
                              str(down_after_ms))
        for i in range(1, replicas):
            port = free_port()
            self.ports[port] = "replica%d" % i
            self._start_node(port, self.mport)
        self.wait_healthy(replicas, 60)

    def _start_node(self, port, master_port):
        key = self.ports[port]
        data = os.path.join(self.dir, key)
        os.makedirs(data, exist_ok=True)
        self._spawn(key, ["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1",
                          "--dir", data, "--save", "", "--appendonly", "no",
                          "--replicaof", "127.0.0.1", str(master_port)])

    def master_port(self):
        """The master all three sentinels name, or None while they disagree or fail."""
        named = set()
        for p in self.sports:
            s = redis.Redis(port=p, decode_responses=True, socket_timeout=2)
            addr = _try(lambda: s.execute_command("SENTINEL", "get-master-addr-by-name", MASTER))
            if not addr:
                return None
            named.add(int(addr[1]))
        return named.pop() if len(named) == 1 else None

    def healthy(self, replicas):
        """Sentinels agree on a live master that has `replicas` replicas in sync."""
        m = self.master_port()
        if m is None or self.procs[self.ports[m]].poll() is not None:
            return False
        info = _try(lambda: redis.Redis(port=m, decode_responses=True,
                                        socket_timeout=2).info("replication"))
        if not info or info.get("role") != "master":
            return False
        up = sum(1 for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)
                 and v.get("state") == "online")
        if up < replicas:
            return False
        for p in self.sports:
            s = redis.Redis(port=p, decode_responses=True, socket_timeout=2)
            ok = _try(lambda: [r for r in s.execute_command("SENTINEL", "replicas", MASTER)
                               if "disconnected" not in _flags(r) and "s_down" not in _flags(r)])
            if not ok or len(ok) < replicas:
                return False
        return True

    def wait_healthy(self, replicas, timeout_s):
        self.wait_for(lambda: self.healthy(replicas), timeout_s,
                      "sentinel set healthy (%d replicas in sync)" % replicas)

    def kill_master(self, sig=9):
        """kill -9 of the current master; returns its port."""
        m = self.master_port()
        self.kill(self.ports[m], sig)
        return m

    def restart_as_replica(self, port, timeout_s=60):
        """Once the sentinels name a new master, starts the killed node again
        (empty: no persistence) as its replica."""
        self.procs[self.ports[port]].wait(10)
        self.wait_for(lambda: self.master_port() not in (None, port), timeout_s, "promotion")
        self._start_node(port, self.master_port())

    def brokers(self, n=2, *extra):
        """n brokers on the sentinel URL; the first is active, the others standbys."""
        bs = [Broker(self, chr(ord("a") + i)) for i in range(n)]
        for i, b in enumerate(bs):
            b.start(*extra)
            if i == 0:
                poll(lambda: b.role() == "active", 20, "broker a active")
        return bs


def _flags(entry):
    """The flags field of a SENTINEL replicas entry (a flat name/value list)."""
    kv = dict(zip(entry[::2], entry[1::2]))
    return kv.get("flags", "")


def active(fleet, brokers):
    """The live broker whose /healthz says active, or None."""
    for b in brokers:
        if fleet.procs[b.key].poll() is None and b.role() == "active":
            return b
    return None


class HAClient:
    """A DEALER connected to every broker's client endpoint: spawns with an
    idempotency key, retried (same key) on a retryable refusal or no reply,
    as `worktrain spawn` does with an endpoint list. Replies are matched by
    request id, so a late reply to an earlier try is not taken for another."""

    def __init__(self, ctx, endpoints):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        for ep in endpoints:
            self.sock.connect(ep)
        self.req = 0
        self.retries = 0

    def spawn(self, workflow, goal, key, deadline):
        """Returns the session id, or None at the deadline."""
        while time.monotonic() < deadline:
            self.req += 1
            req = self.req
            self.sock.send_multipart([b"WTC1", bytes([CMD["SPAWN"]]), msgpack.packb(
                {"workflow": workflow, "goal": goal, "key": key, "req": req})])
            wait_until = time.monotonic() + 5
            while time.monotonic() < wait_until:
                if not self.sock.poll(int(max(0.01, wait_until - time.monotonic()) * 1000)):
                    break
                frames = self.sock.recv_multipart()
                body = msgpack.unpackb(frames[2], raw=False)
                if body.get("req") != req:
                    continue  # a late reply to an earlier try
                cmd = CMD_NAME.get(frames[1][0])
                if cmd == "SPAWNED":
                    return body["session"]
                if cmd == "ERROR" and body.get("code") in RETRYABLE:
                    break
                raise RuntimeError("spawn refused: %s %s" % (cmd, body))
            self.retries += 1
            time.sleep(0.05)
        return None

    def close(self):
        self.sock.close(0)


def count_completions(r, sids, settle_s=30):
    """Per acknowledged session, how many session_completed its stream holds;
    waits (bounded) while some are still 0. Returns (lost, duplicated)."""
    end = time.monotonic() + settle_s
    while True:
        counts = {s: completed_count(r, s) for s in sids}
        pending = [s for s, n in counts.items() if n <= 0]
        if not pending or time.monotonic() > end:
            break
        time.sleep(0.2)
    lost = sum(1 for n in counts.values() if n <= 0)
    dup = sum(1 for n in counts.values() if n > 1)
    return lost, dup
