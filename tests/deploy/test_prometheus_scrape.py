# ctest-timeout: 120
"""A real Prometheus server (Debian package prometheus) on a free loopback
port scrapes a real broker and a real worker (`worker --http`) with the
shipped alert rules loaded, and its HTTP API answers queries for WorkTrain
series from both targets: wt_queue_depth and wt_workers from the broker,
wt_worker_ready from the worker, and the rule group is loaded. Waits are
bounded polls of the API (scrape interval 1 s)."""
import json
import os
import shutil
import time
import urllib.parse
import urllib.request

from deploytest import DEPLOY, Check, need
from wtfleet import SCRIPTS, Fleet, free_port


def api(port, path, **q):
    url = "http://127.0.0.1:%d/api/v1/%s?%s" % (port, path, urllib.parse.urlencode(q))
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read().decode())
    except OSError:
        return None


def series(port, query):
    """The result vector of an instant query ([] until Prometheus has it)."""
    res = api(port, "query", query=query)
    return res["data"]["result"] if res and res.get("status") == "success" else []


def main():
    check = Check()
    prom = need("prometheus", "prometheus")
    fleet = Fleet("prom")
    wport, pport = free_port(), free_port()
    try:
        fleet.start_redis()
        fleet.start_broker()
        fleet.start_worker("p1", 2, os.path.join(SCRIPTS, "goal-command.json"),
                           "--http", "127.0.0.1:%d" % wport)
        fleet.wait_workers(1)
        shutil.copy(os.path.join(DEPLOY, "prometheus", "alerts.yml"), fleet.dir)
        cfg = os.path.join(fleet.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    "rule_files: [alerts.yml]\n"
                    "scrape_configs:\n"
                    "  - job_name: worktrain-broker\n"
                    "    static_configs: [{targets: ['127.0.0.1:%d']}]\n"
                    "  - job_name: worktrain-worker\n"
                    "    static_configs: [{targets: ['127.0.0.1:%d']}]\n"
                    % (fleet.http_port, wport))
        fleet._spawn("prometheus", [prom, "--config.file", cfg,
                                    "--storage.tsdb.path", os.path.join(fleet.dir, "tsdb"),
                                    "--web.listen-address", "127.0.0.1:%d" % pport])
        fleet.wait_for(lambda: series(pport, 'up{job="worktrain-worker"} == 1') and
                       series(pport, 'up{job="worktrain-broker"} == 1'), 60,
                       "Prometheus scraping both targets")
        check(True, "Prometheus reports both targets up")
        fleet.wait_for(lambda: series(pport, "wt_workers"), 30, "wt_workers in Prometheus")
        w = series(pport, "wt_workers")
        check(w and w[0]["value"][1] == "1", "broker series wt_workers = 1: %s" % w)
        q = series(pport, "wt_queue_depth")
        check(q and q[0]["metric"]["job"] == "worktrain-broker", "broker series wt_queue_depth")
        fleet.wait_for(lambda: series(pport, "wt_worker_ready == 1"), 30, "wt_worker_ready")
        r = series(pport, "wt_worker_ready")
        check(r and r[0]["metric"]["instance"] == "127.0.0.1:%d" % wport,
              "worker series wt_worker_ready from the worker's own /metrics")
        rules = api(pport, "rules") or {}
        groups = [g["name"] for g in rules.get("data", {}).get("groups", [])]
        check("worktrain" in groups, "the shipped alert rules are loaded: %s" % groups)
    except Exception as e:
        check(False, "unexpected error: %r" % e)
        fleet.dump_logs()
    finally:
        fleet.stop()
    check.done()


if __name__ == "__main__":
    main()
