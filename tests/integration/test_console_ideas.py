# ctest-timeout: 60
"""The console's Ideas/Gaps panel (issue 19): GET /api/ideas lists the
recorded ideas (wt:ideas) and the watchdog's gap entries (inbox kind gap),
newest first, 50 of each at most, with the sessions they came from; other
inbox kinds are not listed; the page has the panel and its script asks for
the route. In headless Chromium (skipped when absent): the panel lists the
gaps and ideas with a link per session they came from, and clicking one
opens that session's detail."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import Check, Fleet  # noqa: E402
from test_console_api import Console  # noqa: E402
from test_console_browser import CHROMIUM, Browser, q  # noqa: E402

TALK = "01KTAAAAAAAAAAAAAAAAAAAAT1"
WATCH = "01KWATCHAAAAAAAAAAAAAAAAAA"
GAP_OF = "01KFAAAAAAAAAAAAAAAAAAAAG2"


def browser(check, fleet, con):
    b = Browser(fleet.dir)
    try:
        b.navigate("http://127.0.0.1:%d/" % con.port)
        b.wait("document.body && document.body.dataset.ready === '1' && "
               "document.querySelectorAll('[data-testid=ideas] [data-testid=gap]').length === 3",
               20, "the Ideas & gaps panel with three gaps")
        texts = b.js("[...document.querySelectorAll('[data-testid=ideas] li')]"
                     ".map((li) => li.textContent)")
        check(len(texts) == 53 and texts[0].startswith("gap failed_no_followup: gap 2") and
              "idea 59" in texts[3], "the panel lists 3 gaps then 50 ideas (%s)" % texts[:4])
        links = b.js("[...document.querySelectorAll('[data-testid=ideas] li')].map((li) => "
                     "[...li.querySelectorAll('[data-testid=idea-session]')].map((a) => "
                     "a.textContent))")
        check(all(ls == [GAP_OF[-8:]] for ls in links[:3]) and
              all(ls == [TALK[-8:]] for ls in links[3:]),
              "each entry links to the session it came from (%s)" % links[:4])
        b.js("document.querySelector('[data-testid=ideas] [data-testid=gap] "
             "[data-testid=idea-session]').click()")
        b.wait(q("detail") + ".dataset.sid === '%s'" % GAP_OF, 10, "the gap's session detail")
        check(b.js(q("detail-goal") + ".textContent") == "the failed one",
              "clicking a gap's link opens that session's detail")
        b.js("document.querySelector('[data-testid=ideas] [data-testid=idea] "
             "[data-testid=idea-session]').click()")
        b.wait(q("detail") + ".dataset.sid === '%s'" % TALK, 10, "the idea's session detail")
        check(b.js(q("detail-goal") + ".textContent") == "talk with the operator",
              "clicking an idea's link opens the session that recorded it")
        problems = b.problems()
        check(not problems, "no script errors or CSP violations: %s" % problems[:3])
    finally:
        b.close()


def main():
    check = Check()
    fleet = Fleet("console-ideas")
    try:
        fleet.start_redis()
        r = fleet.r
        for i in range(60):
            r.xadd("wt:ideas", {"title": "idea %d" % i, "body": "b", "tags": "t%d" % i,
                                "session": TALK, "ts_ms": str(i)})
        for sid, goal in ((TALK, "talk with the operator"), (GAP_OF, "the failed one")):
            r.hset("wt:session:" + sid, mapping={
                "id": sid, "workflow": "coding-task", "goal": goal, "status": "completed",
                "outcome": "success", "created_ms": 1, "ended_ms": 2, "step": "", "run": "",
                "output": "{}"})
            r.zadd("wt:sessions", {sid: 1})
        r.xadd("wt:inbox", {"kind": "completion", "session": GAP_OF, "summary": "not a gap"})
        for i in range(3):
            r.xadd("wt:inbox", {"kind": "gap", "gap_kind": "failed_no_followup", "session": WATCH,
                                "sessions": GAP_OF, "summary": "gap %d" % i,
                                "key": "failed:%d" % i})
        con = Console(fleet, "console")
        st, j = con.json("/api/ideas")
        check(st == 200, "GET /api/ideas answers 200 (%s)" % st)
        ideas, gaps = (j or {}).get("ideas", []), (j or {}).get("gaps", [])
        check(len(ideas) == 50 and ideas[0]["title"] == "idea 59" and ideas[-1]["title"] == "idea 10",
              "50 ideas, newest first (%d)" % len(ideas))
        check(all(i["session"] == TALK for i in ideas), "each idea names the session that recorded it")
        check([g["summary"] for g in gaps] == ["gap 2", "gap 1", "gap 0"] and
              all(g["sessions"] == GAP_OF and g["session"] == WATCH and g["kind"] == "gap" for g in gaps),
              "only gap entries, newest first, with the sessions they are about (%s)" % gaps)
        st, page = con.get("/")
        check(st == 200 and b'data-testid="ideas"' in page, "the page has the Ideas & gaps panel")
        st, js = con.get("/app.js")
        check(st == 200 and b"/api/ideas" in js, "its script reads /api/ideas")
        if os.path.exists(CHROMIUM):
            browser(check, fleet, con)
        else:
            print("SKIP the browser part: %s is not installed" % CHROMIUM, flush=True)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
