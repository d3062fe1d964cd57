# ctest-timeout: 120
"""wt_sessions_stuck on a worker's own /metrics (worker --http): a session
that reports agent_stuck under --stuck-policy notify_only and keeps running
counts 1 while it runs and 0 once it ended; wt_worker_sessions_stuck_total
keeps the 1. The script repeats one Bash call three times (repeated_tool_call)
and then answers slowly for a few turns."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import Check, Fleet, free_port  # noqa: E402
from wtfleet import http_metric as metric  # noqa: E402


def main():
    check = Check()
    fleet = Fleet("stuckmetrics")
    port = free_port()
    d = tempfile.mkdtemp(prefix="wt-stuckm-")
    script = os.path.join(d, "stuck-then-slow.json")
    ls = {"tool_calls": [{"name": "Bash", "input": {"command": "ls"}}]}
    slow = [{"delay_ms": 1500, "tool_calls": [{"name": "Bash", "input": {"command": "echo %d" % i}}]}
            for i in range(4)]
    with open(script, "w") as f:
        json.dump([ls, ls, ls] + slow, f)
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("s1", 2, script, "--stuck-policy", "notify_only",
                           "--http", "127.0.0.1:%d" % port)
        fleet.wait_workers(1)
        check(metric(port, "wt_sessions_stuck") == 0, "no stuck session at start")
        c = fleet.client()
        sid = c.spawn("two-step", "get stuck, keep going")
        c.close()
        fleet.wait_for(lambda: metric(port, "wt_sessions_stuck") == 1, 30,
                       "wt_sessions_stuck 1 while the stuck session runs")
        check(fleet.r.hget("wt:session:%s" % sid, "status") == "running",
              "wt_sessions_stuck 1 while the flagged session still runs")
        fleet.wait_completed([sid], 60)
        fleet.wait_for(lambda: metric(port, "wt_sessions_stuck") == 0, 10,
                       "wt_sessions_stuck back to 0")
        check(True, "wt_sessions_stuck back to 0 once it ended")
        check(metric(port, "wt_worker_sessions_stuck_total") == 1, "stuck total keeps the 1")
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
