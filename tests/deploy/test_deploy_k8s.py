# ctest-timeout: 120
"""deploy/k8s, statically (no cluster here). What is checked:
- `kubectl kustomize` (the real tool) renders the base and both overlays.
  `kubectl create --dry-run=client` cannot run without an API server (it
  needs discovery), and Debian has no offline schema validator, so the
  rendered objects are checked here instead:
- every object is namespaced in worktrain; Deployment/StatefulSet selectors
  match their pod labels; Services select existing pods and name existing
  container ports; probes name existing ports;
- each worktrain container's args are accepted by the built binary
  (`worktrain VERB ARGS --help` exits 0);
- broker: 2 replicas (active + standby), readiness /readyz (active only),
  liveness /healthz; worker: readiness /readyz, liveness /healthz on its
  --http port, preStop drain, terminationGracePeriodSeconds > --drain-timeout;
- every Secret key and ConfigMap a pod references exists;
- KEDA ScaledObject: prometheus triggers on wt_queue_oldest_age_seconds and
  wt_queue_depth with ignoreNullValues "false", targeting the workers; the
  HPA overlay has an HPA on the same metrics and no ScaledObject;
- NetworkPolicies: default deny; Redis only from broker, workers, console;
  the broker's worker port only from workers."""
import os
import re

import yaml

from deploytest import DEPLOY, Check, clean, flags_parse, need, run, seconds, skip

K8S = os.path.join(DEPLOY, "k8s")


def render(check, kubectl, path):
    r = run([kubectl, "kustomize", os.path.join(K8S, path)])
    clean(check, r, "kubectl kustomize %s" % path)
    return [d for d in yaml.safe_load_all(r.stdout) if d] if r.returncode == 0 else []


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pods(docs):
    """name -> pod template spec of every Deployment and StatefulSet."""
    return {d["metadata"]["name"]: d for d in docs if d["kind"] in ("Deployment", "StatefulSet")}


def arg(args, flag):
    return args[args.index(flag) + 1] if flag in args else None


def check_workloads(check, docs):
    secrets = by_kind(docs, "Secret")
    cms = by_kind(docs, "ConfigMap")
    for name, w in pods(docs).items():
        t = w["spec"]["template"]
        sel = w["spec"]["selector"]["matchLabels"]
        check(sel.items() <= t["metadata"]["labels"].items(), "%s: selector matches its pods" % name)
        for c in t["spec"]["containers"]:
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe"):
                p = c.get(probe, {})
                port = (p.get("httpGet") or p.get("tcpSocket") or {}).get("port")
                check(probe in c and (port is None or port in ports),
                      "%s: %s names an existing port" % (name, probe))
            if "worktrain" in c["image"]:
                ok, err = flags_parse(c["args"])
                check(ok, "%s: worktrain accepts its args (%s)" % (name, err))
            for e in c.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    s = secrets.get(ref["name"], {})
                    check(ref["key"] in s.get("data", {}),
                          "%s: Secret %s has key %s" % (name, ref["name"], ref["key"]))
        for v in t["spec"].get("volumes", []):
            if "configMap" in v:
                check(v["configMap"]["name"] in cms, "%s: ConfigMap %s exists" % (name,
                                                                                v["configMap"]["name"]))
    for name, s in by_kind(docs, "Service").items():
        targets = [w for w in pods(docs).values()
                   if s["spec"]["selector"].items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        check(targets, "Service %s selects pods" % name)
        names = {p["name"] for w in targets for c in w["spec"]["template"]["spec"]["containers"]
                 for p in c.get("ports", [])}
        check(all(p["targetPort"] in names for p in s["spec"]["ports"]),
              "Service %s targets existing ports" % name)


def check_roles(check, docs):
    p = pods(docs)
    b = p["broker"]["spec"]
    bc = b["template"]["spec"]["containers"][0]
    check(b["replicas"] >= 2, "broker: an active and a standby replica")
    check(bc["readinessProbe"]["httpGet"]["path"] == "/readyz"
          and bc["livenessProbe"]["httpGet"]["path"] == "/healthz",
          "broker: readiness /readyz (active only), liveness /healthz")
    w = p["worker"]["spec"]["template"]["spec"]
    wc = w["containers"][0]
    drain = seconds(arg(wc["args"], "--drain-timeout") or "30s")
    check(w["terminationGracePeriodSeconds"] > drain,
          "worker: terminationGracePeriodSeconds %s > --drain-timeout %ss"
          % (w["terminationGracePeriodSeconds"], drain))
    http_port = int(arg(wc["args"], "--http").rsplit(":", 1)[1])
    ports = {x["name"]: x["containerPort"] for x in wc["ports"]}
    check(wc["readinessProbe"]["httpGet"]["path"] == "/readyz"
          and wc["livenessProbe"]["httpGet"]["path"] == "/healthz"
          and ports[wc["readinessProbe"]["httpGet"]["port"]] == http_port,
          "worker: readiness /readyz, liveness /healthz on its --http port")
    check("preStop" in wc.get("lifecycle", {}), "worker: preStop drain")
    for d in docs:
        check(d["kind"] == "Namespace" or d["metadata"].get("namespace") == "worktrain",
              "%s %s in namespace worktrain" % (d["kind"], d["metadata"]["name"]))


def check_netpol(check, docs):
    np = by_kind(docs, "NetworkPolicy")
    check(any(n["spec"]["podSelector"] == {} and n["spec"].get("ingress") is None
              for n in np.values()), "NetworkPolicy: default deny ingress")
    redis = [n for n in np.values()
             if n["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component") == "redis"]
    froms = {f["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
             for n in redis for i in n["spec"]["ingress"] for f in i["from"]}
    check(froms == {"broker", "worker", "console"}, "Redis reachable only from the fleet: %s" % froms)
    broker = [n for n in np.values()
              if n["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component") == "broker"]
    wport = [i for n in broker for i in n["spec"]["ingress"] if {"port": 5556} in i["ports"]]
    check(wport and all(f.get("podSelector", {}).get("matchLabels") ==
                        {"app.kubernetes.io/component": "worker"} for i in wport for f in i["from"]),
          "broker worker port only from workers")


def main():
    check = Check()
    kubectl = need("kubectl", "kubectl (Google's package; Debian's kubernetes-client 1.20 embeds "
                              "a kustomize too old for components)")
    ver = run([kubectl, "version", "--client"]).stdout
    m = re.search(r"Kustomize Version: v(\d+)", ver)
    if not m or int(m.group(1)) < 4:
        skip("kubectl's embedded kustomize is older than v4 (no components): %r" % ver.strip())
    base = render(check, kubectl, "base")
    check(len(base) > 10, "base renders %d objects" % len(base))
    ex = render(check, kubectl, "overlays/example")
    hpa = render(check, kubectl, "overlays/example-hpa")
    if not ex or not hpa:
        check.done()
    check_workloads(check, ex)
    check_roles(check, ex)
    check_netpol(check, ex)
    so = list(by_kind(ex, "ScaledObject").values())
    trig = so[0]["spec"]["triggers"] if so else []
    check(so and so[0]["spec"]["scaleTargetRef"]["name"] == "worker", "KEDA scales the workers")
    check(len(trig) == 2 and all(t["type"] == "prometheus" and
                                 t["metadata"]["ignoreNullValues"] == "false" for t in trig),
          "KEDA: prometheus triggers with ignoreNullValues \"false\"")
    qs = " ".join(t["metadata"]["query"] for t in trig)
    check("wt_queue_oldest_age_seconds" in qs and "wt_queue_depth" in qs,
          "KEDA scales on the oldest queued age and the queue depth")
    h = list(by_kind(hpa, "HorizontalPodAutoscaler").values())
    check(h and not by_kind(hpa, "ScaledObject") and
          {m["external"]["metric"]["name"] for m in h[0]["spec"]["metrics"]} ==
          {"wt_queue_depth", "wt_queue_oldest_age_seconds"} and
          h[0]["spec"]["scaleTargetRef"]["name"] == "worker",
          "HPA overlay: an HPA on the same metrics, no ScaledObject")
    check.done()


if __name__ == "__main__":
    main()
