"""`worktrain validate` on triggers files: every problem of a broken file
at once with FILE:LINE:COL, an unset $NAME named, workflow ids checked with
--workflows, and WorkRail's own triggers.yml accepted with warnings only
(its workflow ids are WorkRail's and its workspacePath is a Mac path; with
no list of the fleet's workflows each id is a warning). The triggers file
comes from ../shared when present, else from the copy in tests/fixtures."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import WORKRAIL, WORKFLOWS, Check, Fleet, free_port  # noqa: E402

FIXTURE = os.path.join(WORKRAIL, "triggers.yml")

BROKEN = """\
triggers:
  - id: a
    provider: github_poll
    workflowId: two-step
    goal: g
  - id: b
    provider: generic
    workflowId: no-such-workflow
    hmacSecret: $WT_VALIDATE_UNSET_SECRET
  - id: c
    provider: cron
    workflowId: two-step
    goal: nightly
    schedule: "0 3 * * funday"
  - id: d
    provider: gitlab_poll
    workflowId: two-step
    goal: review
    source: {baseUrl: "not a url", projectId: 7}
"""


def main():
    check = Check()
    fleet = Fleet("trig-validate")
    dead = "redis://127.0.0.1:%d/0" % free_port()
    try:
        path = os.path.join(fleet.dir, "triggers.yml")
        with open(path, "w") as f:
            f.write(BROKEN)
        os.environ.pop("WT_VALIDATE_UNSET_SECRET", None)
        r = fleet.run_cli("validate", "--workflows", WORKFLOWS, path)
        lines = [ln for ln in r.stdout.splitlines() if ": error: " in ln]
        want = ["%s:3:15: error: unknown provider 'github_poll'" % path,
                "%s:6:5: error: trigger 'b' has no 'goal' or 'goalTemplate'" % path,
                "%s:8:17: error: unknown workflowId 'no-such-workflow'" % path,
                "%s:9:17: error: environment variable 'WT_VALIDATE_UNSET_SECRET' is not set" % path,
                "%s:14:24: error: bad cron schedule '0 3 * * funday'" % path,
                "%s:19:23: error: 'baseUrl' is not a valid URL" % path]
        got_ok = len(lines) == len(want) and all(ln.startswith(w) for ln, w in zip(lines, want))
        check(r.returncode == 1 and got_ok, "every problem, in order, with line:col (%r)" % lines)

        # Set the variable: that error goes away; the others stay.
        r = fleet.run_cli("validate", "--workflows", WORKFLOWS, path,
                          env={"WT_VALIDATE_UNSET_SECRET": "x"})
        check(r.returncode == 1 and "WT_VALIDATE_UNSET_SECRET" not in r.stdout,
              "$NAME read from the environment")

        good = os.path.join(fleet.dir, "good.yml")
        with open(good, "w") as f:
            f.write("triggers:\n  - id: n\n    provider: cron\n    workflowId: two-step\n"
                    "    goal: g\n    schedule: '*/5 9-17 * * mon-fri'\n")
        r = fleet.run_cli("validate", "--workflows", WORKFLOWS, good)
        check(r.returncode == 0 and r.stdout.strip() == "%s: ok (1 trigger)" % good,
              "a good file is ok (%r)" % r.stdout)

        r = fleet.run_cli("validate", "--redis", dead, FIXTURE)
        check(r.returncode == 0 and "%s: ok (2 triggers)" % FIXTURE in r.stdout and
              ": error: " not in r.stdout,
              "WorkRail's triggers.yml validates (%r)" % r.stdout)
        check("4:17: warning: workflowId 'coding-task-workflow-agentic' not checked"
              in r.stdout and "5:20: warning: workspacePath" in r.stdout,
              "with warnings for its workflow ids and workspacePath")
        r = fleet.run_cli("validate", "--workflows", WORKFLOWS, FIXTURE)
        check(r.returncode == 1 and "unknown workflowId 'mr-review-workflow-agentic'"
              in r.stdout, "against our workflows its ids are unknown: errors")
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
