# ctest-timeout: 120
"""worker --http: /healthz is liveness (the worker's own loop), /readyz is
readiness (registered with an active broker, Redis reachable). A Redis outage
and a broker outage each make the worker not ready while /healthz stays 200
(never a liveness failure, so an orchestrator never crash-loops workers over
an outage), and readiness comes back when they do. /metrics serves the
worker's own figures (DESIGN.md section 16 names). A bad --http value stops
the worker at start with one line."""
import json
import os
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from wtfleet import BIN, SCRIPTS, Check, Fleet, free_port  # noqa: E402

SCRIPT = os.path.join(SCRIPTS, "goal-command.json")


def get(port, path):
    """(status, body) of GET http://127.0.0.1:port/path; (0, error) when nothing answers."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def wait_status(fleet, port, path, status, what, timeout_s=30):
    fleet.wait_for(lambda: get(port, path)[0] == status, timeout_s, what)


def outage(check, fleet, port, key, restart, why):
    """Kills process key: the worker turns not ready (why in the body) but stays
    live; after restart() it is ready again."""
    fleet.kill(key)
    fleet.procs[key].wait(timeout=10)
    wait_status(fleet, port, "/readyz", 503, "not ready without " + key)
    st, body = get(port, "/healthz")
    check(st == 200, "healthz stays 200 during a %s outage: %s" % (key, body))
    check(why in get(port, "/readyz")[1], "readyz says %s" % why)
    restart()
    wait_status(fleet, port, "/readyz", 200, "ready again after %s returns" % key, 60)
    check(True, "ready again after %s returned" % key)


def main():
    check = Check()
    fleet = Fleet("worker-http")
    port = free_port()
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("h1", 2, SCRIPT, "--http", "127.0.0.1:%d" % port,
                           "--heartbeat", "200ms", "--liveness", "3")
        wait_status(fleet, port, "/readyz", 200, "worker ready")
        st, body = get(port, "/healthz")
        check(st == 200 and json.loads(body)["live"] is True, "healthz 200 while up: %s" % body)
        st, m = get(port, "/metrics")
        check(st == 200 and "\nwt_worker_ready 1\n" in m and "\nwt_worker_slots 2\n" in m
              and "\nwt_sessions_stuck 0\n" in m and "\nwt_delivery_failures_total 0\n" in m,
              "worker /metrics has its figures")

        outage(check, fleet, port, "redis", fleet.start_redis, '"redis":"down"')
        outage(check, fleet, port, "broker", fleet.start_broker, '"registered":false')

        # The broker's /readyz: 200 on the active broker, 503 on a standby
        # (a Kubernetes Service then routes to the active one only).
        sport = free_port()
        fleet._spawn("standby", [BIN, "broker", "--clients", "ipc://%s/sb.sock" % fleet.dir,
                                 "--workers", "ipc://%s/sbw.sock" % fleet.dir, "--redis",
                                 fleet.redis_url, "--http", "127.0.0.1:%d" % sport])
        wait_status(fleet, sport, "/healthz", 200, "standby broker up")
        check(get(sport, "/readyz")[0] == 503 and '"standby"' in get(sport, "/readyz")[1],
              "standby broker: /readyz 503, /healthz 200")
        check(get(fleet.http_port, "/readyz")[0] == 200, "active broker: /readyz 200")

        # SIGTERM drain: out of rotation at once, the process then exits 0.
        fleet.kill("worker-h1", sig=15)
        rc = fleet.procs["worker-h1"].wait(timeout=30)
        check(rc == 0, "drained worker exits 0 (%s)" % rc)

        # A bad --http value: one clear line, exit 2, nothing half-started.
        r = fleet.run_cli("worker", "--http", "not-an-address", "--name", "bad")
        check(r.returncode == 2 and "--http" in r.stderr and len(r.stderr.splitlines()) == 1,
              "bad --http refused with one line: %r" % r.stderr)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
