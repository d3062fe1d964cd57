# ctest-timeout: 180
"""The CLI contract (DESIGN section 3): --help on every verb, bad flags exit 2,
await's exit codes 0/1/2 and --json results, status, logs, workflows."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, SCRIPTS, Check, Fleet, free_port  # noqa: E402

VERBS = ["broker", "worker", "spawn", "await", "status", "logs", "cancel", "workflows",
         "validate", "up"]


def main():
    check = Check()
    fleet = Fleet("cli")
    try:
        for v in VERBS:
            r = fleet.run_cli(v, "--help")
            check(r.returncode == 0 and "usage" in (r.stdout + r.stderr).lower(), "%s --help" % v)
            r = fleet.run_cli(v, "--no-such-flag")
            err = r.stderr.strip().splitlines()
            check(r.returncode == 2 and len(err) == 1, "%s bad flag -> exit 2, one line (%r)"
                  % (v, err[:2]))
        r = fleet.run_cli("frobnicate")
        check(r.returncode == 2, "unknown verb exits 2")
        # spawn with no broker listening (issue 11 item 6): one line naming the endpoint tried,
        # saying nothing may listen there and which flag/variable sets it; exit 2. By the
        # variable (ipc) and by the flag (tcp on a free port).
        nobody = "ipc://%s/nobody.sock" % fleet.dir
        port_ep = "tcp://127.0.0.1:%d" % free_port()
        for how, ep, args, env in (("WORKTRAIN_BROKER", nobody, [], {"WORKTRAIN_BROKER": nobody}),
                                   ("--broker", port_ep, ["--broker", port_ep], {})):
            r = fleet.run_cli("spawn", "--workflow", "two-step", "--goal", "y", "--wait-timeout",
                              "1s", *args, env=env)
            err = r.stderr.strip()
            check(r.returncode == 2 and len(err.splitlines()) == 1 and ep in err
                  and "nothing may be listening" in err and "--broker" in err
                  and "WORKTRAIN_BROKER" in err,
                  "spawn against %s set by %s: exit 2 with the endpoint and the hint (%d %r)"
                  % (ep, how, r.returncode, err))
        r = fleet.run_cli("spawn", "--workflow", "x", "--goal", "y", "--timeout", "soon")
        check(r.returncode == 2, "bad duration exits 2")

        fleet.start_redis()
        fleet.start_broker()
        ok = fleet.run_cli("spawn", "--workflow", "two-step", "--goal", "cli ok").stdout.strip()
        bad = fleet.run_cli("spawn", "--workflow", "no-such-workflow", "--goal", "x").stdout.strip()
        check(len(ok) == 26 and len(bad) == 26, "spawn prints session ids")

        # No worker yet: await must time out with exit 2.
        r = fleet.run_cli("await", ok, "--timeout", "1s")
        check(r.returncode == 2, "await times out with exit 2 (got %d)" % r.returncode)
        r = fleet.run_cli("status", ok, "--json")
        check(r.returncode == 0 and json.loads(r.stdout).get("status") == "queued",
              "status shows queued")

        fleet.start_worker("w1", 2, os.path.join(SCRIPTS, "two-step.json"))
        r = fleet.run_cli("await", ok, "--timeout", "30s", "--json")
        check(r.returncode == 0, "await success exits 0 (%d %s)" % (r.returncode, r.stderr))
        res = json.loads(r.stdout)
        check(isinstance(res, list) and res[0]["session"] == ok and res[0]["outcome"] == "success"
              and res[0]["output"]["context"]["answer"] == "answer for cli ok"
              and {"workflow", "status", "detail"} <= set(res[0]),
              "await --json prints the result object")
        # No worker offers no-such-workflow: it waits (and says why) instead of
        # failing on a worker; cancelled, it counts as failed for await.
        st = {}
        for _ in range(200):
            st = json.loads(fleet.run_cli("status", bad, "--json").stdout)
            if st.get("waiting"):
                break
            time.sleep(0.05)
        check(st.get("status") == "queued"
              and st.get("waiting") == "no live worker offers workflow 'no-such-workflow'",
              "session of a workflow no worker offers waits and says why (%s)" % st.get("waiting"))
        r = fleet.run_cli("spawn", "--workflow", "no-such-workflow", "--goal", "x")
        check(r.returncode == 1 and "unknown workflow 'no-such-workflow'" in r.stderr,
              "once workers advertised their workflows, an unknown one is refused")
        check(fleet.run_cli("cancel", bad).returncode == 0, "cancel the waiting session")
        r = fleet.run_cli("await", ok, bad, "--timeout", "30s", "--json")
        check(r.returncode == 1, "await with a failed session exits 1 (%d)" % r.returncode)
        res = json.loads(r.stdout)
        check(len(res) == 2 and res[1]["outcome"] == "cancelled",
              "the cancelled session's outcome is reported")
        r = fleet.run_cli("await", "--sessions", "%s,%s" % (ok, bad), "--mode", "any", "--timeout", "5s")
        check(r.returncode in (0, 1) and ok in r.stdout + r.stderr or bad in r.stdout,
              "await --mode any returns")
        r = fleet.run_cli("await", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "--timeout", "2s")
        check(r.returncode == 1 and "01ARZ3NDEKTSV4RRFFQ69G5FAV" in r.stderr, "unknown session named")

        r = fleet.run_cli("status", ok)
        check(r.returncode == 0 and "completed" in r.stdout and "w1" in r.stdout, "status text")
        r = fleet.run_cli("status", ok, "--json")
        st = json.loads(r.stdout)
        check(st.get("turns") in (2, "2"), "status --json has turns")
        r = fleet.run_cli("logs", "--session", ok, "--json")
        lines = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
        check(r.returncode == 0 and lines[0]["type"] == "session_queued"
              and lines[-1]["type"] == "session_completed", "logs --json shows the stream in order")
        r = fleet.run_cli("logs", "--session", ok, "--follow", timeout=20)
        check(r.returncode == 0 and "session_completed" in r.stdout,
              "logs --follow on an ended session prints and exits")
        r = fleet.run_cli("workflows", "--json")
        ids = {w["id"] for w in json.loads(r.stdout)} if r.returncode == 0 else set()
        check({"two-step", "demo"} <= ids, "workflows lists what the fleet runs")
        r = fleet.run_cli("validate", os.path.join(os.path.dirname(BIN), "..", "workflows", "demo.json"))
        check(r.returncode == 0, "validate ok file")
        broken = os.path.join(fleet.dir, "broken.json")
        with open(broken, "w") as f:
            f.write('{"id": "b", "name": "b", "version": "1", "description": "d",\n "steps": [ {"id": "s"} ]}')
        r = fleet.run_cli("validate", broken)
        check(r.returncode == 1 and "broken.json" in r.stdout + r.stderr
              and "steps[0]" in r.stdout + r.stderr, "validate names file and JSON path")
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
