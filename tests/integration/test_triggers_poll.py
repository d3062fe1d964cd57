# ctest-timeout: 240
"""Polling triggers against local fake GitHub and GitLab servers (their REST
formats): a real redis-server and a real broker started with --triggers.

- a new GitHub issue -> exactly one session, goal from goalTemplate, context
  with the issue number; a broker kill -9 and restart -> still one; an
  update with events including updated -> one more;
- a PR on the issues endpoint: not dispatched by github_issues_poll, but by
  github_prs_poll; excludeAuthors and labelFilter respected;
- ETag: later polls send If-None-Match, get 304, and use no quota;
- quota exhausted (403, X-RateLimit-Remaining: 0, reset 2 s ahead): no
  request before the reset time, then polling goes on and dispatches;
- gitlab_poll dispatches a new merge request once; injected 500 and bad
  JSON are counted and survived;
- the tokens appear in no log line and no Redis value.
No workers are needed: sessions are checked in Redis as intake stored them."""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import REPO, WORKFLOWS, Check, Fleet  # noqa: E402

FAKES = os.path.join(REPO, "tests", "fakes")
GH_TOKEN = "ghp_Fake0123456789TokenValue"
GL_TOKEN = "glpat-FakeGitLabToken42"


class Fake:
    def __init__(self, fleet, script, token):
        self.port_file = os.path.join(fleet.dir, script + ".port")
        fleet._spawn(script, ["/usr/bin/python3", os.path.join(FAKES, script),
                              "--port-file", self.port_file, "--token", token])
        fleet.wait_for(lambda: os.path.exists(self.port_file), 10, script + " port")
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.url = "http://127.0.0.1:%d" % self.port

    def post(self, path, body):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def requests(self, suffix=None):
        with urllib.request.urlopen(self.url + "/_control/requests", timeout=5) as r:
            reqs = json.loads(r.read())
        return [q for q in reqs if suffix is None or q["path"].endswith(suffix)]


TRIGGERS = """\
triggers:
  - id: gh-issues
    provider: github_issues_poll
    workflowId: two-step
    goalTemplate: "Triage #{{$.number}}: {{$.title}}"
    contextMapping:
      reporter: $.user.login
    source:
      repo: octo/hello
      token: $WT_TEST_GH_TOKEN
      apiBaseUrl: "%(gh)s"
      pollIntervalSeconds: 1
      events: [opened, updated]
      excludeAuthors: ["dependabot[bot]"]
      labelFilter: [ai, triage]
  - id: gh-prs
    provider: github_prs_poll
    workflowId: two-step
    goalTemplate: "Review PR #{{$.number}}: {{$.title}}"
    source:
      repo: octo/hello
      token: $WT_TEST_GH_TOKEN
      apiBaseUrl: "%(gh)s"
      pollIntervalSeconds: 1
      events: [opened]
  - id: gl-mrs
    provider: gitlab_poll
    workflowId: two-step
    goalTemplate: "Review MR !{{$.iid}}: {{$.title}}"
    source:
      baseUrl: "https://gitlab.example"
      projectId: "42"
      token: $WT_TEST_GL_TOKEN
      apiBaseUrl: "%(gl)s"
      pollIntervalSeconds: 1
"""


def sessions_of(fleet, trigger):
    """Sessions whose context names this trigger: [(goal, context)] oldest first."""
    out = []
    for sid in fleet.r.zrange("wt:sessions", 0, -1):
        h = fleet.r.hgetall("wt:session:%s" % sid)
        ctx = json.loads(h.get("context") or "{}")
        if ctx.get("trigger") == trigger:
            out.append((h.get("goal"), ctx))
    return out


def wait_polls(fleet, fake, suffix, n, timeout_s=15):
    """Waits until the fake saw n more requests on suffix; returns them."""
    start = len(fake.requests(suffix))
    fleet.wait_for(lambda: len(fake.requests(suffix)) >= start + n, timeout_s,
                   "%d more polls of %s" % (n, suffix))
    return fake.requests(suffix)[start:]


def wait_sessions(fleet, trigger, n, timeout_s=15):
    fleet.wait_for(lambda: len(sessions_of(fleet, trigger)) >= n, timeout_s,
                   "%d sessions of %s" % (n, trigger))
    return sessions_of(fleet, trigger)


def main():
    check = Check()
    fleet = Fleet("poll")
    try:
        fleet.start_redis()
        gh = Fake(fleet, "fake_github.py", GH_TOKEN)
        gl = Fake(fleet, "fake_gitlab.py", GL_TOKEN)
        tfile = os.path.join(fleet.dir, "triggers.yml")
        with open(tfile, "w") as f:
            f.write(TRIGGERS % {"gh": gh.url, "gl": gl.url})
        os.environ["WT_TEST_GH_TOKEN"] = GH_TOKEN
        os.environ["WT_TEST_GL_TOKEN"] = GL_TOKEN
        # Something already open before the trigger's first poll: the baseline.
        gh.post("/_control/item", {"repo": "octo/hello", "title": "Old issue", "labels": ["ai"]})
        broker_args = ("--triggers", tfile, "--workflows", WORKFLOWS)
        fleet.start_broker(*broker_args)
        for t in ("gh-issues", "gh-prs", "gl-mrs"):
            fleet.wait_for(lambda: fleet.r.hexists("wt:trigger:%s:poll" % t, "baselined"), 15,
                           "baseline of " + t)
        check(sessions_of(fleet, "gh-issues") == [],
              "an issue open before the first poll starts nothing")
        first = gh.requests("/issues")[0]
        check(first["token_ok"] and first["query"].startswith("state=open&sort=updated"),
              "issues poll: token accepted, query %s" % first["query"])
        check(first["headers"].get("accept") == "application/vnd.github+json"
              and first["headers"].get("x-github-api-version") == "2022-11-28",
              "GitHub Accept and API version headers sent")

        # 1. A new issue -> exactly one session.
        gh.post("/_control/item", {"repo": "octo/hello", "title": "Crash on start",
                                   "labels": ["ai"], "user": "alice"})
        s = wait_sessions(fleet, "gh-issues", 1)
        check(s[0][0] == "Triage #2: Crash on start", "goal from goalTemplate: %r" % s[0][0])
        ctx = s[0][1]
        check(ctx.get("number") == 2 and ctx.get("event") == "opened"
              and ctx.get("url") == "https://github.com/octo/hello/issues/2"
              and ctx.get("title") == "Crash on start" and ctx.get("reporter") == "alice",
              "context has number, url, title, event and contextMapping: %s" % ctx)
        later = wait_polls(fleet, gh, "/issues", 3)
        check(len(sessions_of(fleet, "gh-issues")) == 1, "still one session after 3 more polls")
        # ETag: the repeated polls are conditional, answered 304, and free.
        cond = [q for q in later if q["headers"].get("if-none-match")]
        check(len(cond) >= 2 and all(q["status"] == 304 for q in cond[1:]),
              "later polls send If-None-Match and get 304: %s"
              % [(q["status"], q["headers"].get("if-none-match")) for q in later])
        r304 = [q["remaining"] for q in later if q["status"] == 304]
        check(len(r304) >= 2 and len(set(r304)) == 1, "304 answers use no quota %s" % r304)
        fired = [f for _, f in fleet.r.xrange("wt:events") if f.get("type") == "trigger_fired"]
        check(any(json.loads(f["data"]).get("trigger") == "gh-issues" for f in fired),
              "trigger_fired event on wt:events")

        # 2. kill -9 and restart: nothing dispatched twice.
        before = len(gh.requests("/issues"))
        fleet.kill("broker")
        fleet.procs["broker"].wait(timeout=10)
        os.unlink(fleet.clients_ep[6:]) if os.path.exists(fleet.clients_ep[6:]) else None
        fleet.start_broker(*broker_args)
        fleet.wait_for(lambda: len(gh.requests("/issues")) >= before + 3, 15, "polls after restart")
        after = gh.requests("/issues")[before:]
        check(any(q["status"] == 200 for q in after), "the restarted broker polled afresh (200)")
        check(len(sessions_of(fleet, "gh-issues")) == 1, "still one session after kill -9 + restart")

        # 3. An update, events includes updated -> one more.
        gh.post("/_control/update", {"repo": "octo/hello", "number": 2,
                                     "title": "Crash on start (with logs)"})
        s = wait_sessions(fleet, "gh-issues", 2)
        check(len(s) == 2 and s[1][0] == "Triage #2: Crash on start (with logs)"
              and s[1][1].get("event") == "updated", "update dispatched once more: %s" % (s[1:],))

        # 4. A PR: the PR poller takes it, the issues poller skips it; filters.
        gh.post("/_control/item", {"repo": "octo/hello", "title": "Fix crash", "labels": ["ai"],
                                   "user": "alice", "pull_request": True, "head_sha": "a" * 40})
        gh.post("/_control/item", {"repo": "octo/hello", "title": "Bump lib", "labels": ["ai"],
                                   "user": "dependabot[bot]"})
        gh.post("/_control/item", {"repo": "octo/hello", "title": "Unlabelled",
                                   "labels": ["bug"], "user": "bob"})
        gh.post("/_control/item", {"repo": "octo/hello", "title": "Needs triage",
                                   "labels": ["Triage"], "user": "carol"})
        s = wait_sessions(fleet, "gh-issues", 3)
        wait_polls(fleet, gh, "/issues", 2)
        s = sessions_of(fleet, "gh-issues")
        goals = [g for g, _ in s]
        check(goals[2:] == ["Triage #6: Needs triage"],
              "issues poller: only the labelled, non-excluded issue (not the PR #3, not "
              "dependabot's #4, not unlabelled #5): %s" % goals)
        p = wait_sessions(fleet, "gh-prs", 1)
        check([g for g, _ in p] == ["Review PR #3: Fix crash"] and p[0][1].get("sha") == "a" * 40,
              "PR poller dispatched the PR: %s" % p)

        # 5. Rate limit: 403 + X-RateLimit-Remaining 0, reset ~2 s ahead.
        lim = gh.post("/_control/ratelimit", {"reset_in_s": 2, "status": 403})
        reset_at = lim["reset"]
        gh.post("/_control/item", {"repo": "octo/hello", "title": "During the limit",
                                   "labels": ["ai"], "user": "dave"})
        s = wait_sessions(fleet, "gh-issues", 4, timeout_s=20)
        check(s[3][0] == "Triage #7: During the limit", "dispatched after the reset: %r" % s[3][0])
        reqs = gh.requests()
        for path in ("/repos/octo/hello/issues", "/repos/octo/hello/pulls"):
            mine = [q for q in reqs if q["path"] == path]
            refused = [i for i, q in enumerate(mine) if q["status"] == 403]
            check(len(refused) == 1, "%s: exactly one refused request (%d)" % (path, len(refused)))
            if refused and refused[0] + 1 < len(mine):
                nxt = mine[refused[0] + 1]
                check(nxt["t"] >= reset_at - 0.01,
                      "%s: next request %.3f s after the reset time (not before)"
                      % (path, nxt["t"] - reset_at))
                check(nxt["status"] in (200, 304), "%s: polling continued (%d)"
                      % (path, nxt["status"]))
            else:
                check(False, "%s: a request after the refusal" % path)

        # 6. GitLab: a new MR once; failures survived.
        gl.post("/_control/item", {"project": "42", "title": "Add cache", "author": "erin",
                                   "labels": ["review"]})
        g = wait_sessions(fleet, "gl-mrs", 1)
        check(g[0][0] == "Review MR !1: Add cache" and g[0][1].get("number") == 1
              and g[0][1].get("author") == "erin", "MR dispatched: %s" % g)
        glr = gl.requests("/merge_requests")
        check(all(q["headers"].get("private-token", "").startswith("<redacted") for q in glr)
              and all(q["token_ok"] for q in glr), "GitLab polls carry PRIVATE-TOKEN")
        check(glr[0]["query"].startswith("state=opened&order_by=updated_at"),
              "GitLab query %s" % glr[0]["query"])
        gl.post("/_control/fail", {"answers": [{"status": 500}, {"raw": "<html>oops"}]})
        gl.post("/_control/item", {"project": "42", "title": "Second", "author": "erin"})
        g = wait_sessions(fleet, "gl-mrs", 2, timeout_s=25)
        check([x[0] for x in g] == ["Review MR !1: Add cache", "Review MR !2: Second"],
              "after a 500 and bad JSON the poller recovered and dispatched MR !2 once")
        wait_polls(fleet, gl, "/merge_requests", 2)
        check(len(sessions_of(fleet, "gl-mrs")) == 2, "each MR dispatched once")
        check(fleet.procs["broker"].poll() is None, "broker alive")

        m = fleet.metrics()

        def metric(name, trig):
            for line in m.splitlines():
                if line.startswith('%s{trigger="%s"}' % (name, trig)):
                    return float(line.split()[-1])
            return None
        check((metric("wt_poll_not_modified_total", "gh-issues") or 0) > 0,
              "metrics: 304s counted")
        check((metric("wt_poll_rate_limited_total", "gh-prs") or 0) >= 1,
              "metrics: rate-limit refusals counted")
        check((metric("wt_poll_errors_total", "gl-mrs") or 0) >= 2, "metrics: failures counted")
        check(metric("wt_poll_dispatched_total", "gl-mrs") == 2, "metrics: dispatches counted")

        # Tokens: in no log and no Redis value.
        logs = ""
        for name in os.listdir(fleet.dir):
            if name.startswith("broker") and name.endswith(".log"):
                with open(os.path.join(fleet.dir, name), errors="replace") as f:
                    logs += f.read()
        check(GH_TOKEN not in logs and GL_TOKEN not in logs, "tokens not in the broker log")
        leaked = []
        for k in fleet.r.scan_iter("*"):
            dump = json.dumps({"h": fleet.r.hgetall(k)} if fleet.r.type(k) == "hash" else
                              {"x": fleet.r.xrange(k)} if fleet.r.type(k) == "stream" else
                              {"s": fleet.r.get(k)} if fleet.r.type(k) == "string" else {})
            if GH_TOKEN in dump or GL_TOKEN in dump:
                leaked.append(k)
        check(not leaked, "tokens in no Redis value %s" % leaked)
    except Exception as e:  # noqa: BLE001 - report, dump logs, fail
        check(False, "exception: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
