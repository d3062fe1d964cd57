# ctest-timeout: 60
"""deploy/compose/compose.yml, statically: Debian 12 has no compose
implementation that checks a file without a container engine (docker
compose is not packaged; podman cannot run containers here), so the file is
read as YAML and checked for what DESIGN.md section 16 asks: redis with
AOF on; every service has a health check; broker, worker and console wait
for Redis (and workers for the broker) with condition service_healthy;
workers have deploy.replicas and a stop_grace_period longer than their
--drain-timeout and check /readyz; every worktrain command's flags are
accepted by the built binary; the Prometheus service mounts the shipped
scrape config and rules; the env file example exists."""
import os

import yaml

from deploytest import DEPLOY, Check, flags_parse, seconds

COMPOSE = os.path.join(DEPLOY, "compose")


def main():
    check = Check()
    with open(os.path.join(COMPOSE, "compose.yml")) as f:
        doc = yaml.safe_load(f)
    sv = doc["services"]
    check({"redis", "broker", "worker", "console", "prometheus"} <= set(sv), "all services present")
    check("--appendonly" in sv["redis"]["command"] and
          sv["redis"]["command"][sv["redis"]["command"].index("--appendonly") + 1] == "yes",
          "redis: AOF on")
    for name, s in sv.items():
        if name != "prometheus":
            check("healthcheck" in s, "%s: has a health check" % name)
    for name in ("broker", "worker", "console"):
        dep = sv[name].get("depends_on", {})
        check(dep.get("redis", {}).get("condition") == "service_healthy",
              "%s: waits for a healthy Redis" % name)
        ok, err = flags_parse(sv[name]["command"])
        check(ok, "%s: worktrain accepts its command (%s)" % (name, err))
    w = sv["worker"]
    cmd = w["command"]
    drain = seconds(cmd[cmd.index("--drain-timeout") + 1])
    check(w["depends_on"]["broker"]["condition"] == "service_healthy", "worker: waits for the broker")
    check(seconds(w["stop_grace_period"]) > drain,
          "worker: stop_grace_period %s > --drain-timeout %ss" % (w["stop_grace_period"], drain))
    check(w["deploy"]["replicas"] >= 1, "worker: deploy.replicas")
    check("/readyz" in " ".join(w["healthcheck"]["test"]), "worker: health check is readiness")
    mounts = " ".join(sv["prometheus"]["volumes"])
    check("../prometheus/prometheus.yml" in mounts and "../prometheus/alerts.yml" in mounts,
          "prometheus: the shipped scrape config and rules")
    for m in sv["prometheus"]["volumes"]:
        check(os.path.exists(os.path.join(COMPOSE, m.split(":")[0])), "mounted file exists: %s" % m)
    check(os.path.exists(os.path.join(COMPOSE, "worktrain.env.example")), "env file example")
    check.done()


if __name__ == "__main__":
    main()
