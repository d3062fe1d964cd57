# ctest-timeout: 120
"""Sentinels that disagree (issue 14, bad input): two real masters M1 and
M2, sentinels S1 and S2 monitoring M1 as 'wtmaster', S3 monitoring M2
under the same name (a misconfigured set, or a failover seen by only part
of it).
- S1 + S3 (a tie): `worktrain logs` fails with a clear error that says the
  sentinels disagree and names both addresses and the sentinels behind them;
  no crash. (Before: whichever sentinel answered first was believed.)
- S1 + S2 + S3: the majority's master (M1) is taken, the dissent is logged.
- A broker on S1 + S3 stays up, retries with backoff, counts the lookups in
  /metrics wt_redis_sentinel_disagreements_total, and becomes active once S3
  is corrected to monitor M1 (SENTINEL REMOVE / MONITOR).
- What +switch-master tells: all three sentinels re-pointed to M2 while M1
  stays up and writable (no lost connection, no READONLY): the broker asks
  the sentinels again every 2 s, moves to M2 and says so."""
import os
import subprocess
import sys

import redis

sys.path.insert(0, os.path.dirname(__file__))
from test_standby import Broker, poll  # noqa: E402
from wtfleet import BIN, Check, Fleet, free_port  # noqa: E402

MASTER = "wtmaster"


def main():
    check = Check()
    fleet = Fleet("disagree")
    try:
        m1, m2 = free_port(), free_port()
        for key, port in (("m1", m1), ("m2", m2)):
            fleet._spawn(key, ["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no"])
        sp = [free_port() for _ in range(3)]
        for i, (port, master) in enumerate(zip(sp, (m1, m1, m2))):
            conf = os.path.join(fleet.dir, "s%d.conf" % i)
            with open(conf, "w") as f:
                f.write("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 2\n"
                        % (port, fleet.dir, MASTER, master))
            fleet._spawn("sentinel%d" % i, ["/usr/bin/redis-server", conf, "--sentinel"])
        sent = [redis.Redis(port=p, decode_responses=True, socket_timeout=2) for p in sp]
        for s in sent:
            poll(lambda: _ping(s), 10, "sentinel up", every=0.05)
        for p in (m1, m2):
            r = redis.Redis(port=p, socket_timeout=2)
            poll(lambda: _ping(r), 10, "redis up", every=0.05)

        def url(*idx):
            return "redis-sentinel://%s/%s/0" % (",".join("127.0.0.1:%d" % sp[i] for i in idx),
                                                 MASTER)

        p = subprocess.run([BIN, "logs", "--count", "1", "--redis", url(0, 2)],
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        out = p.stdout + p.stderr
        check(p.returncode not in (0, -11, -6) and "disagree" in out
              and "127.0.0.1:%d per sentinel 127.0.0.1:%d" % (m1, sp[0]) in out
              and "127.0.0.1:%d per sentinel 127.0.0.1:%d" % (m2, sp[2]) in out,
              "a tie: clear error naming both masters and their sentinels (rc %d: %s)"
              % (p.returncode, out.strip()[-300:]))
        p = subprocess.run([BIN, "logs", "--count", "1", "--redis", url(0, 1, 2)],
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        check(p.returncode == 0 and "taking the majority's 127.0.0.1:%d" % m1 in p.stderr,
              "a majority: its master is used, the dissent logged (rc %d: %s)"
              % (p.returncode, p.stderr.strip()[-300:]))

        def monitor(i, port):
            sent[i].execute_command("SENTINEL", "REMOVE", MASTER)
            sent[i].execute_command("SENTINEL", "MONITOR", MASTER, "127.0.0.1", port, 2)

        monitor(2, m1)  # agree, so that the broker starts
        b = Broker(fleet, "a")
        fleet._spawn(b.key, [BIN, "broker", "--clients", b.clients, "--workers", b.workers,
                             "--redis", url(0, 2), "--http", "127.0.0.1:%d" % b.port])
        poll(lambda: b.role() == "active", 30, "broker active", every=0.1)
        monitor(2, m2)  # disagree, and drop the broker's connections: it must resolve again
        r1 = redis.Redis(port=m1, decode_responses=True, socket_timeout=2)
        poll(lambda: r1.client_kill_filter(_type="normal") is not None and
             (b.metric("wt_redis_sentinel_disagreements_total") or 0) >= 1, 30,
             "a disagreeing lookup counted", every=0.2)
        check(fleet.procs[b.key].poll() is None and b.health() is not None,
              "the broker stays up and answers /healthz while the sentinels disagree (%s lookups)"
              % b.metric("wt_redis_sentinel_disagreements_total"))
        check("the sentinels disagree" in b.log(), "the broker's log says why")
        monitor(2, m1)
        poll(lambda: "reachable again" in b.log().split("the sentinels disagree")[-1], 30,
             "the broker back on Redis once the sentinels agree", every=0.1)
        check(fleet.procs[b.key].poll() is None,
              "once S3 names M1 again, the broker reconnects (no restart)")

        # +switch-master without a lost connection: every sentinel now names M2
        # while M1 stays up and writable (as an old master cut off from the
        # sentinels would); the broker must notice by asking, and move.
        for i in range(3):
            monitor(i, m2)
        r2 = redis.Redis(port=m2, decode_responses=True, socket_timeout=2)
        poll(lambda: r2.exists("wt:broker:leader"), 30, "the broker's lease on M2", every=0.1)
        check("moved from 127.0.0.1:%d to 127.0.0.1:%d" % (m1, m2) in b.log()
              and fleet.procs[b.key].poll() is None,
              "the sentinels switch to M2 while M1 is still up: the broker moves (log says so)")
        poll(lambda: b.role() == "active", 30, "broker active on M2", every=0.1)
        check((b.metric("wt_redis_master_changes_total") or 0) >= 1,
              "/metrics counts the master change (%s)" % b.metric("wt_redis_master_changes_total"))
    except Exception as e:  # noqa: BLE001
        check(False, "exception: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


def _ping(r):
    try:
        return r.ping()
    except (redis.exceptions.RedisError, OSError):
        return False


if __name__ == "__main__":
    main()
