#!/usr/bin/python3
"""sentinel_1000 - must-show 1 of issue 14 at full size, by hand (opt-in: a
few minutes; `make test` runs 300 sessions without and 1,000 with
--redis-min-replicas 1 in tests/integration/test_redis_sentinel.py).

  /usr/bin/python3 tests/chaos/sentinel_1000.py [--sessions N] [--min-replicas 0,1]

Runs test_redis_sentinel's scenario unchanged with N sessions (default
1,000): a master, one replica, three sentinels; the master is killed (-9)
after a third are acknowledged; prints `submitted completed lost duplicated`
per --redis-min-replicas value (lost asserted 0 only with 1) and exits 1 on
any failed check."""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import test_redis_sentinel  # noqa: E402
from wtfleet import Check  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--min-replicas", default="0,1")
    a = ap.parse_args()
    test_redis_sentinel.N = a.sessions
    check = Check()
    for mr in (int(x) for x in a.min_replicas.split(",")):
        test_redis_sentinel.scenario(check, mr, False)
    check.done()


if __name__ == "__main__":
    main()
