# ctest-timeout: 180
"""A burst of SPAWNs does not stall the sessions already running (issue 18).
bench_load (bench/bench_load.c) keeps 2,000 SPAWNs unanswered against a
real broker with one worker of 4 slots, so the broker's client socket has
messages waiting at every turn of its loop while 5,000 sessions are stored.
Workers must still be served during that time: their FINISHED read and the
next ASSIGN sent every turn, not once the burst is over. The session hashes
tell: sessions whose session_completed was stored (ended_ms) before the
burst's last session was created (created_ms). Before, the broker looked
at the workers' socket only when the clients' one was empty, so only the 4
sessions given out in the first turn ended during the burst; now 16-19 do
here (a turn stores up to 512 spawns, ~13 ms of Redis, so a no-op session
waits that long for its ASSIGN; real sessions last far longer).
Then every session completes exactly once (bench_load checks it)."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BENCH_LOAD as EXE, BENCH_WF, ONE_STEP, Check, Fleet  # noqa: E402

N = 5000
SLOTS = 4


def main():
    check = Check()
    if not os.path.exists(EXE):
        check(False, "bench_load is built (%s)" % EXE)
        check.done()
    fleet = Fleet("intake-fair")
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("f1", SLOTS, ONE_STEP, "--workflows", BENCH_WF)
        fleet.wait_workers(1)
        out = os.path.join(fleet.dir, "load.json")
        r = subprocess.run([EXE, "--clients", fleet.clients_ep, "--redis", fleet.redis_url,
                            "--out", out, "--sessions", str(N), "--window", "2000",
                            "--timeout", "120"],
                           capture_output=True, text=True, timeout=150)
        check(r.returncode == 0, "bench_load: every session completed once (exit %d: %s)"
              % (r.returncode, r.stderr.strip()[-300:]))
        with open(out) as f:
            doc = json.load(f)
        check(doc.get("missing") == 0 and doc.get("duplicated") == 0,
              "none missing, none duplicated (%s, %s)" % (doc.get("missing"),
                                                          doc.get("duplicated")))
        sids = fleet.r.zrange("wt:sessions", 0, -1)
        check(len(sids) == N, "%d sessions stored (%d)" % (N, len(sids)))
        pipe = fleet.r.pipeline(transaction=False)
        for sid in sids:
            pipe.hmget("wt:session:" + sid, "created_ms", "ended_ms", "status")
        rows = pipe.execute()
        check(all(st == "completed" for _, _, st in rows), "all completed")
        last_created = max(int(c) for c, _, _ in rows)
        during = sum(1 for _, e, _ in rows if e and int(e) < last_created)
        burst_ms = last_created - min(int(c) for c, _, _ in rows)
        print("burst stored in %d ms; %d sessions completed during it" % (burst_ms, during))
        # The first turn gives out SLOTS sessions; two rounds more means the
        # worker's FINISHED were read and answered while SPAWNs waited.
        check(during > 2 * SLOTS,
              "the worker ran sessions while the burst was stored: %d completed before the "
              "last one was created (more than %d)" % (during, 2 * SLOTS))
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
