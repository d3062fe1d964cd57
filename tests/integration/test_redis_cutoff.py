# ctest-timeout: 120
"""A worker cut off from Redis while the broker still hears it (the
single-host form of tests/multihost scenario 3): worker A reaches Redis
through a small TCP relay the test then shuts; the broker and worker B reach
Redis directly. A's sessions cannot record progress, yet A keeps
heartbeating: it must hand them back (READY with 0 slots, not listing them)
so the broker requeues them to B, and they finish while A is still cut off,
each exactly once. Before that change they waited for Redis as long as the
cut lasted."""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, Check, Fleet  # noqa: E402


class Relay:
    """Forwards 127.0.0.1:port to Redis; cut() closes every connection and
    refuses new ones."""

    def __init__(self, target_port):
        self.target = target_port
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.conns = []
        self.lock = threading.Lock()
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.open:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                if not self.open:
                    c.close()
                    u.close()
                    return
                self.conns += [c, u]
            threading.Thread(target=self._pipe, args=(c, u), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            self.open = False
            self.lsock.close()
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


def main():
    check = Check()
    fleet = Fleet("cutoff")
    try:
        fleet.start_redis()
        fleet.start_broker()
        relay = Relay(fleet.redis_port)
        script = os.path.join(SCRIPTS, "two-step-3s.json")
        fleet.start_worker("cut", 4, script, "--redis", "redis://127.0.0.1:%d/0" % relay.port)
        fleet.wait_workers(1)
        c = fleet.client()
        sids = c.spawn_many(4, "two-step", goal_fmt="cutoff %d")
        c.close()
        fleet.wait_for(lambda: sum(1 for w in fleet.r.hvals("wt:running") if w == "cut") == 4,
                       15, "4 sessions running on the worker to be cut off")
        fleet.start_worker("ok", 4, script)
        fleet.wait_workers(2)
        relay.cut()
        t = time.monotonic()
        try:
            fleet.wait_completed(sids, 45)
            done = True
        except TimeoutError as e:
            print("not done: %s" % e)
            done = False
        check(done, "the 4 sessions finished while their first worker could not reach Redis "
              "(%.1f s)" % (time.monotonic() - t))
        for sid in sids:
            evs = fleet.events(sid)
            n = sum(1 for _, typ, _, _ in evs if typ == "session_completed")
            check(n == 1 and fleet.r.hget("wt:session:%s" % sid, "worker") == "ok",
                  "%s completed once, by the other worker (%d)" % (sid, n))
        with open(os.path.join(fleet.dir, "worker-cut.log"), errors="replace") as f:
            log = f.read()
        check("handed back to the broker" in log,
              "the cut-off worker said it handed its sessions back")
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
