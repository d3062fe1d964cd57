# ctest-timeout: 240
"""The console's page in a real browser: headless Chromium driven over the
DevTools protocol (python3-websocket) against `worktrain console` and a real
fleet running a slow pipeline (tests/pipelines/console.yml with
tests/scripts/console.json). The page is opened once with ?token= (the
server turns it into a cookie); then, without a reload (a marker on window
must survive), the run appears, its phases show, a running session turns
completed and the next phase's session appears, a spawn_agent child hangs
under its parent, the detail panel shows steps, notes, turns and tool calls
and follows a running session live, and a goal full of HTML renders as text
and runs nothing; a burst of sessions shows up live, and a fresh load lists
one page of 50 with "more" for the rest. Screenshots go to tests/artifacts/. Skips only when
/usr/bin/chromium is absent."""
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, REPO, SCRIPTS, Check, Fleet, free_port  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = os.path.join(REPO, "tests", "artifacts")
PIPELINE = os.path.join(REPO, "tests", "pipelines", "console.yml")
TOKEN = "page-test-token-4c1d"
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


class Browser:
    """One headless Chromium and a DevTools connection to its first page."""

    def __init__(self, workdir):
        import websocket  # python3-websocket; `make test` installs it

        self.events = []  # DevTools events seen while waiting for replies
        self.log = open(os.path.join(workdir, "chromium.log"), "w")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--remote-debugging-port=0", "--no-sandbox",
             "--user-data-dir=" + os.path.join(workdir, "chromium-profile"), "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-sync",
             "--window-size=1400,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            start_new_session=True)
        found = threading.Event()
        self.ws_url = None

        def drain():  # keeps reading stderr so Chromium never blocks on it
            for raw in self.proc.stderr:
                line = raw.decode(errors="replace")
                self.log.write(line)
                self.log.flush()
                if self.ws_url is None and "DevTools listening on " in line:
                    self.ws_url = line.split("DevTools listening on ", 1)[1].strip()
                    found.set()
            found.set()

        threading.Thread(target=drain, daemon=True).start()
        if not found.wait(30) or self.ws_url is None:
            raise RuntimeError("chromium did not print its DevTools address within 30 s")
        port = int(self.ws_url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        deadline = time.monotonic() + 15
        page = None
        while page is None:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=5) as r:
                page = next((t for t in json.load(r) if t.get("type") == "page"), None)
            if page is None:
                if time.monotonic() > deadline:
                    raise RuntimeError("chromium has no page target")
                time.sleep(0.1)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30,
                                              suppress_origin=True)
        self.next_id = 0
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable")

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def js(self, expr):
        res = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise RuntimeError("page script %r failed: %s" % (expr[:80], res["exceptionDetails"]))
        return res["result"].get("value")

    def wait(self, expr, timeout_s, what):
        """Polls a JS expression (every 100 ms, bounded) until it is truthy; returns it."""
        deadline = time.monotonic() + timeout_s
        expr = "(() => { const v = (%s); return v instanceof Node ? true : v; })()" % expr
        while True:
            v = self.js(expr)
            if v:
                return v
            if time.monotonic() > deadline:
                raise TimeoutError("page never showed " + what)
            time.sleep(0.1)

    def navigate(self, url):
        self.call("Page.navigate", url=url)

    def screenshot(self, name):
        os.makedirs(ARTIFACTS, exist_ok=True)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path = os.path.join(ARTIFACTS, name)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def problems(self):
        """Script exceptions and CSP violations the page reported."""
        out = []
        for m in self.events:
            if m["method"] == "Runtime.exceptionThrown":
                d = m["params"]["exceptionDetails"]
                out.append("exception: %s" % (d.get("exception", {}).get("description") or d["text"]))
            elif m["method"] == "Log.entryAdded":
                text = m["params"]["entry"].get("text", "")
                if "Content Security Policy" in text or "Content-Security-Policy" in text:
                    out.append("csp: " + text)
        return out

    def close(self):
        try:
            self.ws.close()
        except Exception:  # the browser may be gone already
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()


def q(testid):
    """A JS expression for the element with that data-testid (or null)."""
    return "document.querySelector('[data-testid=\"%s\"]')" % testid


def wait_http(url, timeout_s):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return json.load(r)
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise TimeoutError("console never answered " + url)
            time.sleep(0.05)


def watch_pipeline(check, b, fleet, base):
    run = subprocess.Popen([BIN, "run", PIPELINE, "--goal", "the console", "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                           env=dict(os.environ, WORKTRAIN_REDIS=fleet.redis_url,
                                    WORKTRAIN_BROKER=fleet.clients_ep),
                           cwd=REPO, start_new_session=True)
    try:
        # The run shows up through the fleet stream (the page was loaded before it existed).
        rid = b.wait("(() => { const li = [...document.querySelectorAll('#runs > li.run')].find("
                     "l => l.querySelector('.wf').textContent === 'console-watch');"
                     " return li && li.dataset.runId; })()", 20, "the new run in the runs list")
        check(fleet.r.hget("wt:run:%s" % rid, "pipeline") == "console-watch",
              "the run appeared live in the list: %s" % rid)
        b.js(q("runrow-" + rid) + ".click()")
        b.wait(" && ".join(q("phase-%s-%s" % (rid, p)) for p in ("plan", "build", "ship")), 10,
               "the run's three phases")
        check(True, "expanding the run shows its phases plan, build, ship")
        plan_sid = b.wait("(() => { const n = document.querySelector('[data-testid=\"phase-%s-plan\"]"
                          " .node[data-status=\"running\"]'); return n && n.dataset.sid; })()" % rid,
                          20, "plan's session running")
        check(b.js(q("phase-%s-plan" % rid) + ".dataset.status") == "running",
              "phase plan is running with its session %s running" % plan_sid)
        check(b.js(q("phase-%s-ship" % rid) + ".dataset.status") == "pending",
              "phase ship is still pending")
        b.screenshot("console-run-running.png")

        # Completion and the next phase, pushed by events - no reload.
        b.wait(q("node-" + plan_sid) + ".dataset.status === 'completed' && "
               "document.querySelector('[data-testid=\"phase-%s-build\"] .node')" % rid, 30,
               "plan completed and build's session")
        check(b.js("window.__marker") == "kept", "plan turned completed and build's session "
              "appeared without a page reload")
        check(b.js(q("phase-%s-plan" % rid) + ".dataset.status") == "done", "phase plan is done")

        # build spawns a child: it hangs under build's session node.
        child = b.wait("(() => { const n = document.querySelector('[data-testid=\"phase-%s-build\"]"
                       " .node .node'); return n && n.dataset.sid; })()" % rid, 30,
                       "build's spawn_agent child")
        parent = fleet.r.hget("wt:session:%s" % child, "parent")
        check(b.js(q("node-" + child) + ".parentElement.closest('.node').dataset.sid") == parent,
              "the spawn_agent child is shown under its parent session")

        # ship: open its detail while it runs and watch it finish live.
        ship = b.wait("(() => { const n = document.querySelector('[data-testid=\"phase-%s-ship\"]"
                      " .node'); return n && n.dataset.sid; })()" % rid, 40, "ship's session")
        b.js(q("row-" + ship) + ".click()")
        b.wait(q("detail") + ".dataset.sid === '%s' && %s" % (ship, q("detail-steps")), 10,
               "ship's detail")
        first = b.js(q("detail") + ".dataset.status")
        check(first in ("queued", "running"), "ship's detail opened while it ran (%s)" % first)
        b.wait(q("detail") + ".dataset.status === 'completed' && " + q("detail-steps") +
               ".children.length === 2", 30, "ship's detail completed with 2 steps")
        check(b.js(q("detail-steps") + ".textContent").count("finished ship") == 1,
              "the detail followed ship live to its last step's notes")
        b.wait(q("run-" + rid) + ".dataset.status === 'succeeded'", 30, "the run succeeded")
        check(True, "the run's row turned succeeded")
        out, err = run.communicate(timeout=30)
        check(run.returncode == 0, "worktrain run exited 0")
        if run.returncode != 0:
            print(err.decode(errors="replace")[-2000:])

        # plan's detail: steps with notes, LLM turns with tokens, the Bash call, the output.
        b.js(q("row-" + plan_sid) + ".click()")
        b.wait(q("detail") + ".dataset.sid === '%s' && %s.children.length > 0" %
               (plan_sid, q("detail-steps")), 10, "plan's detail")
        steps = b.js("[...%s.children].map(li => li.textContent)" % q("detail-steps"))
        check(len(steps) == 2 and "plan step one: looked around" in steps[0] and
              "plan made" in steps[1], "detail lists plan's steps with their notes: %s" % steps)
        tools = b.js(q("detail-tools") + ".textContent")
        check("Bash" in tools and "planning-output" in tools and " ms" in tools,
              "detail lists the Bash call with its summary and duration: %r" % tools[:200])
        turns = b.js("[...%s.children].map(li => li.textContent)" % q("detail-turns"))
        check(len(turns) == 3 and all("tokens" in t for t in turns),
              "detail lists 3 LLM turns with tokens: %s" % turns[:1])
        check("the plan" in b.js(q("detail-output") + ".textContent"),
              "detail shows the structured output")
        b.screenshot("console-detail.png")
        check(b.js("window.__marker") == "kept", "still the same page load")
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=10)


def xss(check, b, fleet):
    c = fleet.client()
    sid = c.spawn("two-step", XSS)
    c.close()
    b.wait(q("node-" + sid), 20, "the new standalone session in the list")
    check(b.js(q("node-" + sid) + ".closest('#roots') !== null"),
          "the standalone session appeared live under Sessions")
    check(b.js(q("node-" + sid) + ".querySelector('.goal').textContent") == XSS,
          "the tree shows the HTML goal as literal text")
    b.js(q("row-" + sid) + ".click()")
    b.wait(q("detail") + ".dataset.sid === '%s' && %s" % (sid, q("detail-goal")), 10, "its detail")
    check(b.js(q("detail-goal") + ".textContent") == XSS, "the detail shows the goal as text")
    b.wait(q("detail") + ".dataset.status === 'completed' && " + q("detail-steps") +
           ".children.length === 2", 30, "the session's steps")
    check(XSS in b.js(q("detail-steps") + ".textContent"),
          "notes quoting the goal are literal text too")
    b.wait(q("node-" + sid) + ".dataset.status === 'completed'", 10, "the session completed in the tree")
    check(b.js("document.querySelectorAll('img').length") == 0, "no <img> was created")
    check(b.js("[...document.scripts].map(s => s.getAttribute('src'))") == ["/app.js"],
          "the only script is /app.js")
    check(b.js("typeof window.__xss") == "undefined", "no injected script ran (window.__xss unset)")
    b.screenshot("console-xss.png")


def paging(check, b, fleet, base):
    c = fleet.client()
    ids = c.spawn_many(55, "two-step", goal_fmt="bulk %d")
    c.close()
    fleet.wait_completed(ids, 60)
    rows = "document.querySelectorAll('#roots > li.node')"
    bulk = "[...%s].filter(li => li.querySelector('.goal').textContent.startsWith('bulk '))" % rows
    b.wait("%s.length >= 50 && %s.every(li => li.dataset.status === 'completed')" % (bulk, bulk), 20,
           "at least a page of the 55 new sessions, all completed")
    check(True, "a burst of 55 sessions shows up live, and completed")
    check(b.js(rows + ".length") <= 56 and b.js("[...%s].every(li => li.dataset.status === 'completed')"
                                                 % rows), "no session is shown twice or stale")
    # A fresh load shows one page of 50 and "more" for the rest.
    b.navigate(base + "/")
    b.wait("window.__marker === undefined && document.body && document.body.dataset.ready === '1'", 20,
           "the page loaded again")
    check(b.js(rows + ".length") == 50, "a fresh page lists 50 sessions, not all 56 (%s)" % b.js(rows + ".length"))
    check(b.js(q("roots-more") + ".hidden") is False, "and offers more")
    b.js(q("roots-more") + ".click()")
    b.wait(rows + ".length === 56", 10, "the second page")
    sids = b.js("[...%s].map(li => li.dataset.sid)" % rows)
    check(len(set(sids)) == 56 and ids[0] in sids, "\"more\" added the 6 older sessions once each")
    check(b.js(q("roots-more") + ".hidden") is True, "and then has nothing more to offer")


def fleet_panel(check, b):
    b.wait(q("worker-w1"), 10, "worker w1 in the fleet panel")
    row = b.js(q("worker-w1") + ".textContent")
    check("/4" in row, "the fleet panel shows w1 with its 4 slots: %r" % row)
    check("queued" in b.js(q("stats") + ".textContent"), "the fleet panel shows queue stats")


def main():
    check = Check()
    if not os.path.exists(CHROMIUM):
        print("SKIP: %s is not installed (`make test` installs it with "
              "WT_WITH_BROWSER=1 deploy/install-deps.sh)" % CHROMIUM, flush=True)
        sys.exit(77)
    stale = os.path.join(ARTIFACTS, "console-failure.png")
    if os.path.exists(stale):
        os.remove(stale)
    fleet = Fleet("console-page")
    browser = None
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("w1", 4, os.path.join(SCRIPTS, "console.json"))
        fleet.wait_workers(1)
        port = free_port()
        fleet._spawn("console", [BIN, "console", "--http", "127.0.0.1:%d" % port,
                                 "--redis", fleet.redis_url, "--token", TOKEN])
        base = "http://127.0.0.1:%d" % port
        wait_http(base + "/healthz", 15)
        browser = Browser(fleet.dir)
        b = browser
        b.navigate(base + "/?token=" + TOKEN)
        b.wait("document.body && document.body.dataset.ready === '1' && " + q("live") +
               ".dataset.live === '1'", 20, "the page loaded with its live stream open")
        check(b.js("location.href") == base + "/", "?token= was exchanged for a cookie and dropped "
              "from the address (%s)" % b.js("location.href"))
        check(b.js(q("error") + ".hidden"), "no API error shown: %r" % b.js(q("error") + ".textContent"))
        b.js("window.__marker = 'kept'")
        fleet_panel(check, b)
        watch_pipeline(check, b, fleet, base)
        xss(check, b, fleet)
        paging(check, b, fleet, base)
        problems = b.problems()
        check(not problems, "no script errors or CSP violations: %s" % problems[:3])
    except Exception as e:  # report, then fail
        check(False, "unexpected %s: %s" % (type(e).__name__, e))
        if browser:
            try:
                browser.screenshot("console-failure.png")
                print("page problems:", browser.problems())
            except Exception:  # best effort
                pass
    finally:
        if browser:
            browser.close()
        if check.failed:
            fleet.dump_logs()
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
