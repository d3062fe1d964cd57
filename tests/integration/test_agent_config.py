# ctest-timeout: 120
"""agentConfig in a session's context (what triggers pass from triggers.yml)
is honoured by the worker, checked in the requests the fake Messages API
receives: an explicit `model` is sent as is; `modelTier` picks that tier's
model; `stallTimeoutSeconds` replaces the worker's --stall-timeout, so a
model that never answers ends the session (timeout, agent_stuck stall) in
about that time. Without agentConfig the worker's default tier is used."""
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import REPO, Check, Fleet  # noqa: E402

KEY = "sk-test-agentconfig-0000"


def start_fake(d):
    port_file = os.path.join(d, "fake.port")
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "tests/fakes/fake_llm.py"),
                          "--port-file", port_file, "--expect-key", KEY],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if time.monotonic() > deadline:
            raise TimeoutError("fake LLM did not start")
        time.sleep(0.02)
    return p, "http://127.0.0.1:%s" % open(port_file).read().strip()


def control(base, path, obj=None):
    data = json.dumps(obj).encode() if obj is not None else None
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def done(notes):
    return {"reply": {"tool_calls": [{"name": "complete_step",
                                      "input": {"notes": notes, "context": {"answer": notes}}}]}}


def models_for(fleet, base, check, label, ctx):
    control(base, "/_control/reset", {})
    control(base, "/_control/script", [done("one"), done("two")])
    c = fleet.client()
    kw = {"context": json.dumps(ctx)} if ctx else {}
    sid = c.spawn("two-step", "agent config " + label, **kw)
    c.close()
    fleet.wait_completed([sid], timeout_s=30)
    check(fleet.r.hget("wt:session:%s" % sid, "outcome") == "success", "%s: session ok" % label)
    return {r["body"]["model"] for r in control(base, "/_control/requests")
            if r["path"] == "/v1/messages"}


def main():
    check = Check()
    fleet = Fleet("agentcfg")
    fake = None
    try:
        fake, base = start_fake(fleet.dir)
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("w", 2, None, "--provider", "anthropic", "--base-url", base,
                           "--model-fast", "fast-model-x", "--model-balanced", "balanced-model-x",
                           "--stall-timeout", "30s", env={"ANTHROPIC_API_KEY": KEY})
        fleet.wait_workers(1)
        got = models_for(fleet, base, check, "default", None)
        check(got == {"balanced-model-x"}, "no agentConfig: the default tier's model (%s)" % got)
        got = models_for(fleet, base, check, "tier", {"agentConfig": {"modelTier": "fast"}})
        check(got == {"fast-model-x"}, "agentConfig.modelTier fast picks its model (%s)" % got)
        got = models_for(fleet, base, check, "model",
                         {"agentConfig": {"model": "claude-special-7", "modelTier": "fast"}})
        check(got == {"claude-special-7"}, "agentConfig.model is sent as is (%s)" % got)

        # A model that never answers: the session's 1 s stall timeout, not the worker's 30 s.
        control(base, "/_control/reset", {})
        control(base, "/_control/script", [{"stall_s": 20}] * 5)
        c = fleet.client()
        t0 = time.monotonic()
        sid = c.spawn("two-step", "stalls", context=json.dumps(
            {"agentConfig": {"stallTimeoutSeconds": 1}}))
        c.close()
        fleet.wait_completed([sid], timeout_s=60)
        took = time.monotonic() - t0
        h = fleet.r.hgetall("wt:session:%s" % sid)
        stuck = [d for _, t, d, _ in fleet.events(sid) if t == "agent_stuck"]
        check(h.get("outcome") == "timeout" and stuck and stuck[0]["reason"] == "stall",
              "stallTimeoutSeconds 1: the session ends as a stall (%s, %s)" % (h.get("outcome"), stuck))
        check(took < 25, "well before the worker's 30 s stall timeout (%.1f s)" % took)
    except Exception as e:
        check(False, "unexpected %s: %s" % (type(e).__name__, e))
    finally:
        if check.failed:
            fleet.dump_logs()
        fleet.stop()
        if fake:
            fake.kill()
            fake.wait()
    check.done()


if __name__ == "__main__":
    main()
