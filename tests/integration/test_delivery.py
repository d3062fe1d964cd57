# ctest-timeout: 180
"""Delivery (DESIGN.md 15): a scripted session edits two files over three
steps in a worktree of a file:// remote with --auto-commit --deliver pr:
three commits with the step titles and the WorkTrain-Session trailer, the
branch pushed, one draft PR on the fake GitHub whose body holds the notes;
the same against the fake GitLab (a "Draft:" merge request). The forge
answering 500, 403 with X-RateLimit-Reset and 422 "already exists" is
retried or recognised, never two PRs. Failed, cancelled, stuck and
timed-out sessions push nothing and open nothing; their worktrees and mirror
branches stay. Tokens appear nowhere in Redis, logs,
/proc/*/cmdline or the tool environment."""
import glob
import json
import os
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from deliverkit import (GL_TOKEN, TOKEN, control, git, make_remote, remote_log,  # noqa: E402
                       script, start_forge, wait_delivery)
from wtfleet import Check, Fleet, free_port  # noqa: E402

SUBJECTS = ["Report", "Build the artifact", "Inspect the workspace"]  # newest first


def spawn(fleet, goal, url, *extra):
    r = fleet.run_cli("spawn", "--workflow", "demo", "--goal", goal, "--repo", url,
                      "--auto-commit", "--deliver", "pr", *extra)
    if r.returncode != 0:
        raise RuntimeError("spawn failed: %s" % r.stderr)
    return r.stdout.strip()


def prs(base, gitlab=False):
    return control(base, "/_control/items")


def main():
    check = Check()
    fleet = Fleet("delivery")
    d = tempfile.mkdtemp(prefix="wt-dl-")
    gh, gh_base = start_forge(d, "github", TOKEN)
    gl, gl_base = start_forge(d, "gitlab", GL_TOKEN)
    bare = make_remote(d)
    url = "file://" + bare
    try:
        fleet.start_redis()
        fleet.start_broker()
        w1_http = free_port()
        fleet.start_worker("w1", 4, script(os.path.join(d, "script.json")),
                           "--http", "127.0.0.1:%d" % w1_http,
                           env={"GITHUB_TOKEN": TOKEN, "GITLAB_TOKEN": GL_TOKEN,
                                "WORKTRAIN_GITHUB_API": gh_base,
                                "WORKTRAIN_GITLAB_API": gl_base + "/api/v4"})
        fleet.wait_workers(1)

        # 1. GitHub: three commits, pushed, one draft PR with the notes.
        sid = spawn(fleet, "Add a greeting", url, "--forge", "github", "--forge-project",
                    "acme/app", "--labels", "bot,worktrain")
        fleet.wait_completed([sid], 60)
        typ, data = wait_delivery(fleet, sid)
        branch = "worktrain/%s" % sid
        log = remote_log(bare, branch)
        check([e[0] for e in log[:3]] == SUBJECTS and len(log) == 4,
              "three commits with the step titles on the pushed branch: %r" % [e[0] for e in log])
        check(all(("WorkTrain-Session: %s" % sid) in e[1] for e in log[:3]),
              "each commit has the WorkTrain-Session trailer")
        check("NOTES-TWO wrote src/b.txt" in log[1][1], "the commit body is the step's notes")
        check(log[0][2] == "WorkTrain <worktrain@localhost>", "default author: %s" % log[0][2])
        items = prs(gh_base)
        check(len(items) == 1, "exactly one PR (%d)" % len(items))
        pr = items[0] if items else {}
        check("NOTES-ONE" in pr.get("body", "") and "NOTES-THREE" in pr.get("body", "")
              and sid in pr.get("body", ""), "the PR body holds the notes and the session id")
        check('"summary": "two files"' in pr.get("body", ""),
              "the PR body holds the session's output (its final context)")
        check(pr.get("_draft") is True and pr.get("_head_ref") == branch and
              pr.get("title") == "Add a greeting", "a draft PR from the branch titled by the goal")
        check(sorted(lb["name"] for lb in pr.get("labels", [])) == ["bot", "worktrain"],
              "labels set")
        h = fleet.r.hgetall("wt:session:%s" % sid)
        check(h.get("pr_url") == pr.get("html_url") and h.get("branch") == branch,
              "pr_url and branch on the session hash")
        files = fleet.r.hget("wt:delivery:%s" % sid, "files") or ""
        check(sorted(files.split("\n")) == ["a.txt", "src/b.txt"],
              "the delivery record lists the files the branch changed (%r)" % files)
        check(data.get("url") == pr.get("html_url") and data.get("number") == pr.get("number")
              and data.get("branch") == branch and len(data.get("commit", "")) == 40,
              "delivery_completed {branch, commit, url, number}: %r" % data)
        kinds = [f.get("kind") for _, f in fleet.r.xrange("wt:inbox")]
        check("delivery" in kinds, "the delivery is in the inbox")
        # delivery_completed is recorded before the worktree goes: wait for it.
        gone = os.path.join(fleet.dir, "ws", sid)
        try:
            fleet.wait_for(lambda: not os.path.exists(gone), 30, "worktree removed")
        except Exception:
            pass
        check(not os.path.exists(gone), "the delivered worktree is removed")

        # 2. GitLab: the same as a "Draft:" merge request.
        sid2 = spawn(fleet, "Add a greeting on GitLab", url, "--forge", "gitlab",
                     "--forge-project", "grp/app")
        fleet.wait_completed([sid2], 60)
        typ, data = wait_delivery(fleet, sid2)
        mrs = prs(gl_base)
        check(len(mrs) == 1 and mrs[0]["title"] == "Draft: Add a greeting on GitLab" and
              mrs[0]["source_branch"] == "worktrain/%s" % sid2 and
              "NOTES-TWO" in mrs[0]["description"], "one draft merge request with the notes")
        check(len(remote_log(bare, "worktrain/%s" % sid2)) == 4, "three commits pushed (GitLab)")
        # Delivered again with the lookup missing it once: the create meets GitLab's 409.
        fleet.r.hset("wt:delivery:%s" % sid2, mapping={"state": "pushed", "attempt": "0"})
        control(gl_base, "/_control/fail", {"answers": [{"raw": "[]"}]})
        fleet.r.zadd("wt:deliveries", {sid2: 0})
        wait_for_state(fleet, sid2, "done")
        posts = [q for q in control(gl_base, "/_control/requests") if q["method"] == "POST"]
        check(posts and posts[-1]["status"] == 409 and len(prs(gl_base)) == 1,
              "GitLab's 409 is recognised: still one merge request")

        # 3. The forge fails: 500, then a rate limit (403 + X-RateLimit-Reset), then 422
        #    because a PR for the branch already exists (made behind our back).
        control(gh_base, "/_control/fail", {"answers": [{"status": 500}]})
        sid3 = spawn(fleet, "Forge trouble", url, "--forge", "github", "--forge-project",
                     "acme/app")
        fleet.wait_completed([sid3], 60)
        typ, data = wait_delivery(fleet, sid3, 60)
        fails = [e for _, t, e, _ in fleet.events(sid3) if t == "delivery_failed"]
        check(len(fails) >= 1 and fails[0]["attempt"] == 1 and "500" in fails[0]["error"]
              and fails[0]["retry_in_ms"] >= 0, "a 500 is retried: %r" % fails[:1])
        before = len(prs(gh_base))
        check(before == 2, "then one PR for it (%d in all)" % before)
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % w1_http, timeout=10) as r:
            m = [ln for ln in r.read().decode().splitlines()
                 if ln.startswith("wt_delivery_failures_total ")]
        check(m and float(m[0].split()[1]) >= 1,
              "the worker's /metrics counts the failed attempt (%s)" % m)

        # The quota is exhausted until 20 s from now: the retry is scheduled for the
        # reset (the test then lifts the limit and makes the entry due, instead of waiting).
        control(gh_base, "/_control/ratelimit", {"reset_in_s": 20, "status": 403})
        sid4 = spawn(fleet, "Rate limited", url, "--forge", "github", "--forge-project",
                     "acme/app")
        fleet.wait_completed([sid4], 60)
        typ, data = wait_delivery(fleet, sid4, 60, want=("delivery_failed",))
        check("403" in data.get("error", "") and 3000 <= data.get("retry_in_ms", -1) <= 21000,
              "403 with X-RateLimit-Reset waits for the reset: %r" % data)
        control(gh_base, "/_control/ratelimit", {"reset_in_s": 0, "status": 403})
        fleet.r.zadd("wt:deliveries", {sid4: 0})
        typ, data = wait_delivery(fleet, sid4, 60)
        check(typ == "delivery_completed" and len(prs(gh_base)) == 3, "then delivered once")

        # 422: someone opened the PR already; the lookup is made to miss it once
        # (an injected empty page), so the create meets 422 and must find and use it.
        sid5 = spawn(fleet, "SLOW already there", url, "--forge", "github", "--forge-project",
                     "acme/app")
        fleet.wait_completed([sid5], 60)
        typ, data = wait_delivery(fleet, sid5, 60)
        n = len(prs(gh_base))
        check(typ == "delivery_completed" and n == 4, "delivered (%d PRs)" % n)
        # the same branch delivered again (a second delivery record) must reuse it
        fleet.r.hset("wt:delivery:%s" % sid5, mapping={"state": "pushed", "attempt": "0"})
        control(gh_base, "/_control/fail", {"answers": [{"raw": "[]"}]})
        fleet.r.zadd("wt:deliveries", {sid5: 0})
        wait_for_state(fleet, sid5, "done")
        reqs = control(gh_base, "/_control/requests")
        posts = [q for q in reqs if q["method"] == "POST" and q["path"].endswith("/pulls")]
        check(posts and posts[-1]["status"] == 422, "the create met 422 already exists")
        check(len(prs(gh_base)) == 4, "422 recognised: still one PR for the branch")

        # 4. Failed, cancelled and stuck sessions: nothing pushed, nothing opened.
        c = fleet.client()
        failed = spawn(fleet, "NEVER ends", url, "--forge", "github", "--forge-project",
                       "acme/app", "--max-turns", "3")
        cancelled = spawn(fleet, "SLOW to cancel", url, "--forge", "github", "--forge-project",
                          "acme/app")
        stuck = spawn(fleet, "STUCK for ever", url, "--forge", "github", "--forge-project",
                      "acme/app")
        timed_out = spawn(fleet, "SLOW past its time", url, "--forge", "github",
                          "--forge-project", "acme/app", "--timeout", "1s")
        fleet.wait_for(lambda: fleet.r.hget("wt:session:%s" % cancelled, "status") == "running",
                       30, "running")
        r = fleet.run_cli("cancel", cancelled)
        check(r.returncode == 0, "cancel accepted: %s" % r.stderr.strip())
        unfinished = (failed, cancelled, stuck, timed_out)
        fleet.wait_completed(list(unfinished), 60)
        for s in unfinished:
            wait_for_state(fleet, s, "skipped")
        outs = [fleet.r.hget("wt:session:%s" % s, "outcome") for s in unfinished]
        check(outs[1] == "cancelled" and outs[3] == "timeout" and "success" not in outs,
              "outcomes %r" % outs)
        heads = git("--git-dir", bare, "for-each-ref", "--format=%(refname)")
        check(all(s not in heads for s in unfinished),
              "no branch pushed for failed/cancelled/stuck/timed-out sessions")
        check(len(prs(gh_base)) == 4, "no PR opened for them")
        check(all(os.path.isdir(os.path.join(fleet.dir, "ws", s)) for s in unfinished),
              "their worktrees stay for inspection")
        mirror = glob.glob(fleet.dir + "/ws/.mirrors/*.git")
        local = git("--git-dir", mirror[0], "for-each-ref", "--format=%(refname)",
                    "refs/heads/worktrain/") if len(mirror) == 1 else ""
        check(all(("refs/heads/worktrain/%s" % s) in local for s in unfinished),
              "their branches stay in the worker's mirror (until --keep-days)")
        c.close()

        # 5. Tokens nowhere: Redis, logs, argv of every process, the tool environment.
        dump = json.dumps({k: dump_key(fleet.r, k) for k in fleet.r.keys("*")})
        check(TOKEN not in dump and GL_TOKEN not in dump, "no token in Redis")
        logs = "".join(open(p, errors="replace").read() for p in glob.glob(fleet.dir + "/*.log"))
        check(TOKEN not in logs and GL_TOKEN not in logs, "no token in the logs")
        argv = ""
        for p in glob.glob("/proc/[0-9]*/cmdline"):
            try:
                argv += open(p, "rb").read().decode(errors="replace")
            except OSError:
                pass
        check(TOKEN not in argv and GL_TOKEN not in argv, "no token in any process's argv")
        env_sid = spawn_env(fleet, url)
        wait_for_state(fleet, env_sid, "done")
        text = git("--git-dir", bare, "show", "worktrain/%s:env.txt" % env_sid)
        text += git("--git-dir", bare, "show", "worktrain/%s:gitcfg.txt" % env_sid)
        check("PATH=" in text and "remote.origin.url" in text and TOKEN not in text and GL_TOKEN not in text and
              "GIT_CONFIG" not in text, "no token in the agent's tool environment")
        cfgs = "".join(open(p, errors="replace").read()
                       for p in glob.glob(fleet.dir + "/ws/.mirrors/*/config"))
        check(cfgs and TOKEN not in cfgs, "no token in the mirror's git config")
    except Exception as e:
        import traceback
        traceback.print_exc()
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        gh.kill()
        gl.kill()
        fleet.stop()
    check.done()


def wait_for_state(fleet, sid, state, timeout_s=60):
    fleet.wait_for(lambda: fleet.r.hget("wt:delivery:%s" % sid, "state") == state, timeout_s,
                   "delivery state %s of %s" % (state, sid))


def dump_key(r, k):
    t = r.type(k)
    if t == "string":
        return r.get(k)
    if t == "hash":
        return r.hgetall(k)
    if t == "list":
        return r.lrange(k, 0, -1)
    if t == "zset":
        return r.zrange(k, 0, -1)
    if t == "set":
        return sorted(r.smembers(k))
    if t == "stream":
        return r.xrange(k)
    return None


def spawn_env(fleet, url):
    """A session whose first tool call prints its environment (a fresh script entry)."""
    path = os.path.join(fleet.dir, "env-script.json")
    with open(path, "w") as f:
        json.dump([{"tool_calls": [{"name": "Bash", "input": {
            "command": "env > env.txt; git config -l > gitcfg.txt"}}]},
                   {"tool_calls": [{"name": "complete_step", "input": {"notes": "a"}}]},
                   {"tool_calls": [{"name": "complete_step", "input": {"notes": "b"}}]},
                   {"tool_calls": [{"name": "complete_step",
                                    "input": {"notes": "c", "context": {"summary": "s"}}}]}], f)
    fleet.start_worker("envw", 1, path, "--label", "envw",
                       env={"GITHUB_TOKEN": TOKEN, "GITLAB_TOKEN": GL_TOKEN})
    fleet.wait_workers(2)
    r = fleet.run_cli("spawn", "--workflow", "demo", "--goal", "env", "--repo", url,
                      "--require", "envw", "--forge", "github", "--auto-commit",
                      "--deliver", "branch")
    sid = r.stdout.strip()
    fleet.wait_completed([sid], 60)
    return sid


if __name__ == "__main__":
    main()
