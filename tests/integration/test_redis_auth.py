# ctest-timeout: 240
"""Redis credentials (issue 13). A real redis-server whose default user needs
a password (requirepass) and whose ACL user `fleet` may run exactly the
commands the README lists (ACL_COMMANDS below, the same set) on wt:* keys.
A fleet (broker, worker, console, spawn/await, status) runs sessions with
the credentials in the URL (redis://fleet:PW@...), then with the password
from WORKTRAIN_REDIS_PASSWORD_FILE (redis://fleet@...), survives a Redis
restart (AUTH again on reconnect), and `worktrain up --redis` runs its demo
with them. A wrong password gives a clear error without the password; an
unreadable password file exits 2 naming it. Finally every log file, the
--help outputs, /metrics and all of Redis's data are searched for both
passwords: absent."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from test_providers import all_redis_text  # noqa: E402
from wtfleet import BIN, SCRIPTS, Check, Fleet  # noqa: E402

ADMIN_PW = "adm-Secret-9917"
FLEET_PW = "flt-s3cret-4242"
WRONG_PW = "wrong-pw-5150"
# The minimal command set is read from the README's ACL SETUSER line, so the
# fleet below runs under exactly what the documentation tells operators.
README = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "README.md")


def readme_acl():
    for line in open(README):
        if line.startswith("ACL SETUSER worktrain "):
            return [w[1:] for w in line.split() if w.startswith("+")]
    return []


ACL_COMMANDS = readme_acl()


def spawn_await(fleet, check, label, env):
    for _ in range(3):  # "retry" refusals: the first command after a Redis restart fails once
        p = fleet.run_cli("spawn", "--workflow", "two-step", "--goal", label, "--json", env=env)
        if p.returncode == 0 or "retry" not in p.stderr:
            break
    sid = ""
    try:
        sid = json.loads(p.stdout)["session"]
    except (ValueError, KeyError):
        pass
    check(p.returncode == 0 and sid, "%s: spawn accepted (%s)" % (label, (p.stdout + p.stderr).strip()[:200]))
    a = fleet.run_cli("await", sid, "--timeout", "60s", env=env, timeout=90)
    check(a.returncode == 0 and "success" in a.stdout, "%s: await says success (%s)" % (label, (a.stdout + a.stderr).strip()[:200]))
    st = fleet.run_cli("status", sid, env=env)
    check(st.returncode == 0 and sid in st.stdout, "%s: status reads the session" % label)
    return sid


def main():
    check = Check()
    fleet = Fleet("redisauth", appendonly=True)
    d = tempfile.mkdtemp(prefix="wt-rauth-")
    outputs = []  # every CLI output, searched for the passwords at the end
    try:
        check(len(ACL_COMMANDS) > 20 and "eval" in ACL_COMMANDS and "xadd" in ACL_COMMANDS,
              "README's ACL line read: %d commands" % len(ACL_COMMANDS))
        acl = ["fleet", "on", ">" + FLEET_PW, "~wt:*", "resetchannels", "-@all"]
        acl += ["+" + c for c in ACL_COMMANDS]
        fleet.redis_args = ["--requirepass", ADMIN_PW, "--user"] + acl
        fleet.redis_password = ADMIN_PW
        fleet.redis_cred = "fleet:%s@" % FLEET_PW
        fleet.start_redis()
        script = os.path.join(SCRIPTS, "two-step.json")

        # 1. credentials in the URL
        fleet.start_broker()
        fleet.start_worker("w1", 2, script)
        fleet.wait_workers(1)
        chttp = "127.0.0.1:%d" % fleet.http_port
        import wtfleet
        cport = wtfleet.free_port()
        fleet._spawn("console", [BIN, "console", "--http", "127.0.0.1:%d" % cport, "--redis",
                                 fleet.redis_url])
        sid1 = spawn_await(fleet, check, "url credentials", {})
        deadline = time.monotonic() + 10
        page = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/sessions/%s" % (cport, sid1),
                                            timeout=5) as r:
                    page = r.read().decode()
                    break
            except OSError:
                time.sleep(0.1)
        check(sid1 in page and "success" in page, "console reads the session under the ACL user")
        # the Benchmarks tab's run list (ZREVRANGE, once missing from the README's list)
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/api/bench" % cport, timeout=5) as r:
                bench_page, bench_status = r.read().decode(), r.status
        except OSError as e:
            bench_page, bench_status = str(e), 0
        check(bench_status == 200 and bench_page.lstrip().startswith(("[", "{")),
              "console's /api/bench answers under the ACL user (%d %s)" % (bench_status,
                                                                            bench_page[:120]))
        check(fleet.r.hget("wt:session:%s" % sid1, "outcome") == "success", "session 1 succeeded")

        # 2. the password from a file; the URL names only the user
        pwfile = os.path.join(d, "redis.pw")
        with open(pwfile, "w") as f:
            f.write(FLEET_PW + "\n")
        os.chmod(pwfile, 0o600)
        fenv = {"WORKTRAIN_REDIS_PASSWORD_FILE": pwfile,
                "WORKTRAIN_REDIS": "redis://fleet@127.0.0.1:%d/0" % fleet.redis_port}
        fleet.kill("worker-w1", 15)
        fleet.procs["worker-w1"].wait(15)
        fleet.redis_cred = "fleet@"
        fleet.start_worker("w2", 2, script, env=fenv)
        fleet.wait_workers(1, exact=True)
        sid2 = spawn_await(fleet, check, "password file", fenv)
        h = fleet.r.hgetall("wt:session:%s" % sid2)
        check(h.get("outcome") == "success" and h.get("worker") == "w2",
              "session 2 ran on the worker that read the password file")

        # 3. Redis restarts: every process authenticates again on reconnect
        fleet.kill("redis", 9)
        fleet.procs["redis"].wait(10)
        fleet.start_redis(fleet.redis_port)
        sid3 = spawn_await(fleet, check, "after a redis restart", fenv)

        # 4. a wrong password: a clear error, the password never shown
        bad = fleet.run_cli("status", sid1, env={
            "WORKTRAIN_REDIS": "redis://fleet:%s@127.0.0.1:%d/0" % (WRONG_PW, fleet.redis_port)})
        outputs.append(bad.stdout + bad.stderr)
        check(bad.returncode != 0 and "auth" in bad.stderr and "WRONGPASS" in bad.stderr
              and WRONG_PW not in bad.stderr and "***" in bad.stderr,
              "wrong password: clear error without it: %r" % bad.stderr.strip())
        fleet.start_worker("wrong", 1, script, "--redis",
                           "redis://fleet:%s@127.0.0.1:%d/0" % (WRONG_PW, fleet.redis_port))
        fleet.wait_for(lambda: "WRONGPASS" in open(os.path.join(fleet.dir, "worker-wrong.log")).read()
                       or fleet.procs["worker-wrong"].poll() is not None, 20, "wrong-password worker")
        wlog = open(os.path.join(fleet.dir, "worker-wrong.log")).read()
        check("WRONGPASS" in wlog and WRONG_PW not in wlog, "worker with a wrong password: logged without it")
        fleet.kill("worker-wrong", 9)

        # 5. an unreadable password file: exit 2, naming it
        missing = os.path.join(d, "nope.pw")
        for verb in (["status"], ["worker"], ["broker"], ["console"]):
            p = fleet.run_cli(*verb, env={"WORKTRAIN_REDIS_PASSWORD_FILE": missing})
            outputs.append(p.stdout + p.stderr)
            check(p.returncode == 2 and missing in p.stderr and "WORKTRAIN_REDIS_PASSWORD_FILE" in p.stderr,
                  "%s: unreadable password file: exit 2 naming it (%r)" % (verb[0], p.stderr.strip()))

        # 6. worktrain up on the same Redis, password from the file. Brokers
        # on one Redis elect one active broker: stop this fleet's (SIGTERM
        # gives its lease up) so that up's broker leads.
        outputs.append(fleet.metrics())  # read before it stops (step 7 searches it)
        fleet.kill("broker", 15)
        fleet.procs["broker"].wait(30)
        updir = os.path.join(d, "up")
        up = subprocess.run([BIN, "up", "--redis", fenv["WORKTRAIN_REDIS"], "--workers", "1",
                             "--demo", "--sessions", "2", "--exit", "--dir", updir],
                            capture_output=True, text=True, timeout=180, cwd=d,
                            env=dict(os.environ, WORKTRAIN_REDIS_PASSWORD_FILE=pwfile,
                                     ANTHROPIC_API_KEY="", OPENAI_API_KEY=""))
        outputs.append(up.stdout + up.stderr)
        check(up.returncode == 0 and "succeeded" in up.stdout,
              "worktrain up --redis with the password file runs its demo (rc %d: %s)"
              % (up.returncode, (up.stdout + up.stderr).strip()[-300:]))

        # 7. the passwords are nowhere: --help, /metrics, logs, Redis
        henv = {"WORKTRAIN_REDIS": "redis://fleet:%s@127.0.0.1:1/0" % FLEET_PW}
        for verb in ("broker", "worker", "console", "spawn", "await", "status", "up"):
            p = fleet.run_cli(verb, "--help", env=henv)
            outputs.append(p.stdout + p.stderr)
        logs = []
        for root in (fleet.dir, updir):
            for dp, _, files in os.walk(root):
                for n in files:
                    if n.endswith(".log"):
                        logs.append(open(os.path.join(dp, n), errors="replace").read())
        check(len(logs) >= 6, "%d log files searched" % len(logs))
        blob = "\n".join(outputs + logs)
        check(FLEET_PW not in blob and ADMIN_PW not in blob and WRONG_PW not in blob,
              "no password in logs, --help, /metrics or CLI output")
        check("fleet:***@" in blob, "the URL is shown with *** where the password was")
        text = all_redis_text(fleet.r)
        check(len(text) > 1000 and FLEET_PW not in text and ADMIN_PW not in text,
              "no password anywhere in Redis's data (%d chars searched)" % len(text))
        check(sid1 and sid2 and sid3, "three sessions ran under the minimal ACL user")
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
        shutil.rmtree(d, ignore_errors=True)
    check.done()


if __name__ == "__main__":
    main()
