# ctest-timeout: 120
"""Every way of setting a session's retention reaches the session hash
(retain_ms, DESIGN §19) on a real fleet: the broker's --retain 2d for a
plain spawn, `worktrain spawn --retain 1h` from the command line, a pipeline
phase's `retain: 2h` through `worktrain run`, and a webhook trigger's
`retain: 3h` through the broker's --triggers. (test_retention checks that
`worktrain validate` refuses a bad `retain:`; this checks the good ones are
used.)"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from test_triggers_webhook import Http  # noqa: E402
from wtfleet import SCRIPTS, WORKFLOWS, Check, Fleet  # noqa: E402

HOUR = 3600 * 1000

TRIGGERS = """\
triggers:
  - id: keep
    provider: generic
    workflowId: two-step
    goal: kept three hours
    retain: 3h
  - id: plain
    provider: generic
    workflowId: two-step
    goal: kept as the broker says
"""

PIPELINE = """\
pipeline: kept
phases:
  - id: a
    workflow: two-step
    goal: kept two hours
    retain: 2h
  - id: b
    workflow: two-step
    needs: [a]
    goal: kept as the broker says
"""


def post(port, path):
    st, j, _ = Http(port).post(path, b"{}", {"Content-Type": "application/json"})
    return st, j


def retain(fleet, sid):
    return fleet.r.hget("wt:session:%s" % sid, "retain_ms") if sid else None


def main():
    check = Check()
    fleet = Fleet("retain-src")
    try:
        fleet.start_redis()
        trig = os.path.join(fleet.dir, "triggers.yml")
        with open(trig, "w") as f:
            f.write(TRIGGERS)
        pipe = os.path.join(fleet.dir, "kept.yml")
        with open(pipe, "w") as f:
            f.write(PIPELINE)
        fleet.start_broker("--retain", "2d", "--triggers", trig, "--workflows", WORKFLOWS)
        fleet.start_worker("r", 4, os.path.join(SCRIPTS, "two-step.json"))
        fleet.wait_workers(1)

        # The command line: spawn --retain 1h, and without it the broker's 2d.
        r = fleet.run_cli("spawn", "--workflow", "two-step", "--goal", "one hour",
                          "--retain", "1h")
        sid = r.stdout.strip()
        check(r.returncode == 0 and len(sid) == 26, "spawn --retain 1h -> a session (%d %r %r)"
              % (r.returncode, r.stdout, r.stderr[-300:]))
        got = retain(fleet, sid)
        check(got == str(HOUR), "spawn --retain 1h stores retain_ms %d (%r)" % (HOUR, got))
        r = fleet.run_cli("spawn", "--workflow", "two-step", "--goal", "default")
        got = retain(fleet, r.stdout.strip())
        check(got == str(48 * HOUR), "a spawn without --retain gets the broker's 2d (%r)" % got)

        # A pipeline phase's retain: through worktrain run.
        r = fleet.run_cli("run", pipe, "--json", timeout=90)
        try:
            rep = json.loads(r.stdout)
        except ValueError:
            rep = {}
        phases = {p.get("id"): p for p in rep.get("phases", [])}
        check(r.returncode == 0 and set(phases) == {"a", "b"},
              "run kept.yml finished (%d %r)" % (r.returncode, (r.stdout + r.stderr)[-400:]))
        got = retain(fleet, phases.get("a", {}).get("session"))
        check(got == str(2 * HOUR), "phase a (retain: 2h) stores retain_ms %d (%r)"
              % (2 * HOUR, got))
        got = retain(fleet, phases.get("b", {}).get("session"))
        check(got == str(48 * HOUR), "phase b (no retain:) gets the broker's 2d (%r)" % got)

        # A trigger's retain: through the broker's webhook intake.
        fleet.wait_for(lambda: post(fleet.http_port, "/webhook/none")[0] == 404, 10, "http up")
        st, j = post(fleet.http_port, "/webhook/keep")
        check(st == 202 and j.get("session"), "webhook keep -> 202 (%s %s)" % (st, j))
        got = retain(fleet, j.get("session"))
        check(got == str(3 * HOUR), "trigger keep (retain: 3h) stores retain_ms %d (%r)"
              % (3 * HOUR, got))
        st, j = post(fleet.http_port, "/webhook/plain")
        got = retain(fleet, j.get("session"))
        check(st == 202 and got == str(48 * HOUR),
              "trigger plain (no retain:) gets the broker's 2d (%s %r)" % (st, got))
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
