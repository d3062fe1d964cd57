# ctest-timeout: 240
"""One worker with --slots 500 holds 500 sessions open at once against a fake
LLM (OpenAI format) that holds every reply until 500 requests have arrived
(so all 500 sessions are open together however slow the machine, say under
ASan next to other tests) and then answers each after 2 s: from the events,
500 sessions were running at the same moment, and all 500 succeeded.
Prints the worker's peak RSS per open session (not asserted: bench figure).
The worker starts with a soft limit of 1,024 open files (prlimit), as under
systemd, and raises it for its 500 slots."""
import os
import resource
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from test_providers import start_fake  # noqa: E402
from wtfleet import Check, Fleet  # noqa: E402

N = 500


def fd_soft_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return 0


def rss_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    check = Check()
    fleet = Fleet("conc")
    d = tempfile.mkdtemp(prefix="wt-conc-")
    fake, base = start_fake(d, "--delay-ms", "2000", "--hold-until", str(N), "--default",
                            '{"reply": {"tool_calls": [{"name": "complete_step", "input": '
                            '{"notes": "n", "context": {"answer": "a"}}}]}}')
    try:
        fleet.start_redis()
        fleet.r.config_set("maxclients", 4000)
        fleet.start_broker()
        # started as systemd and most shells start a process: a soft limit
        # of 1,024 open files, far below what 500 slots hold at once
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        w = fleet.start_worker("big", N, None, "--provider", "openai", "--base-url", base,
                               wrap=["prlimit", "--nofile=1024:%d" % hard])
        fleet.wait_workers(1)
        soft = fd_soft_limit(w.pid)
        check(soft >= N * 8 or soft == hard,
              "the worker raised its open files limit from 1024 to %d (hard %d)" % (soft, hard))
        idle_rss = rss_kb(w.pid, "VmRSS")
        c = fleet.client()
        sids = c.spawn_many(N, "two-step", goal_fmt="c%d", window=N)
        c.close()
        fleet.wait_completed(sids, 180)
        edges = []
        ok = 0
        for sid in sids:
            evs = fleet.events(sid)
            s = [e for e, t, _, _ in evs if t == "session_started"]
            e = [e for e, t, _, _ in evs if t == "session_completed"]
            if s and e:
                edges.append((tuple(map(int, s[0].split("-"))), 1))
                edges.append((tuple(map(int, e[0].split("-"))), -1))
            ok += fleet.r.hget("wt:session:%s" % sid, "outcome") == "success"
        edges.sort()
        cur = peak = 0
        for _, delta in edges:
            cur += delta
            peak = max(peak, cur)
        check(ok == N, "all %d sessions succeeded (%d)" % (N, ok))
        check(peak == N, "%d sessions were open at the same moment (peak %d)" % (N, peak))
        hwm = rss_kb(w.pid, "VmHWM")
        print("worker RSS idle %d KB, peak %d KB, %.1f KB per open session"
              % (idle_rss, hwm, (hwm - idle_rss) / float(N)))
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fake.kill()
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
