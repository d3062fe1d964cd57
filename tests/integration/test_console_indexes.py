# ctest-timeout: 120
"""The console's /api/stats and /api/workers are exact at any size (issue
11, item 9): 12,000 queued sessions where the oldest waiter sorts last in
the priority queue (so it is not among the first 10,000 wt:queue entries),
and 6,000 live worker records (more than the old SCAN cap of 5,000). Written
straight into a real Redis with pipelines, the way intake and workers write
them (wt:queue, worker:<name> + wt:workers), plus requeued sessions the way
a requeue indexes them (also in wt:queued, by when they re-entered the
queue: created long ago, they do not count from then); the console reads
them through its indexes, never SCAN."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import Check, Fleet  # noqa: E402
from test_console_api import Console  # noqa: E402

QUEUED = 12000
WORKERS = 6000


def fill(r):
    now = int(time.time() * 1000)
    p = r.pipeline(transaction=False)
    oldest_ms = now - 3600 * 1000  # waited an hour, lowest priority: last in wt:queue
    for i in range(QUEUED):
        sid = "Q%025d" % i
        prio, created = (-100, oldest_ms) if i == QUEUED - 1 else (0, now - 60000 + i)
        p.zadd("wt:queue", {sid: (100 - prio) * 1e13 + created})
        p.zadd("wt:sessions", {sid: created})
        if i % 1000 == 7:  # requeued a minute ago, created two hours ago
            p.zadd("wt:queue", {sid: (100 - prio) * 1e13 + now - 7200 * 1000})
            p.zadd("wt:queued", {sid: now - 60000})
        if i % 2000 == 1999:
            p.execute()
    for i in range(WORKERS):
        name = "w%05d" % i
        p.hset("wt:worker:" + name, mapping={"host": "h", "pid": str(i), "slots": "4",
                                              "free": str(i % 5), "running": "[]",
                                              "version": "t", "last_seen_ms": str(now)})
        p.expire("wt:worker:" + name, 60)
        p.zadd("wt:workers", {name: now})
        if i % 2000 == 1999:
            p.execute()
    p.zadd("wt:workers", {"long-gone": now - 3600 * 1000})  # pruned name: not read
    p.execute()
    return sum(i % 5 for i in range(WORKERS))


def main():
    check = Check()
    fleet = Fleet("console-indexes")
    try:
        fleet.start_redis()
        free_total = fill(fleet.r)
        con = Console(fleet, "console")
        st, j = con.json("/api/stats")
        age = j.get("oldest_queued_age_s", 0) if j else 0
        check(st == 200 and j["queued"] == QUEUED and 3595 <= age <= 3700,
              "oldest_queued_age_s is the oldest of %d waiters exactly: %s" % (QUEUED, age))
        check(j["workers"] == WORKERS and j["slots_total"] == 4 * WORKERS
              and j["slots_free"] == free_total,
              "stats count all %d workers and their slots: %s" % (WORKERS, j))
        st, j = con.json("/api/workers")
        names = [w["name"] for w in j["workers"]]
        check(st == 200 and len(names) == WORKERS and names == sorted(names)
              and "long-gone" not in names, "/api/workers lists all %d (got %d)"
              % (WORKERS, len(names)))
        # a worker whose record expired is skipped even while the index names it
        fleet.r.delete("wt:worker:w00000")
        st, j = con.json("/api/stats")
        check(j["workers"] == WORKERS - 1, "an expired worker record is not counted")
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
