# ctest-timeout: 120
"""spawn_agent through the broker: a parent's child runs as its own session
(parent recorded, children zset), its result comes back as the tool result,
a child of a workflow no worker offers is refused and comes back as an
error result (not a crash), and the chain
stops at depth 3. Every session here uses the same script, so each child
tries to spawn its own child until the depth limit refuses it."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import SCRIPTS, Check, Fleet  # noqa: E402


def main():
    check = Check()
    fleet = Fleet("spawn")
    try:
        fleet.start_redis()
        fleet.start_broker()
        for w in ("w1", "w2"):
            fleet.start_worker(w, 4, os.path.join(SCRIPTS, "spawn.json"))
        fleet.wait_workers(2)
        c = fleet.client()
        root = c.spawn("two-step", "root")
        c.close()
        fleet.wait_completed([root], 90)
        chain, sid = [root], root
        while True:
            kids = fleet.r.zrange("wt:session:%s:children" % sid, 0, -1)
            good = [k for k in kids if fleet.r.hget("wt:session:%s" % k, "workflow") == "two-step"]
            if not good:
                break
            sid = good[0]
            chain.append(sid)
        check(len(chain) == 4, "chain root -> 3 levels of children (%d)" % len(chain))
        for depth, s in enumerate(chain):
            h = fleet.r.hgetall("wt:session:%s" % s)
            check(h["outcome"] == "success" and int(h["depth"]) == depth,
                  "depth %d session succeeded (%s)" % (depth, h.get("error")))
            if depth:
                check(h["parent"] == chain[depth - 1], "depth %d records its parent" % depth)
        evs = fleet.events(root)
        spawned = [d["child"] for _, t, d, _ in evs if t == "child_spawned"]
        # The second child names a workflow no worker offers: the broker refuses
        # it at spawn (no child session), and the tool result says so.
        check(len(spawned) == 1 and spawned[0] == chain[1],
              "root recorded one child_spawned event (the unknown workflow was refused)")
        done = [d for _, t, d, _ in evs if t in ("tool_call_completed", "tool_call_failed")]
        check(done[0]["tool"] == "spawn_agent" and chain[1] in done[0]["result_summary"]
              and "success" in done[0]["result_summary"], "child's result is the tool result")
        check(done[1]["tool"] == "spawn_agent" and "error" in done[1] and
              "no-such-workflow" in done[1]["error"], "failed child -> error tool result")
        deepest = fleet.events(chain[-1])
        refused = [d for _, t, d, _ in deepest if t == "tool_call_failed" and d["tool"] == "spawn_agent"]
        check(any("depth limit" in d["error"] for d in refused), "depth 4 refused")
        out = json.loads(fleet.r.hget("wt:session:%s" % root, "output"))
        check(out["context"]["answer"] == "answer for root", "root finished its own work")
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
