# ctest-timeout: 300
"""The short chaos run of `make test`: 1,000 sessions while a random worker
or the broker is killed (SIGKILL) every 2-5 s for 40 s and restarted; the
checker must find lost = 0 and duplicated = 0 (tests/chaos/chaos.py runs
longer versions by hand with --minutes)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "chaos"))
sys.path.insert(0, os.path.dirname(__file__))
from chaos import run  # noqa: E402
from wtfleet import Check  # noqa: E402


def main():
    check = Check()
    try:
        n, lost, dup, failed, kills = run(1000, 40 / 60.0, 3)
        check(lost == 0, "lost = 0 (%d)" % lost)
        check(dup == 0, "duplicated = 0 (%d)" % dup)
        check(failed == 0, "every session succeeded (%d failed)" % failed)
        check(kills["broker"] + kills["worker"] >= 6, "the run was really disturbed (%s)" % kills)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
    check.done()


if __name__ == "__main__":
    main()
