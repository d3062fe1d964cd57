# ctest-timeout: 180
"""Sessions go only to workers that can run them (issue 11, item 13).

Two workers serve different --workflows directories: every session of a
workflow only w1 has runs on w1. A session requiring label gpu waits while
only unlabeled workers live, and `status` and /metrics say why; it stays
queued across a broker restart (its requirement is in the session hash) and
runs once a --label gpu worker joins. A spawn of a workflow no worker ever
offered is refused naming the known ids and the closest one; --allow-unknown
queues it. A worker that comes back without a workflow is never given its
sessions."""
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, SCRIPTS, WORKFLOWS, Check, Fleet  # noqa: E402

SCRIPT = os.path.join(SCRIPTS, "two-step.json")


def make_dirs(base):
    """dir a: two-step and only-w1 (a copy under another id); dir b: two-step."""
    a, b = os.path.join(base, "wf-a"), os.path.join(base, "wf-b")
    for d in (a, b):
        os.makedirs(d)
        shutil.copy(os.path.join(WORKFLOWS, "two-step.json"), d)
    with open(os.path.join(WORKFLOWS, "two-step.json")) as f:
        wf = json.load(f)
    wf["id"] = "only-w1"
    with open(os.path.join(a, "only-w1.json"), "w") as f:
        json.dump(wf, f)
    return a, b


def start_worker(fleet, name, wf_dir, *extra):
    return fleet._spawn("worker-" + name, [
        BIN, "worker", "--broker", fleet.workers_ep, "--clients", fleet.clients_ep,
        "--redis", fleet.redis_url, "--slots", "4", "--name", name, "--workflows", wf_dir,
        "--workspace-root", os.path.join(fleet.dir, "ws"), "--provider", "scripted",
        "--script", SCRIPT, "--min-notes", "0"] + list(extra))  # the script's notes are short


def status(fleet, sid):
    r = fleet.run_cli("status", sid, "--json")
    return json.loads(r.stdout) if r.returncode == 0 else {}


def wait_waiting(fleet, sid, timeout_s=10):
    """Status of sid once the broker has reported why it waits (bounded)."""
    deadline = time.monotonic() + timeout_s
    while True:
        st = status(fleet, sid)
        if st.get("waiting") or time.monotonic() > deadline:
            return st
        time.sleep(0.05)


def wait_metric(fleet, needle, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while True:
        text = fleet.metrics()
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def spawn(fleet, *args):
    return fleet.run_cli("spawn", *args)


def run_one(fleet, check, what):
    """Spawns a two-step session and waits for it: proves dispatch went on."""
    r = spawn(fleet, "--workflow", "two-step", "--goal", what)
    sid = r.stdout.strip()
    fleet.wait_completed([sid], timeout_s=60)
    check(fleet.r.hget("wt:session:%s" % sid, "outcome") == "success", "%s ran" % what)


def main():
    check = Check()
    fleet = Fleet("routing")
    try:
        dir_a, dir_b = make_dirs(fleet.dir)
        fleet.start_redis()
        fleet.start_broker()
        start_worker(fleet, "w1", dir_a)
        start_worker(fleet, "w2", dir_b)
        fleet.wait_workers(2)

        # 1. A workflow only w1 has: all 10 run there, none fails on w2.
        c = fleet.client()
        sids = c.spawn_many(10, "only-w1", goal_fmt="only %d")
        c.close()
        fleet.wait_completed(sids, timeout_s=90)
        rows = [fleet.r.hgetall("wt:session:%s" % s) for s in sids]
        ok = [h for h in rows if h.get("outcome") == "success"]
        check(len(ok) == 10, "10 of 10 only-w1 sessions succeeded (%d; errors: %s)"
              % (len(ok), sorted({h.get("error", "") for h in rows} - {""})[:2]))
        check({h.get("worker") for h in rows} == {"w1"}, "all ran on w1 (%s)"
              % sorted({h.get("worker") for h in rows}))

        # 2. A session requiring gpu waits while only unlabeled workers live.
        r = spawn(fleet, "--workflow", "two-step", "--goal", "needs gpu", "--require", "gpu")
        gpu = r.stdout.strip()
        check(r.returncode == 0 and len(gpu) == 26, "spawn --require gpu accepted")
        st = wait_waiting(fleet, gpu)
        want = "no live worker offering workflow 'two-step' has label gpu"
        check(st.get("status") == "queued" and st.get("waiting") == want,
              "status --json says why it waits (%s)" % st.get("waiting"))
        check(st.get("require") == "gpu", "the requirement is in the session hash")
        text = fleet.run_cli("status", gpu).stdout
        check("waiting   " + want in text and "requires  gpu" in text, "status text says why")
        m = wait_metric(fleet, 'require="gpu"')
        check('wt_queue_unroutable{workflow="two-step",require="gpu",reason="%s"} 1' % want in m,
              "/metrics wt_queue_unroutable names the class and reason")

        # 3. A never-advertised workflow is refused, naming known ids and the closest.
        r = spawn(fleet, "--workflow", "two-stpe", "--goal", "typo")
        check(r.returncode == 1 and "unknown workflow 'two-stpe'" in r.stderr
              and "did you mean 'two-step'" in r.stderr and "only-w1" in r.stderr
              and "--allow-unknown" in r.stderr,
              "unknown workflow refused with known ids and a suggestion (%d %r)"
              % (r.returncode, r.stderr.strip()))
        check('wt_spawns_refused_total{reason="unknown_workflow"} 1' in fleet.metrics(),
              "the refusal is counted")
        r = spawn(fleet, "--workflow", "two-stpe", "--goal", "typo", "--allow-unknown")
        typo = r.stdout.strip()
        check(r.returncode == 0 and len(typo) == 26, "--allow-unknown queues it")
        st = wait_waiting(fleet, typo)
        check(st.get("waiting") == "no live worker offers workflow 'two-stpe'",
              "its status says no live worker offers it (%s)" % st.get("waiting"))
        r = spawn(fleet, "--workflow", "two-step", "--goal", "x", "--require", "no,comma")
        check(r.returncode == 2, "a bad --require label is a usage error")

        # 4. A broker restart keeps both unroutable sessions queued, requirement included.
        fleet.kill("broker")
        fleet.procs["broker"].wait(timeout=10)
        os.unlink(fleet.clients_ep[len("ipc://"):])
        fleet.start_broker()
        fleet.wait_workers(2)
        run_one(fleet, check, "after restart")  # workers are back and dispatch runs
        for sid, what in ((gpu, "gpu"), (typo, "unknown-workflow")):
            st = wait_waiting(fleet, sid)
            check(st.get("status") == "queued" and st.get("waiting"),
                  "%s session still queued after the broker restart (%s, %s)"
                  % (what, st.get("status"), st.get("waiting")))
        m = wait_metric(fleet, 'workflow="two-stpe"')
        check('require="gpu"' in m and 'workflow="two-stpe"' in m,
              "/metrics after restart lists both waiting classes")

        # 5. A gpu worker joins: the gpu session runs there.
        start_worker(fleet, "w3", dir_b, "--label", "gpu")
        fleet.wait_completed([gpu], timeout_s=60)
        h = fleet.r.hgetall("wt:session:%s" % gpu)
        check(h.get("outcome") == "success" and h.get("worker") == "w3",
              "gpu session ran on the gpu worker (%s on %s)" % (h.get("outcome"), h.get("worker")))

        # 6. w1 comes back without only-w1: its sessions are never given to it.
        fleet.kill("worker-w1", sig=15)
        fleet.procs["worker-w1"].wait(timeout=30)
        fleet.wait_workers(2, exact=True)
        start_worker(fleet, "w1", dir_b)
        fleet.wait_workers(3)
        r = spawn(fleet, "--workflow", "only-w1", "--goal", "lost")
        lost = r.stdout.strip()
        check(r.returncode == 0, "a workflow once advertised is still accepted")
        run_one(fleet, check, "after w1 lost only-w1")
        st = wait_waiting(fleet, lost)
        check(st.get("status") == "queued"
              and st.get("waiting") == "no live worker offers workflow 'only-w1'",
              "only-w1 session waits instead of failing on the new w1 (%s, %s)"
              % (st.get("status"), st.get("waiting") or st.get("error")))
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
