# ctest-timeout: 240
"""The bundled pipelines deliver (DESIGN.md 15): implement-feature and
fix-bug with --var repo=URL --var deliver=pr run the code (fix) phase in a
worktree of a file:// remote, push it and open one PR on the fake GitHub
once the phase succeeded; the phase ends for the run only after its
delivery, the review phase receives prUrl and branch in its context, and
`worktrain run --json` shows the phase's delivery. Without --var repo the
pipelines run as before (no workspace, no delivery)."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from deliverkit import TOKEN, control, git, make_remote, remote_log, start_forge  # noqa: E402
from test_pipelines_bundled import Receiver, hook_env  # noqa: E402
from wtfleet import SCRIPTS, Check, Fleet  # noqa: E402


# The file the coding-task writes: a line naming its session and 3,000 more,
# so its diff is larger than the 32 KiB a review's context gets.
CONTENT = "the change for {{session}}\n" + "".join(
    "line %05d of a large generated file\n" % i for i in range(3000))


def script(path, content=CONTENT):
    """tests/scripts/pipelines.json, with coding-task writing a file in its
    implement step (so the delivered branch has a change)."""
    with open(os.path.join(SCRIPTS, "pipelines.json")) as f:
        doc = json.load(f)
    for s in doc["scripts"]:
        if s.get("when", {}).get("workflow") == "coding-task":
            s["replies"].insert(1, {"tool_calls": [{"name": "Write", "input": {
                "path": "feature.txt", "content": content}}]})
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def brief(dl):
    """A delivery for a message: the diff shortened."""
    return dict(dl, diff=(dl.get("diff") or "")[:120])


def run(fleet, env, *args):
    r = fleet.run_cli("run", *args, "--json", timeout=200, env=env)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        print("stdout:", r.stdout[-2000:], "\nstderr:", r.stderr[-3000:])
        return r, None


def main():
    check = Check()
    fleet = Fleet("delivery-pipe")
    d = tempfile.mkdtemp(prefix="wt-dlp-")
    gh, gh_base = start_forge(d, "github", TOKEN)
    bare = make_remote(d)
    url = "file://" + bare
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("w1", 6, script(os.path.join(d, "s.json")),
                           env={"GITHUB_TOKEN": TOKEN, "WORKTRAIN_GITHUB_API": gh_base})
        fleet.wait_workers(1)
        env = hook_env(Receiver(fleet))
        dv = ["--var", "repo=" + url, "--var", "deliver=pr", "--var", "forge=github",
              "--var", "forgeProject=acme/app"]
        r, rep = run(fleet, env, "implement-feature", "--goal", "small: add a feature file", *dv)
        check(r.returncode == 0 and rep is not None, "implement-feature exits 0 (%d)" % r.returncode)
        ph = {p["id"]: p for p in (rep or {}).get("phases", [])}
        dl = ph.get("code", {}).get("delivery") or {}
        items = control(gh_base, "/_control/items")
        check(dl.get("state") == "done" and dl.get("url") and len(items) == 1 and
              items[0]["html_url"] == dl["url"], "run --json shows the code phase's PR: %r" % brief(dl))
        sid = ph.get("code", {}).get("session")
        log = remote_log(bare, "worktrain/%s" % sid)
        check(any(("WorkTrain-Session: %s" % sid) in e[1] for e in log) and len(log) >= 2,
              "the code phase's commits are on the pushed branch (%d commits)" % len(log))
        rsid = ph.get("review", {}).get("session")
        ctx = json.loads(fleet.r.hget("wt:session:%s" % rsid, "context") or "{}") if rsid else {}
        check(ctx.get("prUrl") == dl.get("url") and ctx.get("branch") == "worktrain/%s" % sid,
              "the review phase gets prUrl and branch: %r" % {k: ctx.get(k) for k in
                                                               ("prUrl", "branch")})
        diff = ctx.get("diff") or ""
        check("feature.txt" in diff and ("+the change for %s" % sid) in diff and
              diff == dl.get("diff"),
              "the review phase gets the pushed diff (and run --json shows it): %r" % diff[:300])
        check(30000 < len(diff.encode()) <= 32768 and "diff truncated to 32768 of" in diff,
              "the diff is cut to 32 KiB with a note (%d bytes): %r" %
              (len(diff.encode()), diff[-160:]))
        n = len(git("--git-dir", bare, "show", "worktrain/%s:feature.txt" % sid).splitlines())
        check(n == 3001, "the pushed branch has the whole file (%d lines)" % n)

        r, rep = run(fleet, env, "fix-bug", "--goal", "the parser drops the last line", *dv)
        ph = {p["id"]: p for p in (rep or {}).get("phases", [])}
        dl = ph.get("fix", {}).get("delivery") or {}
        check(dl.get("state") == "done" and len(control(gh_base, "/_control/items")) == 2,
              "fix-bug delivers its fix as a PR: %r" % brief(dl))
        fsid = ph.get("fix", {}).get("session")
        rsid = ph.get("review", {}).get("session")
        ctx = json.loads(fleet.r.hget("wt:session:%s" % rsid, "context") or "{}") if rsid else {}
        check(ctx.get("prUrl") == dl.get("url") and
              ("+the change for %s" % fsid) in (ctx.get("diff") or ""),
              "fix-bug's review gets the PR URL and the diff: %r" %
              {k: (ctx.get(k) or "")[:200] for k in ("prUrl", "diff")})


        r, rep = run(fleet, env, "implement-feature", "--goal", "small: no repo given")
        ph = {p["id"]: p for p in (rep or {}).get("phases", [])}
        check(r.returncode == 0 and "delivery" not in ph.get("code", {}) and
              len(control(gh_base, "/_control/items")) == 2, "without --var repo: no delivery")
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
