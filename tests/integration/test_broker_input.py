# ctest-timeout: 120
"""Idempotency and bad input at the broker's doors: the same key yields one
session; garbage frames and unknown commands on both sockets get an ERROR or
are dropped and counted, and the broker keeps serving."""
import os
import sys
import time

import msgpack
import zmq

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, Check, Fleet  # noqa: E402


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def metric_sum(text, name):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def main():
    check = Check()
    fleet = Fleet("input")
    try:
        fleet.start_redis()
        # Records written by hand into the broker's recovery indexes.
        fleet.r.zadd("wt:queue", {"BOGUS-NO-HASH": 1, "BOGUS-JUNK-HASH": 2})
        fleet.r.hset("wt:session:BOGUS-JUNK-HASH", mapping={"foo": "bar"})
        fleet.r.hset("wt:running", "BOGUS-RUNNING", "w9")
        fleet.start_broker()

        # Idempotency through the real CLI.
        a = fleet.run_cli("spawn", "--workflow", "two-step", "--goal", "same", "--key", "k-1")
        b = fleet.run_cli("spawn", "--workflow", "two-step", "--goal", "same", "--key", "k-1")
        check(a.returncode == 0 and b.returncode == 0, "both spawns accepted (%s)" % a.stderr.strip())
        check(a.stdout.strip() != "" and a.stdout.strip() == b.stdout.strip(),
              "same key -> same session id")
        check(fleet.r.zcard("wt:sessions") == 1, "one session stored")
        sid = a.stdout.strip()
        queued = [t for _, t, _, _ in fleet.events(sid)].count("session_queued")
        check(queued == 1, "one session_queued event")
        j = fleet.run_cli("spawn", "--workflow", "two-step", "--goal", "same", "--key", "k-1", "--json")
        check('"existing": true' in j.stdout or '"existing":true' in j.stdout,
              "--json reports existing")

        c = fleet.client()
        # Client socket: garbage of several kinds.
        c.send_raw([b"garbage"])
        cmd, body = c.recv(5)
        check(cmd == "ERROR" and body.get("code") == 1, "one-frame garbage -> ERROR BAD_FRAME")
        c.send_raw([b"WTC9", b"\x01", msgpack.packb({"workflow": "x", "goal": "y"})])
        cmd, body = c.recv(5)
        check(cmd == "ERROR" and body.get("code") == 2, "unknown version -> ERROR VERSION")
        c.send_raw([b"WTC1", b"\x7e", msgpack.packb({})])
        cmd, body = c.recv(5)
        check(cmd == "ERROR" and body.get("code") == 3, "unknown command -> ERROR UNKNOWN_CMD")
        c.send_raw([b"WTC1", b"\x01", b"\xc1\xff\x00not msgpack"])
        cmd, body = c.recv(5)
        check(cmd == "ERROR" and body.get("code") == 5, "bad body -> ERROR BAD_BODY: %s" % body.get("message"))
        c.send_raw([b"WTC1", b"\x01", msgpack.packb({"workflow": 7, "goal": "y"})])
        cmd, body = c.recv(5)
        check(cmd == "ERROR" and "workflow" in body.get("message", ""), "wrong type names the field")
        c.send_raw([b"WTC1", b"\x01", msgpack.packb({"goal": "y"})])
        cmd, body = c.recv(5)
        check(cmd == "ERROR" and body.get("code") == 6, "missing workflow -> ERROR MISSING")
        c.send_raw([b"WTC1", b"\x01", b"\x80" + b"x" * (2 * 1024 * 1024)])
        cmd, body = c.recv(5)
        check(cmd == "ERROR" and body.get("code") == 4, "oversized body -> ERROR TOO_BIG")

        # Worker socket: garbage, and an unknown command from an unknown worker.
        w = fleet.ctx.socket(zmq.DEALER)
        w.setsockopt(zmq.LINGER, 0)
        w.setsockopt(zmq.IDENTITY, b"rogue")
        w.connect(fleet.workers_ep)
        w.send_multipart([b"\x00\x01", b"junk", b"", b"more"])
        w.send_multipart([b"WTW1", b"\x7f", msgpack.packb({})])
        got = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(got) < 2:
            if w.poll(200):
                got.append(w.recv_multipart())
        check(all(len(f) == 3 for f in got), "worker-socket replies are well-formed (%d)" % len(got))

        # The broker still serves.
        sid2 = c.spawn("two-step", "after garbage")
        check(len(sid2) == 26, "broker still accepts spawns after bad input")
        m = fleet.metrics()
        check(metric_sum(m, "wt_bad_frames_total") >= 8, "bad frames counted in /metrics (%s)"
              % metric_sum(m, "wt_bad_frames_total"))
        check(fleet.procs["broker"].poll() is None, "broker process alive")
        check(metric(m, "wt_bad_records_total") == 3, "3 malformed Redis records counted (%s)"
              % metric(m, "wt_bad_records_total"))
        blog = open(os.path.join(fleet.dir, "broker.log")).read()
        check("BOGUS-JUNK-HASH" in blog and "no usable session record" in blog,
              "the broker log names the malformed record")
        # A worker can still join and run the queued sessions.
        fleet.start_worker("w1", 2, os.path.join(SCRIPTS, "two-step.json"))
        fleet.wait_completed([sid, sid2], timeout_s=30)
        check(fleet.r.hget("wt:session:%s" % sid2, "outcome") == "success", "session after garbage ran")
        w.close(0)
        c.close()
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
