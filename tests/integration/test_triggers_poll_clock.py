# ctest-timeout: 120
"""Pollers schedule with the monotonic clock: setting the wall clock back an
hour does not stall them.

The broker runs one github_issues_poll trigger (pollIntervalSeconds: 1)
against the fake GitHub, with the test-only clock WORKTRAIN_TEST_CLOCK_FILE
(README "Triggers"), which the pollers read as their wall clock. A thread
keeps the file at the real time; once polls flow, it is moved one hour back.
Polls must go on at the same pace (before the fix the next poll waited for
the wall clock to catch up: an hour)."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from test_triggers_poll import GH_TOKEN, Fake  # noqa: E402
from wtfleet import Check, Fleet  # noqa: E402

TRIGGERS = """\
triggers:
  - id: gh-clock
    provider: github_issues_poll
    workflowId: two-step
    goal: "clock test"
    source:
      repo: octo/hello
      token: $WT_TEST_GH_TOKEN
      apiBaseUrl: "%(gh)s"
      pollIntervalSeconds: 1
"""


class TestClock:
    """Writes int(time.time()) + offset to the clock file every 50 ms."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.stop = threading.Event()
        self.write()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def write(self):
        with open(self.path + ".tmp", "w") as f:
            f.write(str(int(time.time()) + self.offset))
        os.rename(self.path + ".tmp", self.path)

    def run(self):
        while not self.stop.wait(0.05):
            self.write()


def polls(gh):
    return gh.requests("/issues")


def main():
    check = Check()
    fleet = Fleet("pollclock")
    clock = None
    try:
        fleet.start_redis()
        gh = Fake(fleet, "fake_github.py", GH_TOKEN)
        tfile = os.path.join(fleet.dir, "triggers.yml")
        with open(tfile, "w") as f:
            f.write(TRIGGERS % {"gh": gh.url})
        clock = TestClock(os.path.join(fleet.dir, "clock"))
        os.environ["WT_TEST_GH_TOKEN"] = GH_TOKEN
        os.environ["WORKTRAIN_TEST_CLOCK_FILE"] = clock.path
        fleet.start_broker("--triggers", tfile)
        fleet.wait_for(lambda: len(polls(gh)) >= 2, 15, "first polls")

        clock.offset = -3600
        clock.write()
        n0 = len(polls(gh))
        t0 = time.monotonic()
        try:
            fleet.wait_for(lambda: len(polls(gh)) >= n0 + 3, 10, "polls after the clock went back")
            ok = True
        except TimeoutError:
            ok = False
        check(ok, "3 more polls within 10 s after the wall clock went back 1 h (%d in %.1fs)"
              % (len(polls(gh)) - n0, time.monotonic() - t0))

    except Exception as e:  # report, then fail
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        if clock:
            clock.stop.set()
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
