# ctest-timeout: 300
"""`worktrain bench` against a real fleet (redis, broker, one worker, the
scripted provider): bad suites are refused with every problem at once
(exit 2, no session started); the smoke suite runs end to end with every
scorer kind, a failing session is scored failed with its reason, JUnit and
the Redis record are written; thresholds exit 1; --repeat reports
pass@k/pass^k and flags a flaky case; --baseline/--max-regression and
`bench compare`; and a runner killed with SIGKILL mid-run and resumed with
--resume spawns nothing twice and scores nothing twice."""
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, REPO, Check, Fleet  # noqa: E402

SMOKE = os.path.join(REPO, "tests", "bench", "smoke")


def done(ctx, note="done"):
    return {"tool_calls": [{"name": "complete_step", "input": {"notes": note, "context": ctx}}]}


def script():
    base = json.load(open(os.path.join(REPO, "tests", "scripts", "bench-smoke.json")))["scripts"]
    extra = [
        {"name": "from-repo", "when": {"context": {"case": "from-repo"}},
         "replies": [done({"findings": [], "verdict": "clean"})]},
        {"name": "broken", "when": {"context": {"case": "broken"}},
         "replies": [{"error": {"status": 400}}]},
        {"name": "flaky-1", "when": {"context": {"case": "flaky", "repeat": 1}},
         "replies": [done({"findings": [], "verdict": "minor"})]},
        {"name": "flaky", "when": {"context": {"case": "flaky"}},
         "replies": [done({"findings": [], "verdict": "clean"})]},
        {"name": "slow", "when": {"goal_contains": "slow"},
         "replies": [dict(done({"findings": ["x"], "verdict": "clean"}), delay_ms=700)]},
    ]
    bundled = json.load(open(os.path.join(REPO, "coordinator", "suites", "scripted.json")))
    return {"scripts": bundled["scripts"] + extra + base}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def bench(fleet, *args, timeout=150):
    return fleet.run_cli("bench", *args, timeout=timeout)


def test_bad_input(check, fleet, tmp):
    before = fleet.r.zcard("wt:sessions")
    suite = write(os.path.join(tmp, "bad", "suite.yml"), """suite: bad
workflow: no-such-workflow
cases:
  - {id: a, goal: g, workspace: fixtures/missing, expect: {v: 1}}
  - {id: a, goal: g, expect: {v: 1}}
  - {id: b, goal: g}
scorers:
  - {name: v, type: equals, output: result.v, expect: v}
thresholds: {recal: 0.5}
""")
    r = bench(fleet, "run", suite, "--out", os.path.join(tmp, "bad-out"))
    check(r.returncode == 2, "a bad suite exits 2 (got %d)" % r.returncode)
    err = r.stderr
    for what in ["unknown workflow 'no-such-workflow'", "workspace 'fixtures/missing' is not a "
                 "directory", "unknown output path 'result.v'", "unknown metric 'recal'",
                 "duplicate case id 'a'", "case 'b' has no expect.v"]:
        check(what in err, "reported: %s" % what)
    check(err.count("suite.yml:") >= 6, "each problem names FILE:LINE:COL:\n" + err)
    check(fleet.r.zcard("wt:sessions") == before, "no session was started")
    r = bench(fleet, "run", os.path.join(SMOKE, "suite.yml"), "--matrix", "nope")
    check(r.returncode == 2 and "--matrix nope" in r.stderr, "unknown --matrix exits 2")
    r = bench(fleet, "run")
    check(r.returncode == 2, "usage error exits 2")


def test_smoke(check, fleet, tmp):
    out = os.path.join(tmp, "smoke")
    suite = write(os.path.join(tmp, "smoke-suite", "suite.yml"),
                  open(os.path.join(SMOKE, "suite.yml")).read()
                  .replace("workspace: fixtures/adder", "workspace: %s/fixtures/adder" % SMOKE)
                  + "\n")
    # a case from a git repository at a ref: v1 passes make test, HEAD does not
    repo = os.path.join(tmp, "fixture-repo")
    os.makedirs(repo)
    git = ["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", repo], check=True)
    for answer, tag in (("4", "v1"), ("3", None)):
        write(os.path.join(repo, "answer.txt"), answer + "\n")
        write(os.path.join(repo, "Makefile"), open(os.path.join(SMOKE, "fixtures", "adder",
                                                                 "Makefile")).read())
        subprocess.run(git + ["add", "-A"], check=True)
        subprocess.run(git + ["commit", "-qm", "answer " + answer], check=True)
        if tag:
            subprocess.run(git + ["tag", tag], check=True)
    # and one more case whose session fails (the model answers HTTP 400)
    text = open(suite).read().replace("scorers:", "  - {id: broken, goal: g, expect: "
                                      "{findings: [], verdict: clean}}\n"
                                      "  - {id: from-repo, goal: g, repo: %s, ref: v1, expect: "
                                      "{findings: [], verdict: clean}}\nscorers:" % repo, 1)
    write(suite, text)
    r = bench(fleet, "run", suite, "--out", out, "--junit", os.path.join(out, "junit.xml"),
              "--json")
    check(r.returncode == 0, "smoke exits 0 (got %d: %s)" % (r.returncode, r.stderr[-500:]))
    run = json.load(open(os.path.join(out, "RUN.json")))
    check(json.loads(r.stdout) == run, "--json prints RUN.json")
    check(os.path.exists(os.path.join(out, "RUN.md")), "RUN.md written")
    main = next(v for v in run["variants"] if v["name"] == "main")
    cases = {c["id"]: c for c in main["cases"]}
    check(cases["sloppy"]["scores"]["recall"] == 0.5 and cases["sloppy"]["outcome"] == "fail",
          "sloppy: recall 0.5, fails")
    check(cases["off-by-one"]["outcome"] == "pass", "off-by-one passes (substring match)")
    check(cases["fixme"]["scores"]["tests"] == 1.0,
          "fixme: make test passes in the session's workspace after the agent's edit")
    check(cases["from-repo"]["scores"]["tests"] == 1.0,
          "a case's repo is cloned at its ref into the session's workspace")
    b = cases["broken"]
    check(b["outcome"] == "fail" and "session ended error" in b.get("reason", ""),
          "a failed session is scored failed with the reason: %s" % b.get("reason"))
    check(main["aggregate"]["pass_rate"]["n"] == 6 and main["cost_usd" if False else "totals"]
          ["cost_usd"] > 0, "aggregates over 6 cases, cost from prices")
    check(run["pass"] is True, "recall threshold 0.5 holds")
    tree = ET.parse(os.path.join(out, "junit.xml")).getroot()
    suites = tree.findall("testsuite")
    check(len(suites) == 2 and len(suites[0].findall("testcase")) == 6,
          "JUnit: a testsuite per variant, a testcase per case")
    h = fleet.r.hgetall("wt:session:%s" % cases["clean"]["session"])
    check(h.get("run") == run["run"] and h.get("phase") == "clean",
          "sessions carry the bench run id and case as tags")
    rec = fleet.r.hgetall("wt:bench:%s" % run["run"])
    check(rec.get("status") == "done" and json.loads(rec["summary"])["pass"] is True,
          "run record in Redis")
    check(fleet.r.zscore("wt:bench:runs", run["run"]) is not None, "run listed in wt:bench:runs")
    r = bench(fleet, "list", "--json")
    check(r.returncode == 0 and any(x["run"] == run["run"] for x in json.loads(r.stdout)),
          "bench list shows the run")
    # threshold failure exits 1
    write(suite, text.replace("thresholds: {recall: 0.5}", "thresholds: {verdict: 0.9}"))
    r = bench(fleet, "run", suite, "--out", os.path.join(tmp, "smoke2"), "--matrix", "main")
    check(r.returncode == 1, "a failed threshold exits 1 (got %d)" % r.returncode)
    # baseline: a better earlier run, regression beyond the allowance exits 1
    base = dict(run)
    for v in base["variants"]:
        v["aggregate"]["recall"]["mean"] = 1.0
    bpath = write(os.path.join(tmp, "base.json"), json.dumps(base))
    write(suite, text)
    r = bench(fleet, "run", suite, "--out", os.path.join(tmp, "smoke3"), "--baseline", bpath,
              "--max-regression", "0.05")
    new = json.load(open(os.path.join(tmp, "smoke3", "RUN.json")))
    check(r.returncode == 1 and any(x["metric"] == "recall" for x in new["regressions"]),
          "recall dropped beyond 0.05: exit 1 (got %d)" % r.returncode)
    r = bench(fleet, "run", suite, "--out", os.path.join(tmp, "smoke4"), "--baseline", bpath,
              "--max-regression", "0.5")
    check(r.returncode == 0, "within the allowance: exit 0 (got %d)" % r.returncode)
    r = bench(fleet, "compare", bpath, os.path.join(tmp, "smoke3", "RUN.json"), "--json")
    d = json.loads(r.stdout) if r.returncode == 0 else []
    rec = [x for x in d if x["variant"] == "main" and x["metric"] == "recall"]
    check(rec and abs(rec[0]["delta"] + 0.25) < 1e-6 and "stderr" in rec[0],
          "compare: recall delta -0.25 with a standard error: %s" % rec)


def verdict_suite(tmp, name, ids):
    """A suite of cases (ids) whose one scorer wants verdict clean."""
    cases = "".join("  - {id: %s, goal: g, expect: {verdict: clean}}\n" % i for i in ids)
    return write(os.path.join(tmp, name, "suite.yml"),
                 "suite: %s\nworkflow: bench-one-shot\ncases:\n%sscorers:\n"
                 "  - {name: verdict, type: equals, output: context.verdict, expect: verdict}\n"
                 % (name, cases))


def test_repeat(check, fleet, tmp):
    suite = verdict_suite(tmp, "rep", ["flaky", "clean"])
    out = os.path.join(tmp, "rep-out")
    r = bench(fleet, "run", suite, "--repeat", "3", "--out", out)
    check(r.returncode == 0, "repeat run exits 0 (%s)" % r.stderr[-300:])
    run = json.load(open(os.path.join(out, "RUN.json")))
    v = run["variants"][0]
    rep = {x["id"]: x for x in v["repeats"]}
    check(len(v["cases"]) == 6, "3 repeats of 2 cases")
    f = rep["flaky"]
    check(f["passes"] == 2 and f["flaky"] is True and f["pass_at_k"] == 1.0 and
          f["pass_pow_k"] == 0.0, "flaky: 2/3, pass@3 1, pass^3 0: %s" % f)
    check(rep["clean"]["flaky"] is False and rep["clean"]["pass_pow_k"] == 1.0, "clean not flaky")
    check(v["flaky"] == 1 and "pass@3" in v["aggregate"], "variant counts 1 flaky case")


def test_resume(check, fleet, tmp):
    log = os.path.join(tmp, "scored.log")
    cases = "".join("  - {id: c%d, goal: slow case %d, expect: {findings: [x]}}\n" % (i, i)
                    for i in range(8))
    suite = write(os.path.join(tmp, "res", "suite.yml"), """suite: res
workflow: bench-one-shot
cases:
%sscorers:
  - {name: recall, type: set_recall, output: context.findings, expect: findings}
  - {name: once, type: command, run: "echo $WT_BENCH_CASE/$WT_BENCH_REPEAT >> %s"}
""" % (cases, log))
    out = os.path.join(tmp, "res-out")
    env = dict(os.environ, WORKTRAIN_REDIS=fleet.redis_url, WORKTRAIN_BROKER=fleet.clients_ep)
    recdir = os.path.join(tmp, "res-rec")
    p = subprocess.Popen([BIN, "bench", "run", suite, "--concurrency", "2", "--out", out,
                          "--record", recdir],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=REPO,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    run_id = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and p.poll() is None:
        for rid in fleet.r.zrange("wt:bench:runs", 0, -1):
            rec = fleet.r.hgetall("wt:bench:%s" % rid)
            if rec.get("suite") == "res" and sum(k.startswith("case:") for k in rec) >= 3:
                run_id = rid
        if run_id:
            break
        time.sleep(0.05)
    check(run_id is not None and p.poll() is None, "runner mid-run with 3+ cases scored")
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    p.stderr.close()
    if run_id is None:
        return
    stored = {k.split("/")[1] for k in fleet.r.hgetall("wt:bench:%s" % run_id)
              if k.startswith("case:")}
    check(len(stored) < 8, "killed before the end (%d scored)" % len(stored))
    r = bench(fleet, "run", "--resume", run_id, "--out", out)
    check(r.returncode == 0, "resume exits 0 (%d: %s)" % (r.returncode, r.stderr[-400:]))
    run = json.load(open(os.path.join(out, "RUN.json")))
    check(run["run"] == run_id and len(run["variants"][0]["cases"]) == 8, "all 8 cases in RUN.json")
    sessions = fleet.r.zrange("wt:run:%s:sessions" % run_id, 0, -1)
    check(len(sessions) == 8, "8 sessions for 8 cases: nothing spawned twice (%d)" % len(sessions))
    lines = open(log).read().split()
    once = all(lines.count(c + "/0") == 1 for c in stored)
    # The scoring under way at the kill (not yet stored) is redone: at most one extra line.
    check(once and {x.split("/")[0] for x in lines} == {"c%d" % i for i in range(8)} and
          len(lines) <= 9, "cases scored before the kill are not scored again: %s" % lines)
    check(len({c["session"] for c in run["variants"][0]["cases"]}) == 8, "distinct sessions")
    check(len([f for f in os.listdir(recdir) if f.endswith(".json")]) == 8,
          "--resume keeps recording into the run's --record folder")


def test_judge(check, fleet, tmp):
    import urllib.request
    port_file = os.path.join(tmp, "judge.port")
    fake = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "tests/fakes/fake_llm.py"),
                             "--port-file", port_file, "--expect-key", "sk-judge",
                             "--default", json.dumps({"reply": {"text": "0.75", "usage": {
                                 "input_tokens": 40, "output_tokens": 2}}})],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        fleet.wait_for(lambda: os.path.exists(port_file) and open(port_file).read().strip(), 10,
                       "fake LLM port")
        url = "http://127.0.0.1:%s" % open(port_file).read().strip()
        suite = write(os.path.join(tmp, "judge", "suite.yml"), """suite: judge
workflow: bench-one-shot
cases:
  - {id: clean, goal: review it, expect: {verdict: clean}}
scorers:
  - {name: judged, type: llm_judge, rubric: "A clean change gets 1.", model: judge-model,
     base_url: "%s", output: context.verdict, pass: 0.5}
""" % url)
        env = {"OPENAI_API_KEY": "sk-judge"}
        r = fleet.run_cli("bench", "run", suite, "--out", os.path.join(tmp, "j1"), env=env)
        run = json.load(open(os.path.join(tmp, "j1", "RUN.json")))
        c = run["variants"][0]["cases"][0]
        check(r.returncode == 0 and c["scores"]["judged"] == 0.75 and c["outcome"] == "pass",
              "llm_judge scores 0.75 from the fake LLM (%d %s)" % (r.returncode, c))
        check(c.get("judge_input_tokens") == 40 and c.get("judge_output_tokens") == 2 and
              run["variants"][0]["totals"]["judge_input_tokens"] == 40,
              "the judge's own tokens are counted")
        reqs = json.loads(urllib.request.urlopen(url + "/_control/requests", timeout=5).read())
        reqs = reqs.get("requests", reqs) if isinstance(reqs, dict) else reqs
        check(len(reqs) == 1 and reqs[0]["headers"].get("authorization:key_ok") is True and
              reqs[0]["path"] == "/v1/chat/completions" and
              "A clean change gets 1." in json.dumps(reqs[0]["body"]),
              "one judge call with the rubric and the key: %s" % json.dumps(reqs)[:300])
        req = urllib.request.Request(url + "/_control/script", method="POST", data=json.dumps(
            [{"reply": {"text": "Score: 0.8, looks fine"}}]).encode(),
            headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()
        r = fleet.run_cli("bench", "run", suite, "--out", os.path.join(tmp, "j2"), env=env)
        c = json.load(open(os.path.join(tmp, "j2", "RUN.json")))["variants"][0]["cases"][0]
        check(c["outcome"] == "error" and c["scores"]["judged"] is None and
              "not a bare score" in c["errors"]["judged"],
              "a judge reply that is not a bare number is a scorer error: %s" % c.get("errors"))
    finally:
        fake.terminate()
        fake.wait(timeout=10)


def test_record_replay(check, fleet, tmp):
    suite = verdict_suite(tmp, "rr", ["flaky", "clean", "broken"])
    rec = os.path.join(tmp, "recordings")
    r = bench(fleet, "run", suite, "--repeat", "2", "--record", rec, "--out",
              os.path.join(tmp, "rr1"))
    run1 = json.load(open(os.path.join(tmp, "rr1", "RUN.json")))
    turns = sum(c["turns"] for c in run1["variants"][0]["cases"]
                if c["session_outcome"] == "success")
    files = [f for f in os.listdir(rec) if f.endswith(".json")]
    check(len(files) == turns == 4, "one recording per successful LLM turn (%d files, %d turns)"
          % (len(files), turns))
    check(all(json.load(open(os.path.join(rec, f)))["case"] != "broken" for f in files),
          "the failed call (HTTP 400) is not recorded")
    # Tamper with the recording of case clean, repeat 0: a replay must serve it.
    for f in files:
        d = json.load(open(os.path.join(rec, f)))
        if d["case"] == "clean" and '"repeat"' not in f:
            calls = d["reply"]["calls"]
            if calls and calls[0]["input"]["context"]["verdict"] == "clean":
                calls[0]["input"]["context"]["verdict"] = "replayed"
                json.dump(d, open(os.path.join(rec, f), "w"))
                break
    r = bench(fleet, "run", suite, "--repeat", "2", "--replay", rec, "--out",
              os.path.join(tmp, "rr2"))
    run2 = json.load(open(os.path.join(tmp, "rr2", "RUN.json")))
    by = {(c["id"], c["repeat"]): c for c in run2["variants"][0]["cases"]}
    verdicts = sorted(by[("clean", k)]["outcome"] for k in (0, 1))
    check(verdicts == ["fail", "pass"], "replay served the tampered recording for one repeat "
          "only (repeats are distinct): %s %s" % (verdicts, by[("clean", 1)]))
    check(by[("flaky", 1)]["outcome"] == "fail" and by[("flaky", 0)]["outcome"] == "pass",
          "flaky's repeats replay their own answers")
    b = by[("broken", 0)]
    check(b["outcome"] == "fail" and "no recording for case broken turn 0" in b.get("reason", ""),
          "a missing recording is a clear error naming case and turn: %s" % b.get("reason"))
    r = bench(fleet, "run", suite, "--replay", os.path.join(tmp, "nowhere"))
    check(r.returncode == 2, "--replay of a missing folder exits 2")


def test_bundled(check, fleet, tmp):
    suites = os.path.join(REPO, "coordinator", "suites")
    out = os.path.join(tmp, "mr")
    r = bench(fleet, "run", os.path.join(suites, "mr-review", "suite.yml"), "--out", out,
              timeout=240)
    check(r.returncode == 0, "bundled mr-review passes its thresholds (%d: %s)"
          % (r.returncode, r.stderr[-400:]))
    run = json.load(open(os.path.join(out, "RUN.json")))
    wf = next(v for v in run["variants"] if v["name"] == "workflow")
    bad = [(c["id"], c.get("reason")) for c in wf["cases"] if c["session_outcome"] != "success"]
    check(len(wf["cases"]) == 12 and not bad,
          "12 review cases ran through the mr-review workflow: %s" % bad)
    agg = wf["aggregate"]
    check(abs(agg["recall"]["mean"] - 10.5 / 12) < 1e-6 and
          abs(agg["precision"]["mean"] - 10 / 12) < 1e-6,
          "recall 10.5/12 and precision 10/12 as scripted: %s" % agg)
    out = os.path.join(tmp, "ct")
    r = bench(fleet, "run", os.path.join(suites, "coding-task", "suite.yml"), "--out", out,
              timeout=240)
    check(r.returncode == 0, "bundled coding-task passes its threshold (%d: %s)"
          % (r.returncode, r.stderr[-400:]))
    run = json.load(open(os.path.join(out, "RUN.json")))
    cases = {c["id"]: c for c in run["variants"][0]["cases"]}
    check(len(cases) == 6 and all(cases[k]["scores"]["tests"] == 1.0 for k in cases
                                  if k != "upper"), "5 fixture repos pass make test")
    check(cases["upper"]["scores"]["tests"] == 0.0 and "exited" in cases["upper"]["errors"]
          ["tests"] and cases["upper"]["scores"]["claims"] == 1.0,
          "the scripted wrong fix fails make test though the agent claims success")


def test_console(check, fleet, tmp):
    from test_console_api import Console
    con = Console(fleet, "console")
    st, d = con.json("/api/bench")
    runs = d["runs"] if st == 200 else []
    mr = [r for r in runs if r["suite"] == "mr-review"]
    check(st == 200 and mr and mr[0]["pass"] is True and
          {v["name"] for v in mr[0]["variants"]} == {"workflow", "one-shot"} and
          "pass_rate" in mr[0]["variants"][0]["metrics"],
          "/api/bench lists runs with each variant's metric means")
    check([r["started_ms"] for r in runs] == sorted(r["started_ms"] for r in runs),
          "runs oldest first, for the chart")
    st, d = con.json("/api/bench/%s" % mr[0]["run"]) if mr else (0, None)
    check(st == 200 and len(d["cases"]) == 24 and all(c["session"] for c in d["cases"]) and
          d["run"]["summary"]["suite"] == "mr-review", "/api/bench/<run>: 24 case rows with sessions")
    st, _ = con.json("/api/bench/NOSUCHRUN")
    check(st == 404, "unknown bench run: 404")
    st, page = con.get("/bench.html")
    st2, js = con.get("/bench.js")
    check(st == 200 and st2 == 200 and b"/bench.js" in page and b"<script src=\"http" not in page
          and b"createElementNS" in js, "Benchmarks page and its inline-SVG script are served")
    st, index = con.get("/")
    check(b"/bench.html" in index, "the main page links the Benchmarks tab")


def main():
    check = Check()
    fleet = Fleet("bench")
    tmp = os.path.join(fleet.dir, "t")
    os.makedirs(tmp)
    try:
        fleet.start_redis()
        fleet.start_broker()
        sp = write(os.path.join(tmp, "script.json"), json.dumps(script()))
        fleet.start_worker("w1", 4, sp)
        fleet.wait_workers(1)
        for t in (test_bad_input, test_smoke, test_repeat, test_judge, test_record_replay,
                  test_bundled, test_console, test_resume):
            print("==", t.__name__)
            t(check, fleet, tmp)
    except Exception:
        fleet.dump_logs()
        raise
    finally:
        fleet.stop()
    return check.done()


if __name__ == "__main__":
    sys.exit(main())
