# ctest-timeout: 120
"""Workspaces: `spawn --workspace REPO` runs the session in a git worktree
on branch worktrain/<sid>; the repo's AGENTS.md reaches the system prompt,
capped at 32 KB; without --workspace each session gets a fresh directory.
The model is the fake Anthropic API, so the test sees the exact prompt."""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from test_providers import control, cs, start_fake, tool  # noqa: E402
from wtfleet import Check, Fleet  # noqa: E402


def main():
    check = Check()
    fleet = Fleet("workspace")
    d = tempfile.mkdtemp(prefix="wt-ws-")
    fake, base = start_fake(d)
    repo = os.path.join(d, "repo")
    try:
        os.makedirs(repo)
        with open(os.path.join(repo, "AGENTS.md"), "w") as f:
            f.write("MARKER-AGENTS-RULES\n" + "x" * 40000 + "\nTAIL-NEVER-SEEN\n")
        git = ["git", "-C", repo, "-c", "user.email=t@t", "-c", "user.name=t"]
        subprocess.run(git + ["init", "-q"], check=True)
        subprocess.run(git + ["add", "."], check=True)
        subprocess.run(git + ["commit", "-qm", "init"], check=True)
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("ws", 2, None, "--provider", "anthropic", "--base-url", base,
                           env={"ANTHROPIC_API_KEY": "sk-x"})
        fleet.wait_workers(1)
        control(base, "/_control/script", [
            tool("Bash", {"command": "git rev-parse --abbrev-ref HEAD; pwd; ls"}),
            cs("looked"), cs("done", {"answer": "42"})])
        c = fleet.client()
        sid = c.spawn("two-step", "in a worktree", workspace=repo)
        fleet.wait_completed([sid], 60)
        check(fleet.r.hget("wt:session:%s" % sid, "outcome") == "success", "worktree session succeeded")
        reqs = control(base, "/_control/requests")
        system = reqs[0]["body"]["system"]
        check("MARKER-AGENTS-RULES" in system and "TAIL-NEVER-SEEN" not in system
              and "32 KB" in system, "AGENTS.md in the system prompt, capped at 32 KB")
        check(len(system) < 40000, "system prompt stays bounded (%d chars)" % len(system))
        out = [b for b in reqs[1]["body"]["messages"][-1]["content"] if b["type"] == "tool_result"][0]
        check(("worktrain/%s" % sid) in out["content"] and "AGENTS.md" in out["content"],
              "Bash ran on branch worktrain/<sid> in a checkout of the repo")
        branches = subprocess.run(git + ["branch", "--list", "worktrain/*"], capture_output=True,
                                  text=True).stdout
        check(sid in branches, "the branch exists in the repo")
        control(base, "/_control/reset", {})
        control(base, "/_control/script", [tool("Bash", {"command": "pwd; ls -A | wc -l"}),
                                           cs("a"), cs("b", {"answer": "1"})])
        plain = c.spawn("two-step", "plain dir")
        fleet.wait_completed([plain], 60)
        reqs = control(base, "/_control/requests")
        out = [b for b in reqs[1]["body"]["messages"][-1]["content"] if b["type"] == "tool_result"][0]
        check(out["content"].split("\n")[0].endswith("/" + plain) and "\n0\n" in out["content"],
              "fresh empty directory named after the session: %r" % out["content"][:120])
        c.close()
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fake.kill()
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
