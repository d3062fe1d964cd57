# ctest-timeout: 180
"""spawn_agent with standby brokers (issue 14): the worker's --clients is an
endpoint list (the standby first), like every other client's. A parent's
children are spawned through whichever broker is active: first with broker a
active (the standby's NOT_ACTIVE is retried on the next endpoint), then
while a is killed (SIGKILL) and b takes over. Each chain root -> 3 children
completes, every parent records exactly one child_spawned (a retried SPAWN
re-uses its idempotency key: no second child)."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from test_standby import Broker, poll  # noqa: E402
from wtfleet import SCRIPTS, Check, Client, Fleet  # noqa: E402


def chain_of(fleet, root):
    chain, sid = [root], root
    while True:
        kids = [k for k in fleet.r.zrange("wt:session:%s:children" % sid, 0, -1)
                if fleet.r.hget("wt:session:%s" % k, "workflow") == "two-step"]
        if not kids:
            return chain
        sid = kids[0]
        chain.append(sid)


def check_chain(check, fleet, root, label):
    fleet.wait_completed([root], 120)
    chain = chain_of(fleet, root)
    check(len(chain) == 4, "%s: chain root -> 3 levels of children (%d)" % (label, len(chain)))
    fleet.wait_completed(chain, 60)
    ok = all(fleet.r.hget("wt:session:%s" % s, "outcome") == "success" for s in chain)
    once = all(sum(1 for _, t, _, _ in fleet.events(s) if t == "child_spawned") == 1
               for s in chain[:-1])
    check(ok and once, "%s: every session succeeded, each parent spawned one child" % label)


def main():
    check = Check()
    fleet = Fleet("spawn-standby")
    try:
        fleet.start_redis()
        a, b = Broker(fleet, "a"), Broker(fleet, "b")
        a.start()
        poll(lambda: a.role() == "active", 10, "broker a active")
        b.start()
        for w in ("w1", "w2"):
            fleet.start_worker(w, 4, os.path.join(SCRIPTS, "spawn.json"), "--heartbeat", "500ms",
                               "--liveness", "3", "--broker", b.workers + "," + a.workers,
                               "--clients", b.clients + "," + a.clients)
        poll(lambda: (a.health() or {}).get("workers") == 2, 20, "2 workers on broker a")
        c = Client(fleet.ctx, a.clients)
        root = c.spawn("two-step", "root", key="root-1")
        check_chain(check, fleet, root, "standby first in --clients")
        root2 = c.spawn("two-step", "root2", key="root-2")
        c.close()
        poll(lambda: fleet.r.hlen("wt:running") > 0, 20, "root2 running")
        fleet.kill(a.key, signal.SIGKILL)
        check_chain(check, fleet, root2, "active broker killed")
        check(b.role() == "active", "broker b took over")
    except Exception as e:  # noqa: BLE001
        check(False, "exception: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
