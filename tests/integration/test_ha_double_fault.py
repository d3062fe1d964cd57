# ctest-timeout: 300
"""Both at once (issue 14, must-show 4): the Redis master and the active
broker killed (SIGKILL) within one second of each other during a run with
--redis-min-replicas 1.

A master, two replicas and three sentinels (wtha.HAFleet, down-after 2 s);
two brokers and two workers on the redis-sentinel:// URL, workers and
clients given both broker endpoints. A client spawns N sessions with
idempotency keys (retrying refusals and lost replies with the same key);
after a third are acknowledged, the master and the active broker are killed
in random order, the second 0-0.9 s after the first. The killed master is
started again (empty) as a replica once the sentinels promoted another, and
the killed broker as the new standby. Checker: every acknowledged session has
exactly one session_completed (lost 0, duplicated 0), printed.

Also item 3 of the issue: a `worktrain run` of a three-phase pipeline and a
`worktrain await` of sessions acknowledged before the fault, both started
before it (endpoint list in WORKTRAIN_BROKER, sentinel URL in
WORKTRAIN_REDIS), keep waiting across both failovers and end with exit 0;
a console started before them serves sessions from the new master after.
"""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from test_console_api import Console  # noqa: E402
from wtfleet import BIN, REPO, SCRIPTS, Check  # noqa: E402
from wtha import HAClient, HAFleet, active, count_completions, poll  # noqa: E402

N = 150
SCRIPT = os.path.join(SCRIPTS, "two-step-300ms.json")
PIPE = os.path.join(REPO, "tests", "pipelines", "chain.yml")


def main():
    check = Check()
    seed = int(os.environ.get("WT_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print("seed %d (WT_SEED=%d to repeat)" % (seed, seed), flush=True)
    fleet = HAFleet("ha2")
    procs = []
    try:
        fleet.start_ha(replicas=2, down_after_ms=2000)
        mr = ("--redis-min-replicas", "1")
        brokers = fleet.brokers(2, *mr)
        a, b = brokers
        check(b.role() == "standby", "two brokers on the sentinel URL: a active, b standby")
        for i in range(2):
            fleet.start_worker("w%d" % i, 8, SCRIPT, "--heartbeat", "500ms", "--liveness", "3",
                               "--broker", ",".join(x.workers for x in brokers), *mr)
        poll(lambda: (a.health() or {}).get("workers") == 2, 30, "2 workers on broker a")
        env = dict(os.environ, WORKTRAIN_REDIS=fleet.redis_url,
                   WORKTRAIN_BROKER=",".join(x.clients for x in (b, a)))
        console = Console(fleet, "console")  # on the sentinel URL too
        c = HAClient(fleet.ctx, [x.clients for x in brokers])
        acked = {}  # i -> (sid, acknowledged after the faults?)
        faulted = None
        deadline = time.monotonic() + 150
        for i in range(N):
            if faulted is None and i == N // 3:
                # run and await, started before the faults, must wait across them
                procs.append(("run", subprocess.Popen(
                    [BIN, "run", PIPE, "--goal", "across", "--json"], env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                    stdin=subprocess.DEVNULL)))
                procs.append(("await", subprocess.Popen(
                    [BIN, "await"] + [sid for sid, _ in list(acked.values())[-5:]], env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                    stdin=subprocess.DEVNULL)))
                gap = rng.uniform(0, 0.9)
                broker_first = rng.random() < 0.5
                if broker_first:
                    fleet.kill(a.key, signal.SIGKILL)
                    time.sleep(gap)  # the fault schedule, not a synchronisation
                    mport = fleet.kill_master()
                else:
                    mport = fleet.kill_master()
                    time.sleep(gap)
                    fleet.kill(a.key, signal.SIGKILL)
                faulted = time.monotonic()
                print("killed the active broker and the master (port %d), %s first, %.2f s apart,"
                      " after %d acknowledged spawns"
                      % (mport, "broker" if broker_first else "master", gap, len(acked)),
                      flush=True)
                fixer = threading.Thread(target=restart_both, args=(fleet, a, mport, mr),
                                         daemon=True)
                fixer.start()
            sid = c.spawn("two-step", "double %d" % i, "dbl-%d-%d" % (seed, i), deadline)
            if sid is None:
                break
            acked[i] = (sid, faulted is not None)
        c.close()
        check(len(acked) == N, "all %d spawns acknowledged across both faults (%d; %d retries)"
              % (N, len(acked), c.retries))
        fixer.join(90)
        poll(lambda: active(fleet, brokers) is not None, 30, "an active broker")
        leader = active(fleet, brokers)
        other = b if leader is a else a
        # b takes over after the lease's TTL; a restarted before that replaces
        # its own dead incarnation at once: either is a recovery
        poll(lambda: other.role() == "standby", 30, "the other broker standby")
        check(True, "broker %s active, broker %s standby" % (leader.name, other.name))
        check(fleet.master_port() != mport, "the sentinels promoted a replica (master now %s)"
              % fleet.master_port())
        lost, dup = count_completions(fleet.r, [sid for sid, _ in acked.values()], 120)
        print("submitted %d completed %d lost %d duplicated %d (%.1f s after the faults)"
              % (len(acked), len(acked) - lost, lost, dup, time.monotonic() - faulted),
              flush=True)
        check(lost == 0, "lost 0 (%d)" % lost)
        check(dup == 0, "duplicated 0 (%d)" % dup)
        for name, p in procs:
            try:
                out, err = p.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            ok = p.returncode == 0
            if ok and name == "run":
                rep = json.loads(out)
                ok = rep.get("status") == "succeeded" and all(
                    ph["state"] == "done" for ph in rep["phases"])
            check(ok, "worktrain %s kept waiting across both failovers and ended with exit 0 "
                  "(rc %s: %s)" % (name, p.returncode, err.strip()[-300:]))
        check(fleet.procs[b.key].poll() is None, "broker b survived")
        last = acked[N - 1][0]
        poll(lambda: _try_json(console, "/api/sessions/" + last)[0] == 200, 30,
             "the console answers after the failover", every=0.2)
        st, body = _try_json(console, "/api/sessions/" + last)
        check(console.proc.poll() is None and body["session"].get("status") == "completed",
              "the console, started before the faults, follows the new master (a session "
              "acknowledged after them: %s)" % body["session"].get("status"))
    except Exception as e:  # noqa: BLE001 - report and fail, with the logs
        check(False, "exception: %r" % e)
        fleet.dump_logs()
    finally:
        for _, p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        fleet.stop()
    check.done()


def _try_json(console, path):
    try:
        return console.json(path)
    except (OSError, ValueError):
        return 0, None


def restart_both(fleet, broker, mport, extra):
    """The operator's part: the killed master back as a replica once another is
    promoted, the killed broker back (it becomes the standby)."""
    fleet.restart_as_replica(mport)
    fleet.procs[broker.key].wait(10)
    broker.start(*extra)


if __name__ == "__main__":
    main()
