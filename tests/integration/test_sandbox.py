# ctest-timeout: 240
"""Tool sandbox (issue 13): an agent's Bash runs under bubblewrap. Scripted
Bash calls (the fake Anthropic API plays the model) try to read a file
standing for the worker's key (in the fleet dir, outside the workspace),
another session's workspace, a file in the worker's $HOME, and to open a TCP
connection to a listener on the host: all fail. A build in the workspace
(a Makefile written by Write, make, git init + commit) works. With
--tool-network on, or a workflow with "network": true, the connection works.
Read/Write/Edit keep their path confinement. --sandbox off logs its warning
(and then the key is readable: the refusals above are the sandbox's doing)."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(__file__))
from test_providers import control, cs, start_fake, tool  # noqa: E402
from wtfleet import BIN, WORKFLOWS, Check, Fleet  # noqa: E402


class Listener:
    """A TCP listener on the host's loopback that counts accepted connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            c.sendall(b"HELLO-FROM-HOST\n")
            c.close()


def results(base):
    """Tool results (text, is_error) in the order the fake model saw them."""
    out = []
    seen = set()
    for req in control(base, "/_control/requests"):
        for m in req["body"]["messages"]:
            if m["role"] != "user" or not isinstance(m["content"], list):
                continue
            for b in m["content"]:
                if b.get("type") == "tool_result" and b["tool_use_id"] not in seen:
                    seen.add(b["tool_use_id"])
                    c = b["content"]
                    if isinstance(c, list):
                        c = "".join(x.get("text", "") for x in c)
                    out.append((c, bool(b.get("is_error"))))
    return out


def run_script(fleet, base, workflow, calls, goal, **spawn):
    """One session of `workflow` (two steps) whose first step makes calls."""
    control(base, "/_control/reset", {})
    control(base, "/_control/script", calls + [cs("tried"), cs("done", {"answer": "x"})])
    c = fleet.client()
    sid = c.spawn(workflow, goal, **spawn)
    c.close()
    fleet.wait_completed([sid], 90)
    res = results(base)
    return sid, res[:len(calls)]


def main():
    check = Check()
    fleet = Fleet("sandbox")
    d = tempfile.mkdtemp(prefix="wt-sbx-")
    fake, base = start_fake(d)
    lst = Listener()
    try:
        key = os.path.join(fleet.dir, "worker.key")
        with open(key, "w") as f:
            f.write("KEY-MATERIAL-0600\n")
        os.chmod(key, 0o600)
        home = os.path.join(fleet.dir, "home")
        os.makedirs(home)
        with open(os.path.join(home, ".netrc"), "w") as f:
            f.write("HOME-SECRET\n")
        other = os.path.join(fleet.dir, "ws", "01OTHERSESSION0000000000000")
        os.makedirs(other)
        with open(os.path.join(other, "notes.txt"), "w") as f:
            f.write("OTHER-SESSION-DATA\n")
        netwf = os.path.join(d, "wf")
        os.makedirs(netwf)
        with open(os.path.join(WORKFLOWS, "two-step.json")) as f:
            wf = json.load(f)
        wf["id"], wf["network"] = "two-step-net", True
        with open(os.path.join(netwf, "two-step-net.json"), "w") as f:
            json.dump(wf, f)
        env = {"ANTHROPIC_API_KEY": "sk-x", "HOME": home}
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("sbx", 1, None, "--provider", "anthropic", "--base-url", base,
                           "--workflows", netwf, "--stuck-policy", "notify_only", env=env)
        fleet.wait_workers(1)
        log = open(os.path.join(fleet.dir, "worker-sbx.log")).read()
        check("tool sandbox on (bwrap)" in log and "network off" in log,
              "worker logs the sandbox at start")

        tcp = "exec 3<>/dev/tcp/127.0.0.1/%d && head -1 <&3" % lst.port
        sid, res = run_script(fleet, base, "two-step", [
            tool("Bash", {"command": "cat %s" % key}),
            tool("Bash", {"command": "cat %s/notes.txt; ls %s" % (other, os.path.dirname(other))}),
            tool("Bash", {"command": "cat %s/.netrc; ls -a ~" % home}),
            tool("Bash", {"command": tcp}),
            tool("Write", {"path": "Makefile",
                           "content": "all: hello.txt\nhello.txt:\n\techo built > hello.txt\n"}),
            tool("Bash", {"command": "make && cat hello.txt && git init -q && git add . && "
                                     "git -c user.email=a@b -c user.name=t commit -qm one && "
                                     "git log --oneline | wc -l"}),
            tool("Read", {"path": key}),
            tool("Write", {"path": "../escape.txt", "content": "x"}),
            tool("Edit", {"path": key, "old_string": "KEY", "new_string": "K"}),
            tool("Bash", {"command": "cat /etc/shadow; ls /etc/ssh 2>&1 | wc -l; echo $HOME"}),
        ], "try to get out")
        check(len(res) == 10, "all 10 tool calls ran (%d)" % len(res))
        text = [r[0] for r in res] + [""] * 10
        err = [r[1] for r in res] + [False] * 10
        check(err[0] and "KEY-MATERIAL" not in text[0], "Bash cannot read the worker's key: %r" % text[0][:120])
        check("OTHER-SESSION-DATA" not in text[1] and os.path.basename(other) not in text[1].split("\n"),
              "Bash cannot see another session's workspace: %r" % text[1][:160])
        check("HOME-SECRET" not in text[2] and ".netrc" not in text[2].split("\n"), "Bash cannot read the worker's $HOME: %r" % text[2][:160])
        check(err[3] and "HELLO-FROM-HOST" not in text[3], "Bash cannot open a TCP connection: %r" % text[3][:160])
        check(lst.accepted == 0, "the host listener saw no connection")
        check(not err[4] and not err[5] and "built" in text[5] and "\n1\n" in text[5],
              "make and git init/commit work in the workspace: %r" % text[5][:200])
        check(err[6] and "KEY-MATERIAL" not in text[6] and "escapes the workspace" in text[6],
              "Read keeps its path confinement: %r" % text[6][:100])
        check(err[7] and "escapes the workspace" in text[7], "Write keeps its path confinement")
        check(err[8] and "escapes the workspace" in text[8], "Edit keeps its path confinement")
        check(open(key).read() == "KEY-MATERIAL-0600\n" and not os.path.exists(
            os.path.join(fleet.dir, "ws", "escape.txt")), "key unchanged, nothing escaped")
        check("root:" not in text[9] and "/tmp" in text[9], "/etc/shadow hidden, HOME is the private /tmp")
        h = fleet.r.hgetall("wt:session:%s" % sid)
        check(h.get("outcome") == "success", "the session succeeded: %s %s" % (h.get("outcome"), h.get("error")))

        # A workspace that is a git worktree: commits work, but the repository's hooks
        # and config (which the worker's own git runs would obey) stay read-only.
        repo = os.path.join(d, "repo")
        os.makedirs(repo)
        git = ["git", "-C", repo, "-c", "user.email=t@t", "-c", "user.name=t"]
        subprocess.run(git + ["init", "-q"], check=True)
        subprocess.run(git + ["commit", "-q", "--allow-empty", "-m", "init"], check=True)
        sid, res = run_script(fleet, base, "two-step", [tool("Bash", {"command":
            "git -c user.email=a@b -c user.name=t commit -q --allow-empty -m sbx && echo COMMIT-OK; "
            "echo 'touch /tmp/pwned' > \"$(git rev-parse --git-common-dir)/hooks/post-checkout\" "
            "&& echo HOOK-WRITTEN; git config core.hooksPath /x && echo CONFIG-WRITTEN"})],
            "worktree", workspace=repo)
        out = res[0][0] if res else ""
        log = subprocess.run(git + ["log", "--format=%s", "worktrain/" + sid], capture_output=True,
                             text=True).stdout
        check("COMMIT-OK" in out and "sbx" in log, "git commit in a worktree workspace works")
        check("HOOK-WRITTEN" not in out and "CONFIG-WRITTEN" not in out
              and not os.path.exists(os.path.join(repo, ".git", "hooks", "post-checkout"))
              and "hooksPath" not in open(os.path.join(repo, ".git", "config")).read(),
              "the repository's hooks and config stay read-only: %r" % out[:300])

        # A workflow that asks for network gets it (same worker, network off by default).
        _, res = run_script(fleet, base, "two-step-net", [tool("Bash", {"command": tcp})], "net wf")
        check(res and not res[0][1] and "HELLO-FROM-HOST" in res[0][0],
              "workflow \"network\": true: the TCP connection works: %r" % (res[:1],))
        fleet.kill("worker-sbx", 15)
        fleet.procs["worker-sbx"].wait(15)

        # --tool-network on: every workflow's tools get the network.
        fleet.start_worker("net", 1, None, "--provider", "anthropic", "--base-url", base,
                           "--tool-network", "on", "--tool-max-memory", "512", "--tool-max-cpu",
                           "7", "--tool-max-file", "1", "--tool-max-procs", "300", env=env)
        fleet.wait_workers(1, exact=True)
        before = lst.accepted
        _, res = run_script(fleet, base, "two-step", [
            tool("Bash", {"command": tcp}),
            tool("Bash", {"command": "echo v=$(ulimit -v) t=$(ulimit -t) f=$(ulimit -f) u=$(ulimit -u)"}),
            tool("Bash", {"command": "head -c 3000000 /dev/zero > big; ls -l big"})], "net on")
        check(len(res) == 3 and not res[0][1] and "HELLO-FROM-HOST" in res[0][0]
              and lst.accepted > before, "--tool-network on: the TCP connection works")
        check(len(res) == 3 and "v=524288 t=7 f=1024 u=300" in res[1][0],
              "--tool-max-* limits reach the tool: %r" % (res[1:2],))
        check(len(res) == 3 and "File size limit exceeded" in res[2][0] and " 1048576 " in res[2][0],
              "a file beyond --tool-max-file is cut at the limit: %r" % (res[2:3],))
        fleet.kill("worker-net", 15)
        fleet.procs["worker-net"].wait(15)

        # --sandbox off: warned at start, and the key is then readable.
        fleet.start_worker("off", 1, None, "--provider", "anthropic", "--base-url", base,
                           "--sandbox", "off", env=env)
        fleet.wait_workers(1, exact=True)
        log = open(os.path.join(fleet.dir, "worker-off.log")).read()
        check(" W wt-worker" in log and "tool sandbox OFF" in log, "--sandbox off is logged as a warning")
        _, res = run_script(fleet, base, "two-step", [tool("Bash", {"command": "cat %s" % key})], "off")
        check(res and "KEY-MATERIAL" in res[0][0], "with the sandbox off the key is readable (control)")

        # Bad flag values: one line, exit 2.
        p = subprocess.run([BIN, "worker", "--sandbox", "maybe"], capture_output=True, text=True,
                           timeout=10)
        check(p.returncode == 2 and "--sandbox" in p.stderr, "bad --sandbox value: exit 2")
        # bwrap missing from PATH: the worker refuses to start (never runs unsandboxed).
        p = subprocess.run([BIN, "worker", "--redis", fleet.redis_url, "--broker", fleet.workers_ep,
                            "--workflows", WORKFLOWS, "--provider", "scripted", "--script",
                            os.path.join(os.path.dirname(WORKFLOWS), "tests/scripts/two-step.json")],
                           capture_output=True, text=True, timeout=20,
                           env=dict(os.environ, PATH="/nonexistent"))
        check(p.returncode == 2 and "bwrap" in p.stderr and "--sandbox off" in p.stderr,
              "no bwrap: clear error, exit 2: %r" % p.stderr.strip()[-200:])
        # bwrap present but namespaces refused (as in a locked-down container): the start
        # probe fails with bwrap's own words, exit 2.
        fakebin = os.path.join(d, "fakebin")
        os.makedirs(fakebin)
        with open(os.path.join(fakebin, "bwrap"), "w") as f:
            f.write("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
        os.chmod(os.path.join(fakebin, "bwrap"), 0o755)
        p = subprocess.run([BIN, "worker", "--redis", fleet.redis_url, "--broker", fleet.workers_ep,
                            "--workflows", WORKFLOWS, "--provider", "scripted", "--script",
                            os.path.join(os.path.dirname(WORKFLOWS), "tests/scripts/two-step.json")],
                           capture_output=True, text=True, timeout=20,
                           env=dict(os.environ, PATH=fakebin + ":/usr/bin:/bin"))
        check(p.returncode == 2 and "No permissions to create new namespace" in p.stderr
              and "--sandbox off" in p.stderr,
              "namespaces refused: the start probe says so, exit 2: %r" % p.stderr.strip()[-240:])
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fake.kill()
        lst.sock.close()
        fleet.stop()
        shutil.rmtree(d, ignore_errors=True)
    check.done()


if __name__ == "__main__":
    main()
