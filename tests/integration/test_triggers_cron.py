# ctest-timeout: 120
"""Cron triggers with the test-only clock (WORKTRAIN_TEST_CLOCK_FILE): a
`* * * * *` trigger fires once per minute as the clock advances, a broker
restart within the same minute does not fire again, and a 10-minute jump
fires once with skipped=9 in the trigger_fired detail."""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import WORKFLOWS, Check, Fleet  # noqa: E402

T0 = 1893456000  # 2030-01-01T00:00:00Z

TRIGGERS = """\
triggers:
  - id: tick
    provider: cron
    workflowId: two-step
    goal: "minute tick"
    schedule: "* * * * *"
"""


def main():
    check = Check()
    fleet = Fleet("trig-cron")
    clock = os.path.join(fleet.dir, "clock")

    def set_clock(t):
        tmp = clock + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % t)
        os.replace(tmp, clock)

    def fires():
        return [json.loads(f["data"]) for _, f in fleet.r.xrange("wt:events")
                if f.get("type") == "trigger_fired"]

    def ticks():
        try:
            text = fleet.metrics()
        except OSError:
            return -1
        for line in text.splitlines():
            if line.startswith("wt_trigger_ticks_total "):
                return int(line.split()[1])
        return -1

    def start():
        fleet.start_broker("--triggers", path, "--workflows", WORKFLOWS, "--timezone", "UTC")
        fleet.wait_for(lambda: ticks() >= 0, 10, "broker metrics")

    def settle(minute):
        """Waits until the trigger thread has handled `minute` and made two more passes."""
        fleet.wait_for(lambda: fleet.r.get("wt:trigger:tick:cron_last") == str(minute), 10,
                       "cron_last %d" % minute)
        n = ticks()
        fleet.wait_for(lambda: ticks() >= n + 2, 10, "two more trigger passes")

    try:
        fleet.start_redis()
        path = os.path.join(fleet.dir, "triggers.yml")
        with open(path, "w") as f:
            f.write(TRIGGERS)
        os.environ["WORKTRAIN_TEST_CLOCK_FILE"] = clock
        set_clock(T0 + 10)
        start()
        settle(T0)
        ev = fires()
        check(len(ev) == 1 and ev[0]["trigger"] == "tick" and ev[0]["provider"] == "cron" and
              ev[0]["detail"]["minute"] == "2030-01-01T00:00:00.000Z" and
              ev[0]["detail"]["skipped"] == 0, "fires for the current minute at start (%r)" % ev)
        h = fleet.r.hgetall("wt:session:%s" % ev[0]["session"]) if ev else {}
        check(h.get("goal") == "minute tick" and h.get("workflow") == "two-step",
              "the session has the trigger's goal and workflow")

        for k in (1, 2, 3):
            set_clock(T0 + 60 * k + 5)
            settle(T0 + 60 * k)
            check(len(fires()) == 1 + k, "minute %d: exactly %d fires" % (k, 1 + k))
        minutes = [e["detail"]["scheduled_s"] for e in fires()]
        check(minutes == [T0, T0 + 60, T0 + 120, T0 + 180], "one fire per minute (%r)" % minutes)

        # Restart within the same minute: no second fire.
        fleet.kill("broker", signal.SIGTERM)
        fleet.procs["broker"].wait(timeout=15)
        set_clock(T0 + 180 + 40)
        start()
        n = ticks()
        fleet.wait_for(lambda: ticks() >= n + 3, 10, "three passes after restart")
        check(len(fires()) == 4, "restart in the same minute: still 4 fires (%d)" % len(fires()))
        check('wt_trigger_fired_total{trigger="tick"} 0' in fleet.metrics(),
              "the new broker fired nothing")

        # Jump 10 minutes: one fire, nine skipped.
        set_clock(T0 + 180 + 600 + 1)
        settle(T0 + 780)
        ev = fires()
        check(len(ev) == 5 and ev[-1]["detail"]["skipped"] == 9 and
              ev[-1]["detail"]["scheduled_s"] == T0 + 780,
              "10-minute jump: one fire with skipped=9 (%r)" % (ev[-1:],))
        check(len(set(e["session"] for e in ev)) == 5, "five distinct sessions")
    except Exception:
        fleet.dump_logs()
        raise
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
