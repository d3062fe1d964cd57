# ctest-timeout: 60
"""deploy/prometheus with the real promtool (Debian package prometheus):
`promtool check config` on both scrape configs, `promtool check rules` on the
alert rules and `promtool test rules` on their unit tests (each alert fires
on its series and stays quiet on healthy ones and standby brokers). Debian's
Prometheus is built without Kubernetes service discovery, so for
prometheus-kubernetes.yml promtool checks a copy whose kubernetes_sd_configs
are swapped for a static target (everything else - relabelling, rule files
- is still checked); the SD block itself is checked for its keys here. Also:
every metric name the rules use is one the broker or the worker exports."""
import json
import os
import re
import shutil
import tempfile

import yaml

from deploytest import DEPLOY, REPO, Check, clean, need, run

PROM = os.path.join(DEPLOY, "prometheus")


def main():
    check = Check()
    tool = need("promtool", "prometheus")
    clean(check, run([tool, "check", "config", "prometheus.yml"], cwd=PROM),
          "promtool check config prometheus.yml")
    clean(check, run([tool, "check", "rules", "alerts.yml"], cwd=PROM),
          "promtool check rules alerts.yml")
    r = run([tool, "test", "rules", "alerts_test.yml"], cwd=PROM)
    clean(check, r, "promtool test rules alerts_test.yml")

    with open(os.path.join(PROM, "prometheus-kubernetes.yml")) as f:
        k8s = yaml.safe_load(f)
    sd = [j for j in k8s["scrape_configs"] if "kubernetes_sd_configs" in j]
    check(sd and all(c.get("role") == "pod" for j in sd for c in j["kubernetes_sd_configs"]),
          "prometheus-kubernetes.yml discovers pods")
    with tempfile.TemporaryDirectory() as d:
        for j in sd:
            j["static_configs"] = [{"targets": ["worktrain:3200"]}]
            del j["kubernetes_sd_configs"]
        with open(os.path.join(d, "k8s.yml"), "w") as f:
            yaml.safe_dump(k8s, f)
        shutil.copy(os.path.join(PROM, "alerts.yml"), d)
        clean(check, run([tool, "check", "config", "k8s.yml"], cwd=d),
              "promtool check config prometheus-kubernetes.yml (SD swapped for static)")

    # every wt_* name in the rules and the Grafana dashboard is exported by
    # a renderer in the tree; every dashboard query is valid PromQL (promtool
    # checks it as a rule expression)
    with open(os.path.join(PROM, "alerts.yml")) as f:
        names = set(re.findall(r"\b(wt_[a-z_]+)", f.read()))
    with open(os.path.join(DEPLOY, "grafana", "worktrain.json")) as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    names |= {re.sub(r"_(bucket|sum|count)$", "", n) for e in exprs
              for n in re.findall(r"\b(wt_[a-z_]+)", e)}
    with tempfile.TemporaryDirectory() as d:
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": "dashboard:q%d" % i, "expr": e} for i, e in enumerate(exprs)]}]}
        with open(os.path.join(d, "dash.yml"), "w") as f:
            yaml.safe_dump(rules, f)
        clean(check, run([tool, "check", "rules", "dash.yml"], cwd=d),
              "the dashboard's %d queries are valid PromQL" % len(exprs))
    src = ""
    for p in ("broker/wt_broker_metrics.c", "worker/wt_worker_http.c"):
        with open(os.path.join(REPO, p)) as f:
            src += f.read()
    missing = sorted(n for n in names if '"%s"' % n not in src)
    check(not missing, "alert rules use only exported metrics (missing: %s)" % missing)
    check.done()


if __name__ == "__main__":
    main()
