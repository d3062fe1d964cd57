# ctest-timeout: 240
# ctest-serial
"""A worker whose CPU is starved while it runs sessions keeps its heartbeats
flowing (issue 11, item 14). test_starve freezes the worker (SIGSTOP), which
tests recovery; here the worker keeps running but gets almost no CPU.

One worker with N slots runs N sessions whose first tool call is a Bash busy
loop (8 s of wall time), so the session work itself competes for the CPU.
The worker (and every tool it starts) is pinned to CPU 0 and put in its own
cpu cgroup. Once all N sessions run, for STARVE_S seconds (several liveness
windows: 3 x 1 s) the cgroup's quota is cut to QUOTA_US per 100 ms period
and HOGS busy processes at a higher priority (nice -5) are pinned to the
same CPU outside the cgroup. Then the quota is lifted and the hogs ended.

Checks: the broker listed the worker in every STATS sample (every 0.2 s),
never declared it dead (wt_heartbeat_misses_total 0) nor saw it
re-register (wt_worker_reregistrations_total 0), no assignment churn (one
READY line in the broker log, no 're-assigned to this worker' in the
worker's), and every session completed exactly once with outcome success,
none started twice or resumed. Prints the cgroup's throttling figures.

It failed before the Bash tool and the git runner started children with
vfork instead of fork (4 of 4 runs: the worker dropped once or twice, out
of the list for 2 to 9 s): glibc's fork takes every malloc arena's lock in
the forking session thread, which, niced and starved, held main_arena for
seconds while the main thread waited in malloc (gdb: futex_wait on
main_arena under wt_proto_decode and publish_record), so heartbeats stopped
although nothing queues them behind session work. At a 3 % quota the
worker is still dropped once or twice (it re-registers once per drop,
sessions reattached, no churn); that setting is not what this test
asserts. Hogs alone (four at nice -10, no quota) never cost it a heartbeat.
With vfork, a build without wt_worker.c's other protections (session
threads not niced, no heartbeats between burst messages, no fresh window
after a stall) also passes at 10 % and is dropped at 3 %, like this one:
the test guards the fork fix and the settling, not those.

Needs root and a cpu cgroup (v1 cpu controller or v2 cpu.max); exits 77
(skipped) saying why otherwise."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, Check, Fleet  # noqa: E402
from test_starve import metric, stats  # noqa: E402

N = int(os.environ.get("WT_STARVE_N", "40"))
STARVE_S = float(os.environ.get("WT_STARVE_S", "12"))
QUOTA_US = int(os.environ.get("WT_STARVE_QUOTA_US", "10000"))  # of a 100 ms period; 0: none
HOGS = int(os.environ.get("WT_STARVE_HOGS", "2"))
HOG_NICE = os.environ.get("WT_STARVE_HOG_NICE", "-5")
PERIOD_US = 100000
SCRIPT = os.path.join(SCRIPTS, "busy-bash.json")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


class CpuCgroup:
    """A cpu cgroup of its own, v2 (cpu.max) or v1 (cfs quota)."""

    def __init__(self):
        name = "wt-starve-%d" % os.getpid()
        v2 = "/sys/fs/cgroup/cgroup.controllers"
        if os.path.exists(v2) and "cpu" in open(v2).read().split():
            try:
                write("/sys/fs/cgroup/cgroup.subtree_control", "+cpu")
            except OSError:
                pass
            self.v2 = True
            self.dir = os.path.join("/sys/fs/cgroup", name)
        elif os.path.isdir("/sys/fs/cgroup/cpu"):
            self.v2 = False
            self.dir = os.path.join("/sys/fs/cgroup/cpu", name)
        else:
            raise OSError("no cpu cgroup controller under /sys/fs/cgroup")
        os.mkdir(self.dir)
        self.quota(None)

    def quota(self, us):
        if self.v2:
            write(os.path.join(self.dir, "cpu.max"),
                  "%s %d" % ("max" if us is None else us, PERIOD_US))
        else:
            write(os.path.join(self.dir, "cpu.cfs_period_us"), str(PERIOD_US))
            write(os.path.join(self.dir, "cpu.cfs_quota_us"), str(-1 if us is None else us))

    def add(self, pid):
        write(os.path.join(self.dir, "cgroup.procs"), str(pid))

    def stat(self):
        with open(os.path.join(self.dir, "cpu.stat")) as f:
            return dict(line.split() for line in f if len(line.split()) == 2)

    def remove(self):
        parent = os.path.dirname(self.dir)
        try:
            with open(os.path.join(self.dir, "cgroup.procs")) as f:
                for pid in f.read().split():
                    try:
                        write(os.path.join(parent, "cgroup.procs"), pid)
                    except OSError:
                        pass
            os.rmdir(self.dir)
        except OSError as e:
            print("cannot remove cgroup %s: %s" % (self.dir, e))


def main():
    if os.geteuid() != 0:
        print("skipped: needs root to make a cpu cgroup")
        sys.exit(77)
    try:
        cg = CpuCgroup()
    except OSError as e:
        print("skipped: cannot make a cpu cgroup: %s" % e)
        sys.exit(77)
    check = Check()
    fleet = Fleet("starvecpu")
    hogs = []
    try:
        fleet.start_redis()
        fleet.start_broker()
        w = fleet.start_worker("cpu", N, SCRIPT, wrap=["taskset", "-c", "0"])
        cg.add(w.pid)
        fleet.wait_workers(1)
        c = fleet.client()
        sids = c.spawn_many(N, "two-step", goal_fmt="s%d", window=N)
        c.close()
        fleet.wait_for(lambda: stats(fleet).get("active") == N, 60, "all sessions running")
        before = cg.stat()
        t0 = time.monotonic()
        if QUOTA_US:
            cg.quota(QUOTA_US)
        for _ in range(HOGS):
            hogs.append(subprocess.Popen(["nice", "-n", HOG_NICE, "taskset", "-c", "0", "sh", "-c",
                                          "while :; do :; done"]))
        gone = samples = 0
        try:
            while time.monotonic() - t0 < STARVE_S:
                samples += 1
                gone += stats(fleet).get("workers", 0) == 0
                time.sleep(0.2)  # a sampling period, not a synchronisation
        finally:
            for h in hogs:
                h.kill()
                h.wait()
            hogs = []
            cg.quota(None)
        after = cg.stat()
        thr = {k: int(after.get(k, 0)) - int(before.get(k, 0))
               for k in ("nr_periods", "nr_throttled", "throttled_time", "throttled_usec")
               if k in after}
        print("starved %.1fs at %d us per %d us with %d hogs: cgroup %s; worker gone in %d of %d "
              "samples" % (STARVE_S, QUOTA_US, PERIOD_US, HOGS, thr, gone, samples), flush=True)
        if QUOTA_US:
            check(thr.get("nr_throttled", 0) > 0, "the worker's cgroup was throttled (%s)" % thr)
        fleet.wait_completed(sids, 150)
        ok = once = started_once = 0
        for sid in sids:
            types = [t for _, t, _, _ in fleet.events(sid)]
            once += types.count("session_completed") == 1
            started_once += types.count("session_started") == 1 and "session_resumed" not in types
            ok += fleet.r.hget("wt:session:%s" % sid, "outcome") == "success"
        check(ok == N, "all %d sessions succeeded (%d)" % (N, ok))
        check(once == N, "each completed exactly once (%d)" % once)
        check(started_once == N, "none was started twice or resumed (%d ran once)" % started_once)
        m = fleet.metrics()
        misses = metric(m, "wt_heartbeat_misses_total")
        rereg = metric(m, "wt_worker_reregistrations_total")
        with open(os.path.join(fleet.dir, "broker.log"), errors="replace") as f:
            readies = sum(" ready: " in line for line in f)
        with open(os.path.join(fleet.dir, "worker-cpu.log"), errors="replace") as f:
            reassigned = sum("re-assigned to this worker" in line for line in f)
        print("heartbeat misses %s, re-registrations %s, READY lines %d, re-assigned %d"
              % (misses, rereg, readies, reassigned))
        check(misses == 0, "the broker never declared the worker dead (%s)" % misses)
        check(rereg == 0, "it never had to re-register (%s)" % rereg)
        check(gone == 0, "the broker listed the worker in every sample (gone in %d of %d)"
              % (gone, samples))
        check(readies == 1, "no READY churn: %d READY lines in the broker log" % readies)
        check(reassigned == 0, "no session re-assigned to the worker (%d)" % reassigned)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        for h in hogs:
            h.kill()
            h.wait()
        try:
            fleet.stop()
        finally:
            cg.remove()
    check.done()


if __name__ == "__main__":
    main()
