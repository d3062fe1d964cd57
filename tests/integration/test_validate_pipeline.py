# ctest-timeout: 60
"""`worktrain validate` on pipeline YAML (DESIGN sections 3 and 7): broken
copies of the section 7 example, each error printed as FILE:LINE:COL with
exit 1; known workflows from --workflows, from the fleet registry in a real
Redis, or skipped with a warning when Redis is not reachable."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import Check, Fleet, WORKFLOWS, free_port  # noqa: E402

DESIGN_EXAMPLE = """\
pipeline: implement-feature
inputs: [goal]
phases:
  - id: classify
    workflow: classify-task
    goal: "{{inputs.goal}}"
  - id: discovery
    workflow: discovery
    needs: [classify]
    if: classify.output.context.taskComplexity != 'Small'
    goal: "{{inputs.goal}}"
  - id: code
    workflow: coding-task
    needs: [classify, discovery]
    goal: "{{inputs.goal}}"
  - id: review
    workflow: mr-review
    needs: [code]
    retry: {max_attempts: 3, until: review.output.context.verdict == 'clean'}
  - id: escalate
    notify: {webhook: "$ESCALATION_WEBHOOK"}
    needs: [review]
    if: review.output.context.verdict == 'blocking'
"""

# name -> (edit of the example, expected line:col, text the message holds)
BROKEN = {
    "unknown_workflow": (("workflow: mr-review", "workflow: mr-reveiw"), "17:15",
                         "unknown workflow 'mr-reveiw' in phase 'review'"),
    "unknown_need": (("needs: [code]", "needs: [cod]"), "18:13",
                     "unknown phase 'cod' in needs of 'review' (did you mean 'code'?)"),
    "cycle": (("needs: [classify]\n", "needs: [classify, code]\n"), "14:23",
              "cycle in needs: discovery -> code -> discovery"),
    "bad_expression": (("taskComplexity != 'Small'", "taskComplexity != 'Small' )"), "10:59",
                       "bad expression in 'if': unexpected ')'"),
    "bad_yaml": (("  - id: code\n    workflow:", "  - id: code\n   workflow:"), "13:4",
                 "invalid YAML: did not find expected '-' indicator"),
    "typo_key": (("    needs: [code]\n", "    nedds: [code]\n"), "18:5",
                 "unknown key 'nedds' in a phase (did you mean 'needs'?)"),
}


def write(dirname, name, text):
    path = os.path.join(dirname, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def error_lines(out):
    return [l for l in out.splitlines() if ": error: " in l]


def main():
    check = Check()
    fleet = Fleet("validate")
    try:
        good = write(fleet.dir, "good.yml", DESIGN_EXAMPLE)
        r = fleet.run_cli("validate", "--workflows", WORKFLOWS, good)
        check(r.returncode == 0 and r.stdout.strip() ==
              "%s: ok (pipeline 'implement-feature', 5 phases)" % good,
              "the section 7 example validates (%d %r %r)" % (r.returncode, r.stdout, r.stderr))

        for name, ((old, new), pos, msg) in sorted(BROKEN.items()):
            assert old in DESIGN_EXAMPLE, name
            path = write(fleet.dir, name + ".yml", DESIGN_EXAMPLE.replace(old, new, 1))
            r = fleet.run_cli("validate", "--workflows", WORKFLOWS, path)
            errs = error_lines(r.stdout)
            want = "%s:%s: error: %s" % (path, pos, msg)
            check(r.returncode == 1 and len(errs) == 1 and errs[0].startswith(want),
                  "%s: exit 1 and %r (got %d %r)" % (name, want, r.returncode, r.stdout))

        # Every problem of every file in one run; a good file still says ok.
        many = write(fleet.dir, "many.yml", DESIGN_EXAMPLE.replace("needs: [code]", "needs: [cod]")
                     .replace("workflow: mr-review", "workflow: nope"))
        r = fleet.run_cli("validate", "--workflows", WORKFLOWS, many, good)
        errs = error_lines(r.stdout)
        check(r.returncode == 1 and [e.split(": error")[0] for e in errs] ==
              ["%s:17:15" % many, "%s:18:13" % many] and "good.yml: ok" in r.stdout,
              "two errors in order, then the good file (%r)" % r.stdout)

        # A triggers file goes to the triggers checker; other YAML is refused; a missing file.
        trig = write(fleet.dir, "triggers.yml", "triggers:\n  - id: t\n    provider: generic\n")
        r = fleet.run_cli("validate", "--workflows", WORKFLOWS, trig)
        check(r.returncode == 1 and "%s:2:5: error: trigger 't' has no 'workflowId'" % trig
              in r.stdout, "triggers file is checked by the triggers loader (%r)" % r.stdout)
        other = write(fleet.dir, "other.yml", "foo: 1\n")
        r = fleet.run_cli("validate", other)
        check(r.returncode == 1 and "neither a pipeline nor a triggers file" in r.stdout,
              "other YAML is refused")
        r = fleet.run_cli("validate", os.path.join(fleet.dir, "absent.yml"))
        check(r.returncode == 1 and "cannot read" in r.stdout, "missing file: cannot read")

        # No --workflows and no Redis: the workflow check is skipped with a warning.
        wf_typo = os.path.join(fleet.dir, "unknown_workflow.yml")
        dead = "redis://127.0.0.1:%d/0" % free_port()
        r = fleet.run_cli("validate", "--redis", dead, wf_typo)
        check(r.returncode == 0 and "warning: workflow ids not checked" in r.stdout
              and "not reachable" in r.stderr and "ok (pipeline" in r.stdout,
              "Redis unreachable: warning, exit 0 (%d %r %r)" % (r.returncode, r.stdout, r.stderr))

        # No --workflows: the fleet registry in Redis says which workflows exist.
        fleet.start_redis()
        for wf in ("classify-task", "discovery", "coding-task", "mr-review"):
            fleet.r.hset("wt:workflows", wf, '{"id": "%s"}' % wf)
        r = fleet.run_cli("validate", good)
        check(r.returncode == 0 and "ok (pipeline" in r.stdout and r.stderr == "",
              "registry knows the example's workflows (%r %r)" % (r.stdout, r.stderr))
        r = fleet.run_cli("validate", wf_typo)
        errs = error_lines(r.stdout)
        check(r.returncode == 1 and len(errs) == 1 and errs[0].startswith(
            "%s:17:15: error: unknown workflow 'mr-reveiw'" % wf_typo),
            "registry: unknown workflow at 17:15 (%r)" % r.stdout)

        # Workflow JSON still goes to the workflow loader.
        r = fleet.run_cli("validate", os.path.join(WORKFLOWS, "demo.json"), good)
        check(r.returncode == 0 and "ok (workflow 'demo'" in r.stdout, "json and yml together")
        r = fleet.run_cli("validate", "--help")
        check(r.returncode == 0 and "--workflows DIR" in r.stdout and "pipeline" in r.stdout,
              "--help describes pipelines")
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
