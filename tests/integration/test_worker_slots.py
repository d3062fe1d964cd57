# ctest-timeout: 120
"""A worker with --slots 1 never runs two sessions at once: from the events,
the [session_started, session_completed] intervals of its sessions never
overlap, although the script makes each session slow enough to overlap if the
broker over-assigned."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, Check, Fleet  # noqa: E402


def stream_ms(eid):
    # Only the millisecond part: sequence numbers belong to each session's
    # own stream and do not order entries of different streams.
    return int(eid.split("-")[0])


def main():
    check = Check()
    fleet = Fleet("slots")
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("solo", 1, os.path.join(SCRIPTS, "two-step-slow.json"))
        fleet.wait_workers(1)
        c = fleet.client()
        sids = c.spawn_many(8, "two-step", goal_fmt="slot %d")
        c.close()
        fleet.wait_completed(sids, timeout_s=60)
        spans = []
        for sid in sids:
            evs = fleet.events(sid)
            start = [e for e, t, _, _ in evs if t == "session_started"]
            end = [e for e, t, _, _ in evs if t == "session_completed"]
            check(len(start) == 1 and len(end) == 1, "%s started and completed once" % sid)
            spans.append((stream_ms(start[0]), stream_ms(end[0])))
        spans.sort()
        overlap = any(spans[i + 1][0] < spans[i][1] for i in range(len(spans) - 1))
        check(not overlap, "no two sessions of the 1-slot worker overlap")
        workers = {fleet.r.hget("wt:session:%s" % s, "worker") for s in sids}
        check(workers == {"solo"}, "all ran on the one worker")
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
