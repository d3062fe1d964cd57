# ctest-timeout: 60
"""The console's Ideas/Gaps panel (issue 19): GET /api/ideas lists the
recorded ideas (wt:ideas) and the watchdog's gap entries (inbox kind gap),
newest first, 50 of each at most, with the sessions they came from; other
inbox kinds are not listed; the page has the panel and its script asks for
the route."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import Check, Fleet  # noqa: E402
from test_console_api import Console  # noqa: E402

TALK = "01KTALKAAAAAAAAAAAAAAAAAAA"
WATCH = "01KWATCHAAAAAAAAAAAAAAAAAA"
GAP_OF = "01KFA1LEDAAAAAAAAAAAAAAAAA"


def main():
    check = Check()
    fleet = Fleet("console-ideas")
    try:
        fleet.start_redis()
        r = fleet.r
        for i in range(60):
            r.xadd("wt:ideas", {"title": "idea %d" % i, "body": "b", "tags": "t%d" % i,
                                "session": TALK, "ts_ms": str(i)})
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
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
