# ctest-timeout: 180
"""`worktrain talk` on a real terminal: tmux (private server socket) runs it,
the test types with send-keys and reads the screen with capture-pane:
- the greeting is printed and the `you> ` prompt appears;
- Enter on an empty line is refused with a message and sends nothing;
- line editing (libedit): "helo", Left, "l", End, " world", Enter reaches the
  agent as "hello world", and its reply is printed;
- Up recalls the line from history; Ctrl-C ends the talk cleanly (outcome
  success, exit 0) and the history is saved in ~/.worktrain_history."""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, Check, Fleet  # noqa: E402
from test_tell_inbox import KEY, control, start_fake  # noqa: E402
from test_talk import reply  # noqa: E402


def main():
    check = Check()
    if shutil.which("tmux") is None:
        print("tmux not installed (deploy/install-deps.sh installs it); skipped")
        sys.exit(77)
    fleet = Fleet("talktmux")
    fake, base = start_fake(fleet.dir, "fake")
    sock = os.path.join(fleet.dir, "tmux.sock")

    def tmux(*args):
        return subprocess.run(["tmux", "-S", sock] + list(args), capture_output=True, text=True,
                              timeout=10)

    def screen():
        return tmux("capture-pane", "-p", "-t", "talk").stdout

    def wait_screen(pred, what, timeout_s=60):
        """Polls the pane (the terminal is the only event source), bounded."""
        deadline = time.monotonic() + timeout_s
        while True:
            s = screen()
            if pred(s):
                return s
            if time.monotonic() > deadline:
                raise TimeoutError("screen never showed %s:\n%s" % (what, s))
            time.sleep(0.1)

    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("w1", 2, None, "--provider", "anthropic", "--base-url", base,
                           env={"ANTHROPIC_API_KEY": KEY})
        fleet.wait_workers(1)
        control(base, "/_control/script", [reply("Hi from the fleet."),
                                           reply("You said hello world.")])
        cmd = ("env WORKTRAIN_REDIS=%s WORKTRAIN_BROKER=%s HOME=%s %s talk; echo EXIT=$?; "
               "sleep 60" % (fleet.redis_url, fleet.clients_ep, fleet.dir, BIN))
        r = tmux("new-session", "-d", "-s", "talk", "-x", "120", "-y", "40", cmd)
        check(r.returncode == 0, "tmux session started (%r)" % r.stderr)
        s = wait_screen(lambda s: "\nyou>" in s, "the prompt")
        check("agent> Hi from the fleet." in s, "the greeting is on screen before the prompt")
        sid = [w for w in s.split() if len(w) == 26 and w.isalnum()][0]
        tmux("send-keys", "-t", "talk", "Enter")  # an empty line: refused, not sent
        s = wait_screen(lambda s: "empty line refused" in s, "the empty line refused")
        check("empty line refused" in s, "an empty line is refused with a message")
        tmux("send-keys", "-t", "talk", "helo")
        tmux("send-keys", "-t", "talk", "Left")
        tmux("send-keys", "-t", "talk", "l")
        tmux("send-keys", "-t", "talk", "End")
        tmux("send-keys", "-t", "talk", " world")
        wait_screen(lambda s: "you> hello world" in s, "the edited line")
        tmux("send-keys", "-t", "talk", "Enter")
        s = wait_screen(lambda s: "agent> You said hello world." in s, "the reply")
        got = [d["message"] for _, t, d, _ in fleet.events(sid) if t == "message_received"]
        check(got == ["hello world"], "the empty line was not sent; line editing: the agent got 'hello world' (%s)" % got)
        check("agent> You said hello world." in s, "the reply is printed")
        wait_screen(lambda s: s.rstrip().endswith("you>"), "the next prompt")
        tmux("send-keys", "-t", "talk", "Up")
        s = wait_screen(lambda s: s.rstrip().endswith("you> hello world"), "history recall")
        check(s.rstrip().endswith("you> hello world"), "Up recalls the last line")
        tmux("send-keys", "-t", "talk", "C-c")
        s = wait_screen(lambda s: "EXIT=" in s, "the exit")
        check("EXIT=0" in s and "talk ended (success" in s,
              "Ctrl-C ends the talk cleanly (%s)" % s.strip().splitlines()[-3:])
        h = fleet.r.hgetall("wt:session:%s" % sid)
        check(h.get("outcome") == "success", "the session ended with success (%s)" % h.get("outcome"))
        hist = os.path.join(fleet.dir, ".worktrain_history")
        saved = open(hist, errors="replace").read() if os.path.exists(hist) else ""
        # libedit writes its history file with vis(3) encoding: a space is \040
        check("hello world" in saved.replace("\\040", " "),
              "history saved in ~/.worktrain_history (%r)" % saved)
    except Exception as ex:  # report and fail
        check(False, "exception: %r" % ex)
    finally:
        tmux("kill-server")
        if check.failed:
            fleet.dump_logs()
        fleet.stop()
        fake.terminate()
        fake.wait(timeout=10)
    check.done()


if __name__ == "__main__":
    main()
