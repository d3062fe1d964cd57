# ctest-timeout: 120
"""The container image's file tree, run (containers cannot run on this
machine: crun's setrlimit is denied, see test_deploy_image). build-image.sh
--rootfs assembles exactly what `make image` puts in the image; under
chroot as uid 10001 (so only the tree's libraries and files are seen) a
real broker and a real worker from it, against a real redis-server on
loopback TCP, serve /healthz and /readyz, and a session spawned over TCP
completes. Cold start (exec to healthy) is printed for both. Skips (exit
77) when this is not root (chroot needs it)."""
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request

from deploytest import BIN, DEPLOY, Check, clean, run, skip
from wtfleet import SCRIPTS, Fleet, free_port


def get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


def check_rootfs(check):
    if os.geteuid() != 0:
        skip("chroot needs root: the image's file tree cannot be run here")
    root = tempfile.mkdtemp(prefix="wt-rootfs-")
    os.chmod(root, 0o755)  # the tree's root, as in an image
    fleet = Fleet("image")
    try:
        r = run(["bash", os.path.join(DEPLOY, "docker", "build-image.sh"), "--rootfs", root,
                 os.path.dirname(BIN)], timeout=120)
        if not clean(check, r, "build-image.sh --rootfs assembles the tree"):
            return
        chroot = ["chroot", "--userspec=10001:10001", root]
        # a container runtime mounts /proc in its own pid namespace; so does
        # this run (LeakSanitizer reads /proc at exit under make asan)
        r = run(["unshare", "--mount", "--pid", "--fork",
                 "--mount-proc=" + os.path.join(root, "proc")] + chroot
                + ["/usr/local/bin/worktrain", "--version"])
        check(r.returncode == 0 and "worktrain" in r.stdout,
              "the tree's binary runs as uid 10001 with only the tree's libraries")
        fleet.start_redis()
        cport, wport, bhttp, whttp = free_port(), free_port(), free_port(), free_port()
        os.makedirs(os.path.join(root, "scripts"))
        shutil.copy(os.path.join(SCRIPTS, "goal-command.json"), os.path.join(root, "scripts"))
        t0 = time.monotonic()
        fleet._spawn("broker", chroot + [
            "/usr/local/bin/worktrain", "broker", "--clients", "tcp://127.0.0.1:%d" % cport,
            "--workers", "tcp://127.0.0.1:%d" % wport, "--redis", fleet.redis_url,
            "--http", "127.0.0.1:%d" % bhttp])
        fleet.wait_for(lambda: get(bhttp, "/healthz") == 200, 30, "broker healthz")
        t_broker = time.monotonic() - t0
        t1 = time.monotonic()
        fleet._spawn("worker", chroot + [
            "/usr/local/bin/worktrain", "worker", "--broker", "tcp://127.0.0.1:%d" % wport,
            "--clients", "tcp://127.0.0.1:%d" % cport, "--redis", fleet.redis_url,
            "--workflows", "/usr/local/share/worktrain/workflows", "--name", "img1",
            "--provider", "scripted", "--script", "/scripts/goal-command.json",
            "--min-notes", "0", "--sandbox", "off", "--http", "127.0.0.1:%d" % whttp],
            env={"HOME": "/var/lib/worktrain"})
        fleet.wait_for(lambda: get(whttp, "/readyz") == 200, 30, "worker readyz")
        t_worker = time.monotonic() - t1
        check(True, "broker and worker from the image tree are healthy and ready")
        print("cold start (exec to healthy): broker %.0f ms, worker %.0f ms"
              % (t_broker * 1000, t_worker * 1000))
        fleet.clients_ep = "tcp://127.0.0.1:%d" % cport
        c = fleet.client()
        sid = c.spawn("two-step", "echo from the image")
        c.close()
        fleet.wait_completed([sid], 60)
        out = fleet.r.hget("wt:session:%s" % sid, "outcome")
        check(out == "success", "a session ran on the image's worker: %s" % out)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
        shutil.rmtree(root, ignore_errors=True)


def main():
    check = Check()
    check_rootfs(check)
    check.done()


if __name__ == "__main__":
    main()
