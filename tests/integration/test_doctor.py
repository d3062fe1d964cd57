# ctest-timeout: 120
"""`worktrain doctor` against real parts: a real redis-server (with an ACL
user lacking a command), a real active broker and a real standby broker, the
fake LLM's models endpoint with a right and a wrong key, CURVE key files from
`worktrain keygen`, a broken workflow file, an unwritable workspace root and
a host clock 30 s off (libfaketime, Debian package faketime). Each failure
prints a FAIL line with a fix and exit 1; a healthy setup prints only ok
lines and exits 0; --json is parseable; the key never shows in the output."""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from test_providers import KEY, start_fake  # noqa: E402
from test_redis_auth import ACL_COMMANDS  # noqa: E402
from wtfleet import BIN, REPO, Check, Fleet  # noqa: E402

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def checks(out):
    """{name: (status, line)} from doctor's text output."""
    res = {}
    for line in out.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[0] in ("ok", "FAIL", "skip"):
            res[parts[1]] = (parts[0], line)
    return res


def main():
    check = Check()
    fleet = Fleet("doctor")
    d = tempfile.mkdtemp(prefix="wt-doctor-")
    fake = None
    try:
        acl = ["+" + c for c in ACL_COMMANDS]
        fleet.redis_args = ["--user", "fleet", "on", ">pw", "~wt:*", "resetchannels", "-@all"] + acl
        fleet.redis_args += ["--user", "noxadd", "on", ">pw", "~wt:*", "resetchannels", "-@all"]
        fleet.redis_args += [a for a in acl if a != "+xadd"]
        fleet.start_redis()
        fleet.redis_cred = "fleet:pw@"
        fleet.start_broker()
        fake, base = start_fake(d)
        env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": base, "OPENAI_API_KEY": ""}
        good = ["--workflows", os.path.join(REPO, "workflows"),
                "--workspace-root", os.path.join(d, "ws")]

        def doctor(*args, extra_env=None):
            e = dict(env)
            e.update(extra_env or {})
            r = fleet.run_cli("doctor", *(good + list(args)), env=e)
            check(KEY not in r.stdout + r.stderr, "the key never shows (%s)" % " ".join(args))
            return r, checks(r.stdout)

        def failed(res, name, want):
            st, line = res.get(name, ("?", "no line for " + name))
            return st == "FAIL" and want in line and "-> fix: " in line

        r, res = doctor()
        check(r.returncode == 0 and len(res) == 8 and res.pop("curve")[0] == "skip"
              and all(s == "ok" for s, _ in res.values()),
              "healthy setup: 7 ok lines and curve skipped (plain TCP), exit 0:\n" + r.stdout)
        r, _ = doctor("--json")
        doc = json.loads(r.stdout)
        check(doc["ok"] is True and {c["check"] for c in doc["checks"]} >= {
            "redis", "acl", "clock", "curve", "broker", "workflows", "llm", "workspace"},
            "--json: ok true, every check listed")

        r, res = doctor(extra_env={"ANTHROPIC_API_KEY": "sk-wrong"})
        check(r.returncode == 1 and failed(res, "llm", "HTTP 401"), "wrong LLM key: %s" % (res.get("llm"),))
        r, res = doctor("--offline", extra_env={"ANTHROPIC_API_KEY": ""})
        check(r.returncode == 0 and res["llm"][0] == "skip", "--offline skips the LLM check")
        r, res = doctor(extra_env={"ANTHROPIC_API_KEY": ""})
        check(r.returncode == 1 and failed(res, "llm", "no LLM key"), "no LLM key: %s" % (res.get("llm"),))

        dead = "redis://127.0.0.1:%d/0" % (fleet.redis_port + 1 if fleet.redis_port < 65535 else 1)
        r, res = doctor("--offline", "--redis", dead)
        check(r.returncode == 1 and failed(res, "redis", "") and res["acl"][0] == "skip"
              and res["clock"][0] == "skip", "Redis unreachable: FAIL, acl and clock skipped")
        r, res = doctor("--offline", "--redis", "redis://noxadd:pw@127.0.0.1:%d/0" % fleet.redis_port)
        check(r.returncode == 1 and failed(res, "acl", "XADD"), "ACL without xadd: %s" % (res.get("acl"),))

        fleet._spawn("standby", [BIN, "broker", "--clients", "ipc://%s/standby.sock" % d,
                                 "--workers", "ipc://%s/standby-w.sock" % d, "--redis",
                                 fleet.redis_url])
        fleet.wait_for(lambda: os.path.exists(os.path.join(d, "standby.sock")), 10, "standby")
        r, res = doctor("--offline", "--broker", "ipc://%s/standby.sock" % d)
        check(r.returncode == 1 and failed(res, "broker", "standby"), "standby broker: %s" % (res.get("broker"),))
        r, res = doctor("--offline", "--broker", "ipc://%s/nobody.sock" % d)
        check(r.returncode == 1 and failed(res, "broker", "nobody"), "no broker: %s" % (res.get("broker"),))

        keys = os.path.join(d, "keys")
        os.makedirs(keys)
        fleet.run_cli("keygen", "c1", "--dir", keys)
        r, res = doctor("--offline", "--curve-key", os.path.join(keys, "c1.pub"),
                        "--broker-pub", os.path.join(keys, "c1.pub"))
        check(r.returncode == 1 and failed(res, "curve", "c1.pub") and res["broker"][0] == "skip",
              "a .pub given as the secret key: %s" % (res.get("curve"),))

        wf = os.path.join(d, "wf")
        os.makedirs(wf)
        shutil.copy(os.path.join(REPO, "workflows", os.listdir(os.path.join(REPO, "workflows"))[0]), wf)
        with open(os.path.join(wf, "broken.json"), "w") as f:
            f.write('{"id": "broken", "steps": [')
        r, res = doctor("--offline", "--workflows", wf)
        check(r.returncode == 1 and failed(res, "workflows", "broken.json"),
              "broken workflow file: %s" % (res.get("workflows"),))

        afile = os.path.join(d, "a-file")
        open(afile, "w").close()
        r, res = doctor("--offline", "--workspace-root", os.path.join(afile, "ws"))
        check(r.returncode == 1 and failed(res, "workspace", "a-file"),
              "workspace root not writable: %s" % (res.get("workspace"),))

        if os.path.exists(FAKETIME):
            r, res = doctor("--offline", extra_env={
                "LD_PRELOAD": FAKETIME, "FAKETIME": "-30s", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                "FAKETIME_NO_CACHE": "1",
                # under make asan the runtime must come first in the library
                # list, which an LD_PRELOAD breaks: ASan then aborts at start
                "ASAN_OPTIONS": ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                                      "verify_asan_link_order=0"]))})
            check(r.returncode == 1 and failed(res, "clock", "behind"),
                  "host clock 30 s behind Redis: %s" % (res.get("clock"),))
        else:
            check(False, "libfaketime missing (Debian package faketime, deploy/install-deps.sh)")

        r = fleet.run_cli("doctor", "--help")
        check(r.returncode == 0 and "--offline" in r.stdout, "--help exits 0")
        r = fleet.run_cli("doctor", "--bogus")
        check(r.returncode == 2 and len(r.stderr.splitlines()) == 1, "bad option: one line, exit 2")
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        if fake:
            fake.terminate()
            fake.wait(timeout=10)
        fleet.stop()
        shutil.rmtree(d, ignore_errors=True)
    check.done()


if __name__ == "__main__":
    main()
