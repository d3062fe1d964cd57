# ctest-timeout: 240
"""Retention (DESIGN §19) on a real fleet: broker --retain 2s --tombstones 60,
worker --keep-days 0.00003 (about 2.6 s). A finished session's keys and
every index entry naming it (wt:sessions, its run's and parent's indexes,
its idempotency key, its inbox entries) are gone once it is due; `status
--json`, `await --json` and the console say "expired"; a queued and a
running session with a 1 s retain outlive sessions that ended after them.
Then waves of sessions (a quarter of them stuck) run one after another and
after each wave's sessions are swept, Redis's key count, used_memory (less
the capped fleet stream wt:events) and the workspace root's directory count
are measured: they must not grow with the number of sessions run."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import Check, Fleet, SCRIPTS  # noqa: E402
from test_console_api import Console  # noqa: E402

WAVES = 5
PER_WAVE = 40


def expired(fleet, sid):
    return fleet.r.zscore("wt:expired", sid) is not None


def ws_dirs(fleet):
    root = os.path.join(fleet.dir, "ws")
    if not os.path.isdir(root):
        return 0
    return len([n for n in os.listdir(root) if n != ".ended"])


def measure(fleet):
    info = fleet.r.info("memory")
    events = fleet.r.memory_usage("wt:events", samples=0) or 0
    return {"keys": fleet.r.dbsize(), "used_memory": info["used_memory"],
            "mem_less_fleet_stream": info["used_memory"] - events, "ws_dirs": ws_dirs(fleet),
            "tombstones": fleet.r.zcard("wt:expired")}


def check_expiry_and_indexes(check, fleet, c, con):
    parent = c.spawn("two-step", "parent", key="ret-key-1", run="run1", phase="p")
    child = c.spawn("two-step", "child", parent=parent, run="run1", phase="c")
    fleet.wait_completed([parent, child], 60)
    check(fleet.r.hget("wt:session:%s" % child, "retain_ms") == "2000",
          "the broker's --retain is stored on the session (retain_ms)")
    inbox = [f for _, f in fleet.r.xrange("wt:inbox") if f.get("session") in (parent, child)]
    check(len(inbox) == 2, "each ended session has its inbox entry")
    fleet.wait_for(lambda: expired(fleet, parent) and expired(fleet, child), 20,
                   "both sessions to expire")
    gone = [k for k in ("wt:session:%s" % parent, "wt:session:%s:events" % parent,
                        "wt:session:%s:children" % parent, "wt:session:%s" % child,
                        "wt:session:%s:events" % child, "wt:run:run1:sessions",
                        "wt:idem:ret-key-1") if fleet.r.exists(k)]
    check(not gone, "keys, run index and idempotency key deleted (left: %s)" % gone)
    check(fleet.r.zscore("wt:sessions", parent) is None
          and fleet.r.zscore("wt:sessions", child) is None, "wt:sessions no longer lists them")
    inbox = [f for _, f in fleet.r.xrange("wt:inbox") if f.get("session") in (parent, child)]
    check(not inbox, "their inbox entries are deleted")
    r = fleet.run_cli("status", child, "--json")
    st = json.loads(r.stdout or "{}")
    check(r.returncode == 0 and st.get("status") == "expired" and st.get("expired_ms", 0) > 0,
          "status --json says expired: %s %s" % (r.returncode, r.stdout.strip()))
    r = fleet.run_cli("status", child)
    check("expired" in r.stdout, "status text says expired")
    r = fleet.run_cli("logs", "--session", child)
    check(r.returncode == 1 and "expired" in r.stderr, "logs says expired: %s" % r.stderr.strip())
    r = fleet.run_cli("await", child, "--json", "--timeout", "5s")
    res = json.loads(r.stdout or "[]")
    check(r.returncode == 1 and len(res) == 1 and res[0]["status"] == "expired"
          and res[0]["outcome"] == "expired" and "expired" in res[0]["detail"],
          "await --json says expired (exit 1): %s %s" % (r.returncode, r.stdout.strip()))
    r = fleet.run_cli("await", "01NEVER0000000000000000000", "--timeout", "2s")
    check(r.returncode == 1 and "no session" in r.stderr, "an unknown id is still 'no session'")
    code, body = con.json("/api/sessions/%s" % child)
    check(code == 410 and body.get("status") == "expired", "console: 410 expired (%s %s)" % (code, body))
    code, body = con.json("/api/sessions/%s/tree" % parent)
    check(code == 410 and body.get("status") == "expired", "console tree: 410 expired")
    code, _ = con.json("/api/sessions/01NEVER0000000000000000000")
    check(code == 404, "console: an unknown id is 404")
    r = fleet.run_cli("spawn", "--workflow", "two-step", "--goal", "x", "--retain", "10ms")
    check(r.returncode == 2 and "--retain" in r.stderr, "spawn --retain 10ms is refused")


def check_validate(check, fleet):
    """`retain:` in pipelines and triggers is checked like --retain."""
    pipe = os.path.join(fleet.dir, "p.yml")
    trig = os.path.join(fleet.dir, "t.yml")
    for retain, good in (("2d", True), ("10ms", False)):
        with open(pipe, "w") as f:
            f.write("pipeline: p\nphases:\n  - id: a\n    workflow: two-step\n"
                    "    goal: g\n    retain: %s\n" % retain)
        with open(trig, "w") as f:
            f.write("triggers:\n  - id: t\n    provider: cron\n    workflowId: two-step\n"
                    "    goal: g\n    schedule: '0 * * * *'\n    retain: %s\n" % retain)
        for path in (pipe, trig):
            r = fleet.run_cli("validate", path, "--workflows", "workflows")
            out = r.stdout + r.stderr
            check((r.returncode == 0) == good and (good or "retain" in out),
                  "validate %s with retain: %s -> exit %d %s" % (os.path.basename(path), retain,
                                                                r.returncode, out.strip()[:160]))


def check_live_never_expire(check, fleet, c):
    """A running session with retain 1s outlives a session that started and
    ended after it: retention only counts from the end."""
    slow = c.spawn("two-step", "slow one", retain_ms=1000)
    fleet.wait_for(lambda: fleet.r.hget("wt:session:%s" % slow, "status") == "running", 10,
                   "the slow session to run")
    quick = c.spawn("two-step", "quick one", retain_ms=1000)
    fleet.wait_completed([quick], 30)
    fleet.wait_for(lambda: expired(fleet, quick), 10, "the quick session to expire")
    check(fleet.r.hget("wt:session:%s" % slow, "status") == "running"
          and fleet.r.zscore("wt:sessions", slow) is not None
          and not expired(fleet, slow), "the running session (retain 1s) is still there")
    fleet.wait_completed([slow], 30)
    fleet.wait_for(lambda: expired(fleet, slow), 10, "the slow session to expire once ended")
    check(True, "the slow session expired after it ended")


def waves(check, fleet, c):
    rows = []
    for w in range(WAVES):
        goals = ["wave %d fail %d" % (w, i) if i % 4 == 0 else "wave %d ok %d" % (w, i)
                 for i in range(PER_WAVE)]
        sids = [c.spawn("two-step", g) for g in goals]
        fleet.wait_completed(sids, 120)
        fleet.wait_for(lambda: fleet.r.zcard("wt:expiry") == 0
                       and not any(fleet.r.exists("wt:session:%s" % s) for s in sids),
                       30, "wave %d to expire" % w)
        fleet.wait_for(lambda: ws_dirs(fleet) == 0, 30, "wave %d workspaces to go" % w)
        m = measure(fleet)
        m["sessions_run"] = (w + 1) * PER_WAVE
        rows.append(m)
        print("wave %d: %s" % (w, json.dumps(m)), flush=True)
    first, last = rows[0], rows[-1]
    check(last["keys"] <= first["keys"], "Redis keys plateau: %d after %d sessions, %d after %d"
          % (first["keys"], first["sessions_run"], last["keys"], last["sessions_run"]))
    # Allocator noise moves used_memory by ~10% between samples; 120 more
    # sessions kept would add ~850 KB (7 KB each, measured before retention).
    second = rows[1]
    check(last["mem_less_fleet_stream"] <= second["mem_less_fleet_stream"] + 256 * 1024,
          "used_memory less the capped fleet stream plateaus: %d after %d sessions, %d after %d"
          % (second["mem_less_fleet_stream"], second["sessions_run"],
             last["mem_less_fleet_stream"], last["sessions_run"]))
    check(last["tombstones"] <= 60, "tombstones stay within --tombstones (%d)" % last["tombstones"])
    check(all(r["ws_dirs"] == 0 for r in rows), "the workspace root empties after every wave")
    left = [s for s in fleet.r.zrange("wt:sessions", 0, -1)
            if not fleet.r.exists("wt:session:%s" % s)]
    check(not left, "wt:sessions lists no expired id (%d dangling)" % len(left))
    metrics = fleet.metrics()
    line = [x for x in metrics.splitlines() if x.startswith("wt_sessions_expired_total ")]
    check(line and int(float(line[0].split()[1])) >= WAVES * PER_WAVE,
          "wt_sessions_expired_total counts them: %s" % (line[0] if line else "missing"))


def main():
    check = Check()
    fleet = Fleet("retention")
    try:
        fleet.start_redis()
        fleet.start_broker("--retain", "2s", "--tombstones", "60")
        fleet.start_worker("r1", 8, os.path.join(SCRIPTS, "retention.json"),
                           "--keep-days", "0.00003")
        fleet.wait_workers(1)
        con = Console(fleet, "console")
        c = fleet.client()
        check_expiry_and_indexes(check, fleet, c, con)
        check_validate(check, fleet)
        # a failed session's workspace stays for inspection, then goes
        stuck = c.spawn("two-step", "fail once")
        fleet.wait_completed([stuck], 30)
        wdir = os.path.join(fleet.dir, "ws", stuck)
        check(fleet.r.hget("wt:session:%s" % stuck, "outcome") == "stuck" and os.path.isdir(wdir)
              and os.path.exists(os.path.join(wdir, "note.txt")),
              "a stuck session's workspace is kept when it ends")
        fleet.wait_for(lambda: not os.path.exists(wdir), 20, "the kept workspace to be pruned")
        check(True, "and removed after --keep-days")
        check_live_never_expire(check, fleet, c)
        waves(check, fleet, c)
        c.close()
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
