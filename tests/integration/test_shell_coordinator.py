# ctest-timeout: 240
"""The shell coordinator example (coordinator/examples/review-loop.sh) against
real fleets with the scripted provider and tests/scripts/pipelines*.json:

- review blocking on pass 1, clean on pass 2: exit 0 after exactly 2 review
  passes; pass 2 got reviewAttempt=2 and previousResult (the first pass's
  result object), so mr-review ran its fix step first; re-running with the
  same --run-id reuses the sessions (spawn --key) and creates none;
- always blocking: exit 3 after 3 passes, findings on stderr;
- a script with no entry for coding-task: that session fails naming the
  workflow and the coordinator exits 1;
- bad usage exits 2."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, REPO, SCRIPTS, Check, Fleet  # noqa: E402

LOOP = os.path.join(REPO, "coordinator", "examples", "review-loop.sh")


def run_loop(fleet, *args, timeout=150):
    env = dict(os.environ)
    env["WORKTRAIN"] = BIN
    env["WORKTRAIN_REDIS"] = fleet.redis_url
    env["WORKTRAIN_BROKER"] = fleet.clients_ep
    return subprocess.run(["bash", LOOP] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=REPO, stdin=subprocess.DEVNULL)


def start(name, script):
    fleet = Fleet(name)
    fleet.start_redis()
    fleet.start_broker()
    fleet.start_worker("w1", 2, script)
    fleet.wait_workers(1)
    return fleet


def passes(stdout):
    """[(pass, sid, verdict)] from the 'review pass N SID: verdict V' lines."""
    return [(int(m.group(1)), m.group(2), m.group(3))
            for m in re.finditer(r"^review pass (\d+) (\S+): verdict (\S+)", stdout, re.M)]


def step_notes(fleet, sid):
    return [(d.get("step"), d.get("notes", "")) for _, t, d, _ in fleet.events(sid)
            if t == "step_advanced"]


def clean_on_second_pass(check):
    fleet = start("shellcoord", os.path.join(SCRIPTS, "pipelines.json"))
    try:
        r = run_loop(fleet)
        err = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(err) >= 1 and "GOAL" in err[-1],
              "no GOAL: exit 2 with a message (%d %r)" % (r.returncode, err[-1:]))

        r = run_loop(fleet, "--run-id", "t1", "--timeout", "60s", "add a --dry-run flag")
        print(r.stdout + r.stderr)
        check(r.returncode == 0, "review loop exits 0 (got %d)" % r.returncode)
        p = passes(r.stdout)
        check([(n, v) for n, _, v in p] == [(1, "blocking"), (2, "clean")],
              "exactly 2 review passes: blocking then clean (%r)" % p)
        check("2 review pass(es); final verdict clean" in r.stdout, "summary line")
        m = re.search(r"^coding-task (\S+): success: implemented add a --dry-run flag", r.stdout,
                      re.M)
        check(m is not None, "coding-task result read with jq")
        if len(p) == 2:
            first, second = p[0][1], p[1][1]
            check(fleet.r.hget("wt:session:%s" % second, "workflow") == "mr-review",
                  "pass 2 is an mr-review session")
            n1, n2 = step_notes(fleet, first), step_notes(fleet, second)
            check(len(n1) == 3 and not any("previous review pass" in n for _, n in n1),
                  "pass 1 skipped the fix step (%d steps)" % len(n1))
            fix = [n for _, n in n2 if "previous review pass" in n]
            check(len(n2) == 4 and len(fix) == 1 and first in fix[0],
                  "pass 2 fixed the findings of pass 1 first (previousResult is pass 1's result)")
            res = json.loads(fleet.run_cli("await", second, "--json", "--timeout", "10s").stdout)
            ctx = res[0]["output"]["context"]
            check(ctx.get("reviewAttempt") == 2 and ctx.get("reviewedAttempt") == "2"
                  and ctx.get("previousResult", {}).get("session") == first
                  and ctx.get("previousResult", {}).get("output", {}).get("context", {})
                  .get("verdict") == "blocking",
                  "pass 2 context: reviewAttempt 2, previousResult with pass 1's verdict")

        before = fleet.r.zcard("wt:sessions")
        r2 = run_loop(fleet, "--run-id", "t1", "--timeout", "60s", "add a --dry-run flag")
        check(r2.returncode == 0 and passes(r2.stdout) == p and fleet.r.zcard("wt:sessions") == before,
              "same --run-id: same sessions, none new (%d, %d -> %d)"
              % (r2.returncode, before, fleet.r.zcard("wt:sessions")))
    except Exception as e:  # report, then fail
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()


def always_blocking(check):
    fleet = start("shellblock", os.path.join(SCRIPTS, "pipelines-review-blocking.json"))
    try:
        r = run_loop(fleet, "--timeout", "60s", "a big change")
        print(r.stdout + r.stderr)
        check(r.returncode == 3, "still blocking after 3 passes: exit 3 (got %d)" % r.returncode)
        check([v for _, _, v in passes(r.stdout)] == ["blocking"] * 3, "3 passes, all blocking")
        check("still 'blocking' after 3 pass(es)" in r.stderr and "src/cli.c" in r.stderr,
              "stderr says so and lists the findings")
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()


def session_fails(check):
    fleet = Fleet("shellfail")
    script = os.path.join(fleet.dir, "review-only.json")
    with open(script, "w") as f:
        json.dump({"scripts": [{"when": {"workflow": "mr-review"},
                                "replies": [{"text": "never used"}]}]}, f)
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("w1", 2, script)
        fleet.wait_workers(1)
        r = run_loop(fleet, "--timeout", "60s", "anything")
        print(r.stdout + r.stderr)
        check(r.returncode == 1, "a failed session: exit 1 (got %d)" % r.returncode)
        check("ended error" in r.stderr
              and "no script entry matches workflow 'coding-task'" in r.stderr,
              "stderr has the outcome and the detail naming the workflow")
        check("review pass" not in r.stdout, "no review after a failed coding-task")
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()


def main():
    check = Check()
    clean_on_second_pass(check)
    always_blocking(check)
    session_fails(check)
    check.done()


if __name__ == "__main__":
    main()
