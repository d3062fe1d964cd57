# ctest-timeout: 120
"""BATCH (PROTOCOL.md 3.1) at the broker: a client that announces `batch`
gets the SPAWNED of a BATCH of SPAWNs in one BATCH, a worker that announces
it gets its ASSIGNs in one and may answer with a BATCH of FINISHED; peers
that announce nothing get single messages as before; a malformed BATCH is
refused whole (nothing of it stored), answered with an ERROR naming the
bad message, counted in wt_bad_frames_total, and the broker keeps going."""
import os
import sys
import time

import msgpack
import zmq

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import CMD, WCMD, Check, Fleet, pack_batch, unbatch  # noqa: E402


def bad_frames(fleet):
    total = 0.0
    for line in fleet.metrics().splitlines():
        if line.startswith("wt_bad_frames_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def recv(sock, timeout_s=5.0):
    if not sock.poll(int(timeout_s * 1000)):
        raise TimeoutError("nothing from the broker within %.1fs" % timeout_s)
    return sock.recv_multipart()


def recv_until(sock, want, timeout_s=5.0):
    """Frames of the next message whose command is want (heartbeats skipped)."""
    deadline = time.monotonic() + timeout_s
    while True:
        frames = recv(sock, max(0.05, deadline - time.monotonic()))
        if frames[1][0] == want:
            return frames


def main():
    check = Check()
    fleet = Fleet("batch")
    try:
        fleet.start_redis()
        fleet.start_broker()
        w = fleet.ctx.socket(zmq.DEALER)
        w.setsockopt(zmq.LINGER, 0)
        w.setsockopt(zmq.IDENTITY, b"bw1")
        w.connect(fleet.workers_ep)
        w.send_multipart([b"WTW1", bytes([WCMD["READY"]]),
                          msgpack.packb({"name": "bw1", "slots": 4, "caps": ["two-step"],
                                         "batch": 8})])
        fleet.wait_workers(1)
        c = fleet.ctx.socket(zmq.DEALER)
        c.setsockopt(zmq.LINGER, 0)
        c.connect(fleet.clients_ep)

        # Three SPAWNs in one BATCH from a client that takes BATCH replies.
        spawns = [(CMD["SPAWN"], {"workflow": "two-step", "goal": "g%d" % i, "req": i + 1,
                                  "batch": 16}) for i in range(3)]
        c.send_multipart(pack_batch(b"WTC1", spawns))
        frames = recv(c)
        check(frames[1][0] == CMD["BATCH"], "the three SPAWNED come in one BATCH (got 0x%02x)"
              % frames[1][0])
        got = unbatch(frames)
        check([cmd for cmd, _ in got] == [CMD["SPAWNED"]] * 3
              and [b.get("req") for _, b in got] == [1, 2, 3],
              "one SPAWNED per SPAWN, in order (%s)" % got)
        sids = [b.get("session") for _, b in got]
        check(all(s and fleet.r.exists("wt:session:%s" % s) for s in sids),
              "each answered session is stored in Redis")

        # The worker announced batch: its three ASSIGNs come in one BATCH.
        frames = recv_until(w, WCMD["BATCH"])
        assigns = unbatch(frames)
        check(sorted(b.get("session") for _, b in assigns) == sorted(sids)
              and all(cmd == WCMD["ASSIGN"] and b.get("epoch") == 1 for cmd, b in assigns),
              "the worker gets the three ASSIGNs in one BATCH, each with its lease")
        # It answers them with one BATCH of FINISHED: every credit comes back.
        w.send_multipart(pack_batch(b"WTW1", [(WCMD["FINISHED"], {"session": s,
                                                                   "outcome": "success"})
                                               for s in sids]))
        deadline = time.monotonic() + 10
        active = None
        while time.monotonic() < deadline:
            body = fleet.wait_workers(1)
            active = body.get("active", 0)
            if active == 0 and body.get("slots_free") == 4:
                break
            time.sleep(0.05)
        check(active == 0, "the BATCH of FINISHED ended all three (active %s)" % active)

        # A client that announces nothing: a plain SPAWNED, and one ASSIGN alone.
        c.send_multipart([b"WTC1", bytes([CMD["SPAWN"]]),
                          msgpack.packb({"workflow": "two-step", "goal": "old", "req": 7})])
        frames = recv(c)
        check(frames[1][0] == CMD["SPAWNED"] and len(frames) == 3,
              "a client without batch gets a plain SPAWNED")
        old_sid = msgpack.unpackb(frames[2], raw=False).get("session")
        frames = recv_until(w, WCMD["ASSIGN"])
        check(msgpack.unpackb(frames[2], raw=False).get("session") == old_sid,
              "a single ASSIGN goes as itself")
        w.send_multipart([b"WTW1", bytes([WCMD["FINISHED"]]),
                          msgpack.packb({"session": old_sid, "outcome": "success"})])

        # Malformed BATCHes: refused whole, named, counted.
        before = bad_frames(fleet)
        stored = fleet.r.zcard("wt:sessions")
        half = [(CMD["SPAWN"], {"workflow": "two-step", "goal": "fine", "req": 20}),
                (CMD["SPAWN"], {"workflow": "two-step", "req": 21})]  # no goal
        c.send_multipart(pack_batch(b"WTC1", half))
        cmd, body = unbatch(recv(c))[0]
        check(cmd == CMD["ERROR"] and body.get("code") == 6
              and "BATCH message 1" in body.get("message", ""),
              "a BATCH with a bad message -> ERROR MISSING naming it (%s)" % body)
        nested = pack_batch(b"WTC1", [(CMD["STATS"], {})])
        c.send_multipart([b"WTC1", bytes([0x1E]),
                          msgpack.packb({"batch": [b"".join(nested[:2]) + nested[2]]},
                                        use_bin_type=True)])
        cmd, body = unbatch(recv(c))[0]
        check(cmd == CMD["ERROR"] and body.get("code") == 5 and "inside" in body.get("message", ""),
              "a BATCH inside a BATCH -> ERROR BAD_BODY (%s)" % body)
        c.send_multipart([b"WTC1", bytes([0x1E]), msgpack.packb({"batch": "nope"})])
        cmd, body = unbatch(recv(c))[0]
        check(cmd == CMD["ERROR"] and body.get("code") == 5, "a BATCH whose batch is no array")
        w.send_multipart([b"WTW1", bytes([0x1E]),
                          msgpack.packb({"batch": [b"WTW1\x23" + msgpack.packb({})]},
                                        use_bin_type=True)])
        cmd, body = unbatch(recv_until(w, WCMD["ERROR"]))[0]
        check(body.get("code") == 6, "a worker's bad BATCH -> ERROR to the worker (%s)" % body)
        check(fleet.r.zcard("wt:sessions") == stored,
              "nothing of a refused BATCH was stored (%d -> %d)"
              % (stored, fleet.r.zcard("wt:sessions")))
        after = bad_frames(fleet)
        check(after - before == 4, "the four bad BATCHes counted in wt_bad_frames_total (%s)"
              % (after - before))
        check(fleet.procs["broker"].poll() is None, "broker alive")
        c.send_multipart([b"WTC1", bytes([CMD["STATS"]]), msgpack.packb({"req": 99})])
        cmd, body = unbatch(recv(c))[0]
        check(cmd == CMD["STATS_REPLY"] and body.get("req") == 99, "broker still answers")
        c.close(0)
        w.close(0)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
