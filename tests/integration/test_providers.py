# ctest-timeout: 240
"""The three providers end to end through a real broker and real workers:
the loop-branch workflow (forEach loop, runCondition branch, a required
output the agent first forgets) run by `scripted`, by `anthropic` against
the fake Messages API with injected 429/500/529/stall/reset, and by `openai`
against the fake Chat Completions API. Asserts the requests the worker sent
(headers, tool_result pairing, message order), a refused path escape, and
that the API key is in neither a Bash `env` dump nor Redis; a cancel wakes a
session that has been waiting on a stalled HTTP reply for seconds (the call
sleeps in curl's poll, not waking every second to look)."""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import REPO, SCRIPTS, Check, Fleet  # noqa: E402

KEY = "sk-test-VERY-secret-4242"
CTX = {"items": ["alpha", "beta"], "mode": "full"}


def cs(notes, context=None):
    inp = {"notes": notes}
    if context:
        inp["context"] = context
    return {"reply": {"tool_calls": [{"name": "complete_step", "input": inp}]}}


def tool(name, inp):
    return {"reply": {"text": "using %s" % name, "tool_calls": [{"name": name, "input": inp}]}}


def start_fake(d, *extra):
    port_file = os.path.join(d, "fake.port")
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "tests/fakes/fake_llm.py"),
                          "--port-file", port_file, "--expect-key", KEY] + list(extra),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if time.monotonic() > deadline:
            raise TimeoutError("fake LLM did not start")
        time.sleep(0.02)
    scheme = "https" if "--tls-cert" in extra else "http"
    return p, "%s://127.0.0.1:%s" % (scheme, open(port_file).read().strip())


def control(base, path, obj=None):
    data = json.dumps(obj).encode() if obj is not None else None
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def run_session(fleet, check, label, **spawn):
    c = fleet.client()
    sid = c.spawn("loop-branch", "task for %s" % label, context=json.dumps(CTX), **spawn)
    c.close()
    fleet.wait_completed([sid], timeout_s=90)
    return sid


def check_loop_branch(fleet, check, sid, label):
    h = fleet.r.hgetall("wt:session:%s" % sid)
    out = json.loads(h.get("output") or "{}")
    check(h.get("outcome") == "success", "%s: session succeeded (%s)" % (label, h.get("error")))
    check(out.get("context", {}).get("result", "").startswith("handled 2 items"),
          "%s: required output present" % label)
    steps = [d["step"] for _, t, d, _ in fleet.events(sid) if t == "step_advanced"]
    check(steps == ["plan", "handle-item", "handle-item", "deep-check", "wrap-up"],
          "%s: loop ran twice, branch taken: %s" % (label, steps))
    failed = [d for _, t, d, _ in fleet.events(sid) if t == "tool_call_failed"]
    check(any("missing required output: result" in d.get("error", "") for d in failed),
          "%s: missing output came back as an error tool result" % label)


def all_redis_text(r):
    chunks = []
    for k in r.scan_iter(count=1000):
        t = r.type(k)
        if t == "hash":
            chunks.append(json.dumps(r.hgetall(k)))
        elif t == "stream":
            chunks.append(json.dumps(r.xrange(k)))
        elif t == "string":
            chunks.append(r.get(k) or "")
        elif t == "zset":
            chunks.append(json.dumps(r.zrange(k, 0, -1)))
    return "\n".join(chunks)


def check_key_required(fleet, check, base):
    """A hosted provider without its key refuses to start with one line
    naming the variable; a custom base URL (a local server) starts without
    one and logs that no key is sent."""
    from wtfleet import BIN
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL",
                        "OPENAI_BASE_URL")}
    for prov, var in (("anthropic", "ANTHROPIC_API_KEY"), ("openai", "OPENAI_API_KEY")):
        r = subprocess.run([BIN, "worker", "--provider", prov, "--broker", fleet.workers_ep,
                            "--redis", fleet.redis_url, "--name", "nokey-" + prov],
                           capture_output=True, text=True, timeout=30, env=env)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and len(lines) == 1 and var in lines[0],
              "%s without %s: refuses to start, one line naming it (rc %d: %s)"
              % (prov, var, r.returncode, r.stderr.strip()))
    fleet.start_worker("local", 1, None, "--provider", "openai", "--base-url", base,
                       env={"OPENAI_API_KEY": ""})
    fleet.wait_for(lambda: fleet.r.exists("wt:worker:local"), 15, "worker local registered")
    with open(os.path.join(fleet.dir, "worker-local.log"), errors="replace") as f:
        log = f.read()
    check("OPENAI_API_KEY is not set" in log,
          "openai on a custom base URL starts without a key and logs it")


def check_cancel_wakes_wait(fleet, check, base):
    """An LLM call sleeps until its answer, its timeout or a cancel (issue
    18): past its first seconds it is not polling any more, so only the
    cancel's wake ends it this fast."""
    control(base, "/_control/reset", {})
    control(base, "/_control/script", [{"stall_s": 60}, cs("never seen")])
    c = fleet.client()
    sid = c.spawn("loop-branch", "cancel me while I wait", context=json.dumps(CTX))
    c.close()
    fleet.wait_for(lambda: any(r["path"] == "/v1/chat/completions"
                               for r in control(base, "/_control/requests")), 30,
                   "the LLM request reached the fake")
    time.sleep(5)  # the scenario: a wait long enough that the call no longer wakes every second
    t0 = time.monotonic()
    r = fleet.run_cli("cancel", sid)
    fleet.wait_completed([sid], 30)
    took = time.monotonic() - t0
    h = fleet.r.hgetall("wt:session:%s" % sid)
    check(r.returncode == 0 and h.get("outcome") == "cancelled",
          "cancel of a session waiting on its LLM -> cancelled (%s)" % h.get("outcome"))
    check(took < 1.5, "the cancel woke the waiting call at once (%.2fs)" % took)


def main():
    check = Check()
    fleet = Fleet("providers")
    d = tempfile.mkdtemp(prefix="wt-fake-")
    fake, base = start_fake(d)
    try:
        fleet.start_redis()
        fleet.start_broker()

        # 1. scripted
        fleet.start_worker("scripted", 2, os.path.join(SCRIPTS, "loop-branch.json"))
        fleet.wait_workers(1)
        sid = run_session(fleet, check, "scripted")
        check_loop_branch(fleet, check, sid, "scripted")
        fleet.kill("worker-scripted", 15)
        fleet.procs["worker-scripted"].wait(timeout=20)
        fleet.wait_workers(0, exact=True)

        # 2. anthropic, with faults injected between the real answers
        script = [
            tool("Bash", {"command": "env; echo done"}),
            tool("Read", {"path": "../../../../etc/passwd"}),
            cs("planned"),
            {"status": 429, "headers": {"retry-after": "1"}},
            cs("handled item 1"),
            {"status": 500},
            cs("handled item 2"),
            {"status": 529},
            cs("deep check done"),
            {"stall_s": 3},
            cs("forgot the result"),
            {"reset": True},
            cs("wrapped up", {"result": "handled 2 items (anthropic)"}),
        ]
        control(base, "/_control/reset", {})
        control(base, "/_control/script", script)
        env = {"ANTHROPIC_API_KEY": KEY}
        fleet.start_worker("anthropic", 2, None, "--provider", "anthropic", "--base-url", base,
                           "--stall-timeout", "1s", env=env)
        fleet.wait_workers(1)
        sid = run_session(fleet, check, "anthropic")
        check_loop_branch(fleet, check, sid, "anthropic")
        reqs = [r for r in control(base, "/_control/requests") if r["path"] == "/v1/messages"]
        check(len(reqs) == 13, "anthropic: 13 requests (8 answers + 5 retried faults), got %d" % len(reqs))
        check(all(r["headers"].get("x-api-key:key_ok") for r in reqs), "x-api-key sent and correct")
        check(all(r["headers"].get("anthropic-version") == "2023-06-01" for r in reqs),
              "anthropic-version header sent")
        last = reqs[-1]["body"]
        msgs = last["messages"]
        check(all(msgs[i]["role"] != msgs[i + 1]["role"] for i in range(len(msgs) - 1)),
              "messages alternate user/assistant")
        paired = True
        for i in range(1, len(msgs) - 1, 2):
            uses = [b["id"] for b in msgs[i]["content"] if b["type"] == "tool_use"]
            results = [b["tool_use_id"] for b in msgs[i + 1]["content"] if b["type"] == "tool_result"]
            paired &= uses == results and len(uses) > 0
        check(paired, "each tool_result follows its tool_use, same ids, same order")
        env_dump = [b for b in msgs[2]["content"] if b["type"] == "tool_result"][0]["content"]
        check("done" in env_dump and KEY not in env_dump and "ANTHROPIC_API_KEY" not in env_dump,
              "Bash env dump has no secret")
        read_res = [b for b in msgs[4]["content"] if b["type"] == "tool_result"][0]
        check(read_res["is_error"] and "escapes the workspace" in read_res["content"],
              "path escape refused: %s" % read_res["content"][:80])
        models = {r["body"]["model"] for r in reqs}
        check(models == {"claude-sonnet-4-5", "claude-opus-4-1"},
              "balanced tier by default, the step's modelTier best for deep-check (%s)" % models)
        check(last["tools"] and {"name", "description", "input_schema"} <= set(last["tools"][0]),
              "tools sent with input_schema")
        turns = [d for _, t, d, _ in fleet.events(sid) if t == "llm_turn_completed"]
        check(sum(d.get("retries", 0) for d in turns) == 5, "5 retries recorded in events")
        check(all(d["input_tokens"] == 11 and d["output_tokens"] == 7 for d in turns),
              "token usage parsed from the API")
        h = fleet.r.hgetall("wt:session:%s" % sid)
        check(int(h["input_tokens"]) == 11 * len(turns), "tokens summed in the session hash")
        check(KEY not in all_redis_text(fleet.r), "API key appears nowhere in Redis")
        log = open(os.path.join(fleet.dir, "worker-anthropic.log")).read()
        check(KEY not in log, "API key not in the worker log")

        # invalid JSON from the API: the session fails cleanly, the worker lives on
        control(base, "/_control/script", [{"raw": "not json{"}])
        c = fleet.client()
        bad = c.spawn("loop-branch", "bad reply", context=json.dumps(CTX))
        c.close()
        fleet.wait_completed([bad], timeout_s=30)
        h = fleet.r.hgetall("wt:session:%s" % bad)
        check(h["outcome"] == "error" and "invalid JSON" in h["error"],
              "malformed API body -> outcome error naming it (%s)" % h["error"])
        check(fleet.procs["worker-anthropic"].poll() is None, "worker survived the bad body")
        fleet.kill("worker-anthropic", 15)
        fleet.procs["worker-anthropic"].wait(timeout=20)
        fleet.wait_workers(0, exact=True)

        # 3. openai
        control(base, "/_control/reset", {})
        control(base, "/_control/script", [{"reply": {"text": "I won't.", "stop_reason": "refusal"}},
                                           {"reply": {"text": "a long answer cut", "stop_reason": "max_tokens"}},
                                           cs("planned"), cs("handled item 1"),
                                           cs("handled item 2"), cs("deep check done"),
                                           cs("forgot the result"),
                                           cs("wrapped up", {"result": "handled 2 items (openai)"})])
        fleet.start_worker("openai", 2, None, "--provider", "openai", "--base-url", base,
                           env={"OPENAI_API_KEY": KEY})
        fleet.wait_workers(1)
        sid = run_session(fleet, check, "openai")
        check_loop_branch(fleet, check, sid, "openai")
        reqs = [r for r in control(base, "/_control/requests") if r["path"] == "/v1/chat/completions"]
        stops = [d["stop_reason"] for _, t, d, _ in fleet.events(sid) if t == "llm_turn_completed"]
        check(stops[:2] == ["refusal", "max_tokens"],
              "refusal and max_tokens cut-off recorded as turn events, session went on (%s)" % stops[:3])
        nudges = [m["content"] for m in reqs[-1]["body"]["messages"] if m["role"] == "user"][1:3]
        check(any("token limit" in n for n in nudges), "the agent was told its reply was cut off")
        reqs = reqs[2:]
        check(len(reqs) == 6 and all(r["headers"].get("authorization:key_ok") for r in reqs),
              "openai: Authorization Bearer sent and correct (%d requests, %s)"
              % (len(reqs), [r["headers"].get("authorization:key_ok") for r in reqs]))
        msgs = reqs[-1]["body"]["messages"]
        check(msgs[0]["role"] == "system" and msgs[1]["role"] == "user", "system then user first")
        ok = True
        for i, m in enumerate(msgs):
            if m["role"] == "assistant" and m.get("tool_calls"):
                ids = [tc["id"] for tc in m["tool_calls"]]
                nxt = [x["tool_call_id"] for x in msgs[i + 1:i + 1 + len(ids)] if x["role"] == "tool"]
                ok &= ids == nxt and all(isinstance(tc["function"]["arguments"], str)
                                         for tc in m["tool_calls"])
        check(ok, "tool messages answer their tool_call_id in order; arguments are strings")
        check_cancel_wakes_wait(fleet, check, base)
        check_key_required(fleet, check, base)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fake.kill()
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
