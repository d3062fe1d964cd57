# ctest-timeout: 60
"""The README's minimal Redis ACL (issue 13) lists every command the fleet
sends, and nothing else. Collects the Redis command names the C sources use
-- string literals that start with a command name (wt_redis_command format
strings, argv arrays built for wt_redis_commandv/append), and the first
argument of redis.call/redis.pcall in the Lua scripts they embed -- and
compares them with the README's `ACL SETUSER worktrain ...` line. A command
used but not listed fails (operators following the README would get NOPERM
on that path); a listed one no source uses fails too (the list says
"exactly"). Container commands (SCRIPT, XGROUP ...) count with their
subcommand (script|load). The command table comes from a real redis-server
(COMMAND LIST), which also runs the README's ACL SETUSER line as written.

Run: /usr/bin/python3 tests/integration/test_redis_acl_list.py"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import REPO, Check  # noqa: E402

# Fleet code only: tests, fuzzers and bench programs are not the fleet.
SOURCE_DIRS = ["broker", "common", "coordinator", "console", "worker", "notify"]
# Upper-case words that name a Redis command but are not sent as one.
NOT_SENT = {
    "AUTH": "sent before the user is known; Redis allows it to every connection "
            "(also a word the tool environment filter looks for)",
    "READONLY": "the start of an error reply a demoted master sends, compared, not sent",
    "INFO": "doctor's optional version probe; without it doctor asks Lua (EVAL) instead",
}


def command_table(sock):
    out = subprocess.run(["redis-cli", "-s", sock, "COMMAND", "LIST"], capture_output=True,
                         text=True, timeout=10).stdout.split()
    return {c.upper() for c in out}


def collect(table):
    """{COMMAND or CMD|SUB: [file:line, ...]} over the fleet's sources."""
    containers = {c.split("|")[0] for c in table if "|" in c}
    used = {}
    lit = re.compile(r'"([A-Z][A-Z]+)\b([^"]*)"(\s*,\s*"([A-Za-z-]+)")?')
    lua = re.compile(r'redis\.p?call\(\s*\\?[\'"]([A-Za-z]+)[\'"]\s*(,\s*\\?[\'"]([A-Za-z-]+))?')
    for d in SOURCE_DIRS:
        for root, _, files in os.walk(os.path.join(REPO, d)):
            for f in sorted(files):
                if not f.endswith((".c", ".h")) or f.endswith("_test.c"):
                    continue
                path = os.path.join(root, f)
                rel = os.path.relpath(path, REPO)
                for i, line in enumerate(open(path, errors="replace"), 1):
                    found = []
                    for m in lit.finditer(line):
                        name = m.group(1)
                        if name not in table or name in NOT_SENT:
                            continue
                        sub = ""
                        if name in containers:  # "SCRIPT LOAD %s" or {"XGROUP", "CREATE"}
                            rest = m.group(2).split()
                            sub = rest[0] if rest else (m.group(4) or "")
                        found.append((name, sub))
                    for m in lua.finditer(line):
                        found.append((m.group(1).upper(), m.group(3) or ""))
                    for name, sub in found:
                        key = name
                        if name in containers:
                            key = "%s|%s" % (name, sub.upper()) if sub else name + "|?"
                        used.setdefault(key, []).append("%s:%d" % (rel, i))
    return used


def readme_acl():
    for line in open(os.path.join(REPO, "README.md")):
        if line.startswith("ACL SETUSER worktrain "):
            return line.split(), {w[1:].upper() for w in line.split() if w.startswith("+")}
    return [], set()


def main():
    check = Check()
    d = tempfile.mkdtemp(prefix="wt-acl-")
    sock = os.path.join(d, "redis.sock")
    srv = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
                            "--appendonly", "no", "--dir", d], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.02)  # the socket file appears once redis listens
        table = command_table(sock)
        check(len(table) > 200 and "XADD" in table and "SCRIPT|LOAD" in table,
              "command table from redis-server: %d names" % len(table))
        words, listed = readme_acl()
        check(len(listed) > 20, "README's ACL line read: %d commands" % len(listed))
        used = collect(table)
        check(len(used) > 30 and "HSET" in used and "EVALSHA" in used,
              "%d commands found in the sources" % len(used))
        unknown = sorted(k for k in used if k.endswith("|?"))
        check(not unknown, "every container command's subcommand found (%s)"
              % ", ".join("%s at %s" % (k, used[k][0]) for k in unknown))
        missing = sorted(k for k in used if k not in listed and k.split("|")[0] not in listed
                         and not k.endswith("|?"))
        check(not missing, "every command the sources send is in the README's ACL line; missing: %s"
              % "; ".join("%s (%s)" % (k.lower(), ", ".join(used[k][:3])) for k in missing))
        unused = sorted(c for c in listed if c not in used
                        and not any(k.startswith(c + "|") for k in used))
        check(not unused, "every command the README lists is sent by some source; unused: %s"
              % ", ".join(c.lower() for c in unused))
        bad = sorted(c for c in listed if c not in table)
        check(not bad, "every listed name is a Redis command (%s)" % ", ".join(bad))
        acl = [w.replace("PASSWORD", "pw-acl-test") for w in words[1:]]  # SETUSER worktrain ...
        p = subprocess.run(["redis-cli", "-s", sock, "ACL"] + acl, capture_output=True, text=True,
                           timeout=10)
        check(p.stdout.strip() == "OK", "redis accepts the README's ACL SETUSER line (%s)"
              % (p.stdout + p.stderr).strip())
    finally:
        srv.terminate()
        srv.wait(10)
        shutil.rmtree(d, ignore_errors=True)
    check.done()


if __name__ == "__main__":
    main()
