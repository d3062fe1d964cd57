"""deliverkit - what the delivery tests share: a bare git repository as the
remote (file:// or a git daemon on loopback), the fake GitHub/GitLab
servers, the scripted three-step session that edits two files, and bounded
waits on delivery events."""
import json
import os
import subprocess
import time

from test_providers import control  # noqa: F401 (re-exported for the delivery tests)
from wtfleet import REPO, free_port

TOKEN = "ghp_SECRETtoken0123456789abcdefDELIVER"
GL_TOKEN = "glpat-SECRETgitlab0123456789DELIVER"


def git(*args, cwd=None, check=True):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    return subprocess.run(["git"] + list(args), cwd=cwd, check=check, capture_output=True,
                          text=True, env=env).stdout


def make_remote(d, name="app.git", files=1):
    """A bare repository with one commit on main (files files in it)."""
    src = os.path.join(d, name + ".src")
    bare = os.path.join(d, name)
    os.makedirs(src)
    git("init", "-q", "-b", "main", src)
    for i in range(files):
        sub = os.path.join(src, "f%03d" % (i // 1000)) if files > 1 else src
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "file%05d.txt" % i if files > 1 else "README.md"), "w") as f:
            f.write("line %d\n" % i)
    git("add", "-A", cwd=src)
    git("commit", "-qm", "initial", cwd=src)
    git("clone", "-q", "--bare", src, bare)
    return bare


def script(path):
    """The demo workflow's three steps: Write a.txt, Write b.txt, Edit a.txt;
    each step's notes name the session so PR bodies can be checked."""
    def call(name, inp):
        return {"tool_calls": [{"name": name, "input": inp}]}
    replies = [
        call("Write", {"path": "a.txt", "content": "alpha {{session}}\n"}),
        call("complete_step", {"notes": "NOTES-ONE wrote a.txt for {{session}}"}),
        call("Write", {"path": "src/b.txt", "content": "beta\n"}),
        call("complete_step", {"notes": "NOTES-TWO wrote src/b.txt"}),
        call("Edit", {"path": "a.txt", "old_string": "alpha", "new_string": "ALPHA"}),
        call("complete_step", {"notes": "NOTES-THREE edited a.txt",
                               "context": {"summary": "two files"}}),
    ]
    slow = [dict(r, delay_ms=400) for r in replies]
    never = [call("Bash", {"command": "echo again %d > f%d.txt" % (i, i)}) for i in range(40)]
    stuck = [call("Bash", {"command": "echo same > same.txt"}) for i in range(40)]
    doc = {"scripts": [
        {"when": {"goal_contains": "SLOW"}, "replies": slow},
        {"when": {"goal_contains": "NEVER"}, "replies": never},
        {"when": {"goal_contains": "STUCK"}, "replies": stuck},
        {"replies": replies}]}
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def start_forge(d, kind, token):
    port_file = os.path.join(d, kind + ".port")
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "tests/fakes/fake_%s.py" % kind),
                          "--port-file", port_file, "--token-env", "FAKE_FORGE_TOKEN"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, FAKE_FORGE_TOKEN=token))
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if time.monotonic() > deadline:
            raise TimeoutError("fake %s did not start" % kind)
        time.sleep(0.02)
    return p, "http://127.0.0.1:%s" % open(port_file).read().strip()


def start_daemon(d, base_path):
    """git daemon on loopback serving base_path (read and push)."""
    port = free_port()
    p = subprocess.Popen(["git", "daemon", "--reuseaddr", "--listen=127.0.0.1",
                          "--port=%d" % port, "--base-path=" + base_path, "--export-all",
                          "--enable=receive-pack", base_path],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while subprocess.run(["git", "ls-remote", "git://127.0.0.1:%d/app.git" % port],
                         capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise TimeoutError("git daemon did not start")
        time.sleep(0.1)
    return p, port


def wait_delivery(fleet, sid, timeout_s=60, want=("delivery_completed",)):
    """Waits until the session's stream has one of the want events; returns its data."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for _, typ, data, _ in fleet.events(sid):
            if typ in want:
                return typ, data
        time.sleep(0.1)
    raise TimeoutError("no %s for %s" % ("/".join(want), sid))


def remote_log(bare, branch):
    out = git("--git-dir", bare, "log", "--format=%s%x1f%b%x1f%an <%ae>%x1e", branch, check=False)
    return [e.strip("\n").split("\x1f") for e in out.split("\x1e") if e.strip()]
