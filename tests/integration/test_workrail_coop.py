# ctest-timeout: 600
"""All 43 WorkRail v3.37.1 workflow files driven by a cooperative model
(tests/fakes/fake_coop_llm.py: it answers only from the step text and the
errors it is shown) through a real broker and worker. Reports, per file,
the outcome, the steps run, the turns and how many turns were rejected
complete_step calls, then the totals; checks every file reaches success.

The three files that lose a duplicated id in the fixture folder run from a
folder of their own, with the routines their templateCall steps need (the
.lean. one with WORKRAIL_ENABLE_LEAN_WORKFLOWS=true,
as WorkRail needs). The files come from ../shared/fixtures when present (all
43), else from the copies shipped in tests/fixtures (17, the same checks).
WT_COOP_JSON=FILE writes the per-file figures as JSON."""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import REPO, WORKRAIL, WORKRAIL_FULL, Check, Fleet  # noqa: E402

FIXTURES = os.path.join(WORKRAIL, "workflows")
LOSERS = [("coding-task-workflow-agentic.json", {}), ("workflow-for-workflows.json", {}),
          ("coding-task-workflow-agentic.lean.v2.json",
           {"WORKRAIL_ENABLE_LEAN_WORKFLOWS": "true"})]


def all_files():
    out = []
    for root, _, files in os.walk(FIXTURES):
        out += [os.path.join(root, f) for f in files if f.endswith(".json")]
    return sorted(out)


def start_fake(d):
    port_file = os.path.join(d, "coop.port")
    p = subprocess.Popen(["/usr/bin/python3", os.path.join(REPO, "tests/fakes/fake_coop_llm.py"),
                          "--port-file", port_file],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if time.monotonic() > deadline:
            raise TimeoutError("cooperative fake did not start")
        time.sleep(0.02)
    return p, "http://127.0.0.1:%s" % open(port_file).read().strip()


def run_batch(fleet, name, folder, ids, base, env):
    e = {"ANTHROPIC_API_KEY": "coop-test-key"}
    e.update(env)
    fleet.start_worker(name, 4, None, "--provider", "anthropic", "--base-url", base,
                       "--workflows", folder, env=dict(os.environ, **e), min_notes=None)
    fleet.wait_workers(1, exact=True)
    c = fleet.client()
    sids = {}
    for wid, label in ids:
        sids[label] = c.spawn(wid, "run the %s workflow" % wid)
    c.close()
    fleet.wait_completed(list(sids.values()), 400)
    rows = {}
    for label, sid in sids.items():
        h = fleet.r.hgetall("wt:session:%s" % sid)
        evs = fleet.events(sid)
        ev = [t for _, t, _, _ in evs]
        fails = [d.get("error", "") for _, t, d, _ in evs if t == "tool_call_failed"]
        rows[label] = {"outcome": h.get("outcome"), "error": h.get("error", ""),
                       "steps": ev.count("step_advanced"),
                       "turns": ev.count("llm_turn_started"),
                       "rejected": ev.count("tool_call_failed"),
                       "followups": sum("follow-up required" in f.lower()
                                        for f in fails),
                       "skipped": ev.count("step_skipped"),
                       "last_rejection": fails[-1] if fails else ""}
    fleet.kill("worker-" + name, 15)
    fleet.procs["worker-" + name].wait(timeout=30)
    fleet.wait_workers(0, exact=True)
    return rows


def main():
    check = Check()
    print("WorkRail fixtures from %s" % FIXTURES)
    fleet = Fleet("coop")
    fake = None
    try:
        fake, base = start_fake(fleet.dir)
        fleet.start_redis()
        fleet.start_broker()
        files = all_files()
        ids = {}
        for f in files:
            with open(f) as fh:
                ids[os.path.relpath(f, FIXTURES)] = json.load(fh)["id"]
        losers = {n for n, _ in LOSERS}
        main_ids = sorted({(ids[r], r) for r in ids if r not in losers})
        seen, batch = set(), []
        for wid, rel in main_ids:  # one session per id: the folder's choice runs
            if wid not in seen:
                seen.add(wid)
                batch.append((wid, "%s (%s)" % (rel, wid)))
        rows = run_batch(fleet, "main", FIXTURES, batch, base, {})
        for i, (rel, env) in enumerate(LOSERS):
            d = os.path.join(fleet.dir, "alone%d" % i)
            os.makedirs(d)
            shutil.copy(os.path.join(FIXTURES, rel), d)
            shutil.copytree(os.path.join(FIXTURES, "routines"), os.path.join(d, "routines"))
            rows.update(run_batch(fleet, "alone%d" % i, d, [(ids[rel], "%s (%s)" % (rel, ids[rel]))],
                                  base, env))
        total = {"files": len(rows), "success": 0, "steps": 0, "turns": 0, "rejected": 0,
                 "followups": 0, "skipped": 0}
        for label in sorted(rows):
            r = rows[label]
            total["success"] += r["outcome"] == "success"
            for k in ("steps", "turns", "rejected", "followups", "skipped"):
                total[k] += r[k]
            print("  %-75s %-8s steps %3d turns %3d rejected %3d skipped %3d %s"
                  % (label, r["outcome"], r["steps"], r["turns"], r["rejected"], r["skipped"],
                     r["error"][:80]))
            if r["outcome"] != "success" and r["last_rejection"]:
                print("      last rejection: %s" % r["last_rejection"][:300].replace("\n", " | "))
        print("  TOTAL: %(success)d of %(files)d files reach success; %(steps)d steps, "
              "%(turns)d turns, %(rejected)d rejected complete_step calls (%(followups)d of them "
              "assessment follow-ups), %(skipped)d skipped steps" % total)
        if os.environ.get("WT_COOP_JSON"):
            with open(os.environ["WT_COOP_JSON"], "w") as f:
                json.dump({"rows": rows, "total": total}, f, indent=1)
        check(len(rows) == len(files) and (len(rows) == 43 or not WORKRAIL_FULL),
              "all %d fixture files ran (%d)" % (len(files), len(rows)))
        check(total["skipped"] > 0, "skipped steps are recorded as step_skipped events")
        check(total["success"] == len(rows),
              "every file reaches success (%d of %d)" % (total["success"], len(rows)))
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        if fake:
            fake.terminate()
            fake.wait(timeout=10)
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
