# ctest-timeout: 120
"""bench/bench_events (the event-write path's capacity, issue 18) briefly
against a real redis-server: sessions leased by the intake script, events
written by the worker's writer in batches of 1, 8 and 64, and its own
verification afterwards holds - every stream has exactly the events
written, in order, no duplicates, each with its lease epoch; the hash's seq
and turns agree; a retried event stores nothing; a stale lease is refused.
A duplicate put into one stream by hand is found (exit 1), so the check can
fail. The unit tests wt_store and wt_events cover the group commit itself
(a retried batch stored once, a stale lease's batch refused whole)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import wtfleet  # noqa: E402
from wtfleet import Check, Fleet  # noqa: E402

EXE = os.path.join(os.path.dirname(wtfleet.BIN), "bench", "bench_events")


def run(fleet, *args):
    p = subprocess.run([EXE, "--redis", fleet.redis_url, "--seconds", "1"] + list(args),
                       capture_output=True, text=True, timeout=60)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = {}
    if p.returncode != 0:
        print("bench_events %s: exit %d %s" % (args, p.returncode, p.stderr[-500:]))
    return p.returncode, out


def main():
    check = Check()
    if not check(os.path.exists(EXE), "bench_events is built (%s)" % EXE):
        check.done()
    fleet = Fleet("bench-events")
    try:
        fleet.start_redis()
        for threads, batch in ((4, 1), (4, 8), (2, 64)):
            prefix = "be%d_%d:" % (threads, batch)
            rc, out = run(fleet, "--threads", str(threads), "--sessions", "2", "--batch",
                          str(batch), "--prefix", prefix)
            v = out.get("verify", {})
            check(rc == 0 and v.get("ok") is True, "T=%d K=%d: verification holds (%s)"
                  % (threads, batch, v))
            check(out.get("events", 0) > 0 and v.get("expected") == out.get("events")
                  and v.get("found") == v.get("expected") and v.get("duplicates") == 0
                  and v.get("missing") == 0 and v.get("out_of_order") == 0,
                  "T=%d K=%d: %s events written, every one stored once, in order"
                  % (threads, batch, out.get("events")))
            check(v.get("streams") == threads * 2 and v.get("retry_stored") == 0
                  and v.get("stale_accepted") == 0,
                  "T=%d K=%d: %s leased sessions; retries stored nothing, stale leases refused"
                  % (threads, batch, v.get("streams")))
            # Redis's own count: one stream entry per event plus session_queued
            n = sum(fleet.r.xlen(k) for k in fleet.r.scan_iter(prefix + "session:*:events"))
            check(n == out.get("events", -1) + threads * 2,
                  "T=%d K=%d: XLEN over the streams = events + one session_queued each (%d)"
                  % (threads, batch, n))
            # group commit: K events per round trip, up to the writer's 16 deferred
            want = min(batch, 16)
            check(out.get("round_trips", 0) > 0
                  and abs(out["events"] / out["round_trips"] - want) < 0.01,
                  "T=%d K=%d: %.2f events per round trip (want %d)"
                  % (threads, batch, out.get("events_per_round_trip", 0), want))
        rc, out = run(fleet, "--threads", "2", "--sessions", "1", "--batch", "8", "--prefix",
                      "dup:", "--inject-duplicate")
        v = out.get("verify", {})
        check(rc == 1 and v.get("ok") is False and v.get("duplicates") == 1,
              "a duplicate entry put in by hand is found (exit %d, %s)" % (rc, v))
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
