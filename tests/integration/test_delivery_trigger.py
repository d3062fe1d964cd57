# ctest-timeout: 180
"""Triggers deliver (DESIGN.md 15): a webhook trigger with `workspace:` (a
repository URL) plus `autoCommit: true` and `autoOpenPR: true` starts a
session with the same workspace spec spawn --repo --auto-commit --deliver pr
makes: three commits on worktrain/<sid> pushed to the file:// remote and one
PR on the fake GitHub. WorkRail's `workspacePath` (a local repository) with
`autoCommit: true` commits each step on the session's branch in the worker's
mirror and pushes nothing; `workspacePath` alone stays a plain worktree. A failing session pushes
nothing, and after --keep-days its worktree and its branch in the mirror go."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from deliverkit import TOKEN, control, git, make_remote, remote_log, script  # noqa: E402
from deliverkit import start_forge, wait_delivery  # noqa: E402
from test_triggers_webhook import Http  # noqa: E402
from wtfleet import WORKFLOWS, Check, Fleet  # noqa: E402

SUBJECTS = ["Report", "Build the artifact", "Inspect the workspace"]  # newest first


def post(port, path, body):
    st, j, _ = Http(port).post(path, json.dumps(body).encode(),
                               {"Content-Type": "application/json"})
    return st, j


def main():
    check = Check()
    fleet = Fleet("delivery-trig")
    d = tempfile.mkdtemp(prefix="wt-dlt-")
    gh, gh_base = start_forge(d, "github", TOKEN)
    bare = make_remote(d)
    local = os.path.join(d, "local")
    git("clone", "-q", bare, local)
    try:
        fleet.start_redis()
        path = os.path.join(fleet.dir, "triggers.yml")
        with open(path, "w") as f:
            f.write("triggers:\n"
                    "  - id: pr\n"
                    "    provider: generic\n"
                    "    workflowId: demo\n"
                    "    goalTemplate: \"Deliver {{$.what}}\"\n"
                    "    workspace: file://%s\n"
                    "    autoCommit: true\n"
                    "    autoOpenPR: true\n"
                    "    forge: github\n"
                    "    forgeProject: acme/app\n"
                    "  - id: local\n"
                    "    provider: generic\n"
                    "    workflowId: demo\n"
                    "    goal: commit locally\n"
                    "    workspacePath: %s\n"
                    "    autoCommit: true\n"
                    "  - id: fail\n"
                    "    provider: generic\n"
                    "    workflowId: demo\n"
                    "    goal: NEVER ends\n"
                    "    agentConfig: {maxTurns: 3}\n"
                    "    workspace: file://%s\n"
                    "    autoCommit: true\n"
                    "    autoOpenPR: true\n"
                    "    forge: github\n"
                    "  - id: plain\n"
                    "    provider: generic\n"
                    "    workflowId: demo\n"
                    "    goal: plain worktree\n"
                    "    workspacePath: %s\n" % (bare, local, bare, local))
        fleet.start_broker("--triggers", path, "--workflows", WORKFLOWS)
        # --keep-days 0.00003 (2.6 s): unfinished sessions' worktrees and mirror
        # branches are pruned within the test.
        fleet.start_worker("w1", 3, script(os.path.join(d, "script.json")),
                           "--keep-days", "0.00003",
                           env={"GITHUB_TOKEN": TOKEN, "WORKTRAIN_GITHUB_API": gh_base})
        fleet.wait_workers(1)
        fleet.wait_for(lambda: post(fleet.http_port, "/webhook/none", {})[0] == 404, 10,
                       "http up")

        st, j = post(fleet.http_port, "/webhook/pr", {"what": "a greeting"})
        sid = j.get("session")
        check(st == 202 and sid, "the webhook starts a session (%s %s)" % (st, j))
        spec = json.loads(fleet.r.hget("wt:session:%s" % sid, "workspace") or "{}")
        check(spec == {"repo": "file://" + bare, "auto_commit": True, "deliver": "pr",
                       "forge": "github", "project": "acme/app"},
              "the session's workspace is spawn --repo's spec: %r" % spec)
        fleet.wait_completed([sid], 60)
        typ, data = wait_delivery(fleet, sid)
        branch = "worktrain/%s" % sid
        log = remote_log(bare, branch)
        check([e[0] for e in log[:3]] == SUBJECTS and len(log) == 4 and
              all(("WorkTrain-Session: %s" % sid) in e[1] for e in log[:3]),
              "three commits with the trailer pushed: %r" % [e[0] for e in log])
        items = control(gh_base, "/_control/items")
        check(len(items) == 1 and items[0].get("_head_ref") == branch and
              items[0].get("title") == "Deliver a greeting" and
              data.get("url") == items[0].get("html_url"),
              "one PR for the trigger's session: %r" % [(i.get("title"), i.get("_head_ref"))
                                                        for i in items])

        st, j = post(fleet.http_port, "/webhook/local", {})
        sid2 = j.get("session")
        spec = json.loads(fleet.r.hget("wt:session:%s" % sid2, "workspace") or "{}")
        check(spec == {"repo": local, "auto_commit": True},
              "workspacePath + autoCommit: a spec of the local repository: %r" % spec)
        fleet.wait_completed([sid2], 60)
        mirrors = os.path.join(fleet.dir, "ws", ".mirrors")
        found = [m for m in os.listdir(mirrors)
                 if git("--git-dir", os.path.join(mirrors, m), "rev-parse", "-q", "--verify",
                        "refs/heads/worktrain/%s" % sid2, check=False).strip()]
        log = remote_log(os.path.join(mirrors, found[0]), "worktrain/%s" % sid2) if found else []
        check([e[0] for e in log[:3]] == SUBJECTS,
              "three commits on the session's branch in the mirror: %r" % [e[0] for e in log])
        check(not git("--git-dir", bare, "branch", "--list", "worktrain/%s" % sid2).strip() and
              len(control(gh_base, "/_control/items")) == 1, "nothing pushed, no PR")

        # A session that fails: nothing pushed; after --keep-days its worktree
        # and its branch in the worker's mirror are gone.
        st, j = post(fleet.http_port, "/webhook/fail", {})
        sid4 = j.get("session")
        fleet.wait_completed([sid4], 60)
        check(fleet.r.hget("wt:session:%s" % sid4, "outcome") != "success",
              "the failing session failed")
        mirror = [os.path.join(mirrors, m) for m in os.listdir(mirrors)
                  if m.startswith("app") and m.endswith(".git")]
        ref = "refs/heads/worktrain/%s" % sid4

        def pruned():
            return not os.path.exists(os.path.join(fleet.dir, "ws", sid4)) and not git(
                "--git-dir", mirror[0], "for-each-ref", ref).strip()
        try:
            fleet.wait_for(pruned, 30, "the failed session pruned")
        except TimeoutError:
            pass
        ok = len(mirror) == 1 and pruned()
        check(ok, "after --keep-days the failed session's worktree and mirror branch are gone")
        if not ok:
            print("mirrors:", os.listdir(mirrors), "ws:", os.listdir(os.path.join(fleet.dir, "ws")),
                  "ended:", os.listdir(os.path.join(fleet.dir, "ws", ".ended"))
                  if os.path.isdir(os.path.join(fleet.dir, "ws", ".ended")) else None,
                  "refs:", git("--git-dir", mirror[0], "for-each-ref") if mirror else "")
            fleet.dump_logs()
        check(not git("--git-dir", bare, "for-each-ref", ref).strip() and
              len(control(gh_base, "/_control/items")) == 1, "and nothing was pushed or opened")

        st, j = post(fleet.http_port, "/webhook/plain", {})
        sid3 = j.get("session")
        check(fleet.r.hget("wt:session:%s" % sid3, "workspace") == local,
              "workspacePath alone stays a path")
        fleet.wait_completed([sid3], 60)
    except Exception as e:
        import traceback
        traceback.print_exc()
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        gh.kill()
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
