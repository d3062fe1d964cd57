# ctest-timeout: 300
"""The short HA chaos run of `make test` (issue 14, must-show 5): Redis
Sentinel (master, two replicas, three sentinels) and two brokers with
--redis-min-replicas 1; every 2-5 s for 45 s the Redis master, the active
broker or a worker is killed (SIGKILL) and brought back, while 400 sessions
are spawned (half before, half during the chaos). The checker must find
lost = 0 and duplicated = 0 (tests/chaos/chaos.py --ha runs longer ones)."""
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "chaos"))
sys.path.insert(0, os.path.dirname(__file__))
from chaos import run_ha  # noqa: E402
from wtfleet import Check  # noqa: E402


def main():
    check = Check()
    seed = int(os.environ.get("WT_SEED", random.randrange(1 << 30)))
    print("seed %d (WT_SEED=%d to repeat)" % (seed, seed), flush=True)
    try:
        n, lost, dup, failed, kills = run_ha(400, 45 / 60.0, 3, seed)
        check(lost == 0, "lost = 0 (%d of %d)" % (lost, n))
        check(dup == 0, "duplicated = 0 (%d)" % dup)
        check(failed == 0, "every session succeeded (%d failed)" % failed)
        check(sum(kills.values()) >= 6, "the run was really disturbed (%s)" % kills)
    except Exception as e:  # noqa: BLE001
        check(False, "unexpected error: %r" % e)
    check.done()


if __name__ == "__main__":
    main()
