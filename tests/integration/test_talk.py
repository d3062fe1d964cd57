# ctest-timeout: 180
"""`worktrain talk` driven through a pipe, with a real broker, a real worker
(anthropic provider) and the fake Messages API:
- two two-step sessions complete first and an escalation waits in the inbox;
- the first request of the talk session carries the context bundle (both
  session ids, the escalation text);
- a typed line reaches the agent as an operator message and its reply is
  printed; a record_idea call leaves an `idea` inbox entry and a wt:ideas
  record naming the talk session, and with open_issue files it as an issue
  on the (fake) GitHub named by WORKTRAIN_IDEAS_FORGE; /ideas lists it locally;
- an empty line and a 16 KiB+1 line are refused with a message and never
  sent; /quit ends the session with outcome success (exit 0);
- the fleet tools are opt-in: a two-step session's request lists none;
- no Redis or no broker: talk says which and exits 2."""
import json
import os
import urllib.request
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, REPO, Check, Fleet  # noqa: E402
from test_tell_inbox import KEY, control, cs, requests, start_fake, texts  # noqa: E402
from deliverkit import start_forge  # noqa: E402

GH_TOKEN = "ghp_talk_%d" % os.getpid()

ESCALATION = "approve the schema migration of billing (talk-%d)" % os.getpid()
MEMORY = "Built: the talk verb. Open decision: libedit or readline (talk-%d)" % os.getpid()
LINE = "please note an idea: cache the context bundle"


def reply(text=None, calls=None):
    r = {}
    if text:
        r["text"] = text
    if calls:
        r["tool_calls"] = calls
    return {"reply": r}


def main():
    check = Check()
    fleet = Fleet("talk")
    fake, base = start_fake(fleet.dir, "fake")
    gh, gh_base = start_forge(fleet.dir, "github", GH_TOKEN)
    env = {"ANTHROPIC_API_KEY": KEY, "GITHUB_TOKEN": GH_TOKEN, "WORKTRAIN_GITHUB_API": gh_base,
           "WORKTRAIN_IDEAS_FORGE": "github:acme/ideas"}
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("w1", 2, None, "--provider", "anthropic", "--base-url", base, env=env)
        fleet.wait_workers(1)
        c = fleet.client()
        done = []
        for i in range(2):
            control(base, "/_control/script", [cs("thought %d" % i),
                                               cs("answered", {"answer": str(i)})])
            sid = c.spawn("two-step", "earlier work %d" % i)
            fleet.wait_completed([sid], 60)
            done.append(sid)
        c.close()
        two_step_tools = [t["name"] for t in requests(base)[0]["body"].get("tools", [])]
        check("fleet_sessions" not in two_step_tools and "record_idea" not in two_step_tools,
              "fleet tools are opt-in: two-step gets none (%s)" % two_step_tools)
        fleet.r.set("wt:memory", MEMORY)
        fleet.r.xadd("wt:inbox", {"kind": "escalation", "session": done[0], "workflow": "two-step",
                                  "severity": "high", "summary": ESCALATION})
        control(base, "/_control/reset", {})
        control(base, "/_control/script", [
            reply("Hello. Two sessions finished; one escalation waits."),
            reply("Recording it.", [{"name": "record_idea", "input": {
                "title": "cache the context bundle", "body": "talk builds it on every start",
                "tags": ["talk"], "open_issue": True}}]),
            reply("Recorded the idea."),
        ])
        e = dict(os.environ, WORKTRAIN_REDIS=fleet.redis_url, WORKTRAIN_BROKER=fleet.clients_ep,
                 HOME=fleet.dir)
        stdin = "\n" + "x" * (16 * 1024 + 1) + "\n" + LINE + "\n/ideas\n/quit\n"
        p = subprocess.run([BIN, "talk", "--reply-timeout", "60s"], input=stdin,
                           capture_output=True, text=True, timeout=120, env=e, cwd=REPO)
        out, err = p.stdout, p.stderr
        check(p.returncode == 0, "talk exits 0 after /quit (%d, %r)" % (p.returncode, err[-500:]))
        first = out.splitlines()[0] if out else ""
        talk_sid = first.split()[2] if first.startswith("talk session ") else ""
        check(len(talk_sid) == 26, "prints 'talk session SID' first (%r)" % first)
        reqs = requests(base)
        check(len(reqs) == 3, "three model requests (%d: %s)" % (len(reqs), [
            json.dumps(r["body"]["messages"][-1])[:300] for r in reqs]))
        t0 = texts(reqs[0]) if reqs else ""
        check(all(s in t0 for s in done) and ESCALATION in t0,
              "first request carries the bundle: both recent session ids and the escalation")
        check(MEMORY in t0 and t0.index(MEMORY) < min(t0.index(s) for s in done),
              "the project memory comes first in the bundle")
        tools = [t["name"] for t in reqs[0]["body"].get("tools", [])] if reqs else []
        check(all(n in tools for n in ("fleet_sessions", "session_notes", "fleet_status",
                                       "inbox_read", "record_idea")),
              "the talk workflow's request lists the five fleet tools (%s)" % tools)
        check(len(reqs) > 1 and "Message from the operator: " + LINE in texts(reqs[1]),
              "the typed line reaches the agent as an operator message")
        check("agent> Hello. Two sessions finished" in out and "agent> Recorded the idea." in out,
              "replies are printed (%r)" % out[-600:])
        check("empty line refused" in err and "refused (max 16384)" in err,
              "empty and huge lines refused with a message (%r)" % err[-400:])
        ideas = fleet.r.xrevrange("wt:ideas", count=5)
        check(len(ideas) == 1 and ideas[0][1]["title"] == "cache the context bundle" and
              ideas[0][1]["session"] == talk_sid and ideas[0][1]["tags"] == "talk",
              "record_idea wrote wt:ideas with title, tags and the talk session (%s)" % ideas)
        inbox = [f for _, f in fleet.r.xrevrange("wt:inbox", count=20) if f["kind"] == "idea"]
        check(len(inbox) == 1 and inbox[0]["summary"] == "cache the context bundle" and
              inbox[0]["session"] == talk_sid, "one idea inbox entry (%s)" % inbox)
        check("- cache the context bundle [talk]" in out, "/ideas lists it")
        req = urllib.request.Request(gh_base + "/repos/acme/ideas/issues?state=open",
                                     headers={"Authorization": "Bearer " + GH_TOKEN})
        with urllib.request.urlopen(req, timeout=10) as r:
            issues = [i for i in json.load(r) if "pull_request" not in i]
        check(len(issues) == 1 and issues[0]["title"] == "cache the context bundle" and
              issues[0]["body"] == "talk builds it on every start" and
              [lb["name"] for lb in issues[0]["labels"]] == ["talk"],
              "record_idea with open_issue filed one GitHub issue with title, body and tags (%s)"
              % issues)
        check(len(reqs) > 2 and issues and issues[0]["html_url"] in texts(reqs[2]),
              "the tool result tells the agent the issue's URL")
        h = fleet.r.hgetall("wt:session:%s" % talk_sid)
        check(h.get("outcome") == "success" and h.get("status") == "completed",
              "/quit ends the talk session with outcome success (%s %s)" % (h.get("outcome"),
                                                                            h.get("error")))
        got = [d["message"] for _, t, d, _ in fleet.events(talk_sid) if t == "message_received"]
        check(got == [LINE, "/quit"], "only the valid line and /quit were sent (%s)" % got)

        # --resume: a talk outlives its terminal (the CLI killed), then continues
        control(base, "/_control/reset", {})
        control(base, "/_control/script", [reply("Hello again."), reply("Still here.")])
        p = subprocess.Popen([BIN, "talk", "--reply-timeout", "60s"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e,
                             cwd=REPO)
        head = p.stdout.readline()
        sid2 = head.split()[2] if head.startswith("talk session ") else ""
        check(p.stdout.readline().startswith("agent> Hello again."), "second talk greeted")
        p.kill()
        p.wait(timeout=10)
        check(fleet.r.hget("wt:session:%s" % sid2, "status") == "running",
              "the talk session lives on after its CLI was killed")
        p = subprocess.run([BIN, "talk", "--resume", sid2, "--reply-timeout", "60s"],
                           input="are you there?\n/quit\n", capture_output=True, text=True,
                           timeout=120, env=e, cwd=REPO)
        check(p.returncode == 0 and "agent> Still here." in p.stdout and
              "Hello again." not in p.stdout,
              "--resume continues it: new replies only, /quit ends it (%r)" % p.stdout[-300:])
        got = [d["message"] for _, t, d, _ in fleet.events(sid2) if t == "message_received"]
        check(got == ["are you there?", "/quit"], "the resumed line reached the agent (%s)" % got)
        p = subprocess.run([BIN, "talk", "--resume", sid2], input="", capture_output=True,
                           text=True, timeout=30, env=e, cwd=REPO)
        check(p.returncode == 1 and "has ended" in p.stderr,
              "--resume of an ended talk: exit 1 (%r)" % p.stderr)
        p = subprocess.run([BIN, "talk", "--resume", "nope"], input="", capture_output=True,
                           text=True, timeout=30, env=e, cwd=REPO)
        check(p.returncode == 2 and "ULID" in p.stderr, "--resume with a bad id: exit 2")

        # no Redis / no broker: exit 2 naming which
        bad = dict(e, WORKTRAIN_REDIS="redis://127.0.0.1:1/0")
        p = subprocess.run([BIN, "talk"], input="", capture_output=True, text=True, timeout=30,
                           env=bad, cwd=REPO)
        check(p.returncode == 2 and "no Redis" in p.stderr, "no Redis: exit 2 (%r)" % p.stderr)
        bad = dict(e, WORKTRAIN_BROKER="ipc://%s/nobroker.sock" % fleet.dir)
        p = subprocess.run([BIN, "talk"], input="", capture_output=True, text=True, timeout=60,
                           env=bad, cwd=REPO)
        check(p.returncode == 2 and "broker" in p.stderr, "no broker: exit 2 (%r)" % p.stderr)
        p = subprocess.run([BIN, "talk", "--help"], capture_output=True, text=True, timeout=10)
        check(p.returncode == 0 and "/quit" in p.stdout, "--help")
    except Exception as ex:  # report and fail
        check(False, "exception: %r" % ex)
    finally:
        if check.failed:
            fleet.dump_logs()
        fleet.stop()
        fake.terminate()
        gh.terminate()
        fake.wait(timeout=10)
    check.done()


if __name__ == "__main__":
    main()
