# ctest-timeout: 180
"""deploy/k8s, statically (no cluster here). What is checked:
- `kubectl kustomize` (the real tool) renders the base and both overlays
  with Debian 12's kubectl 1.20 (package kubernetes-client, kustomize
  v2.0.3: no `components`, `labels` or directory `resources`), and again
  with any other kubectl on the PATH (e.g. Google's, kustomize v5), whose
  stderr may hold only the deprecation warning for `bases`; both render the
  same objects (generated names' hash suffixes aside). deploy/install-deps.sh
  installs kubernetes-client, or unpacks it into
  /usr/local/lib/worktrain-deps/kubernetes-client where another package owns
  /usr/bin/kubectl; its absence is a failure, not a skip.
- kubectl 1.20 reads every rendered object back offline (`kubectl label
  --local -f -`: each document is an object with apiVersion and kind).
  `kubectl create --dry-run=client` cannot run without an API server (it
  needs discovery; validation needs the server's OpenAPI), so the rendered
  objects are checked here instead:
- schema: every built-in object of both overlays against the Kubernetes API
  types of Debian's python3-kubernetes (client 22, Kubernetes 1.22; the
  autoscaling/v2 HPA against v2beta2, which has the same fields): no
  unknown field, no wrong type (a broken Deployment is fed first and must
  be caught). KEDA's ScaledObject has no schema here. Then, for every kubectl:
- every object is namespaced in worktrain and labelled
  app.kubernetes.io/part-of=worktrain; Deployment/StatefulSet selectors
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
import json
import os
import re
import shutil

import yaml

from deploytest import DEPLOY, Check, clean, flags_parse, run, seconds

K8S = os.path.join(DEPLOY, "k8s")
# Where deploy/install-deps.sh unpacks Debian's kubernetes-client when
# another package owns /usr/bin/kubectl.
DEBIAN_KUBECTL_DIR = "/usr/local/lib/worktrain-deps/kubernetes-client"
BASES_WARNING = "# Warning: 'bases' is deprecated."


def debian_kubectl():
    """Debian 12's kubectl (kubernetes-client 1.20), or None."""
    r = run(["dpkg-query", "-W", "-f=${Status}", "kubernetes-client"])
    if "install ok installed" in r.stdout:
        return "/usr/bin/kubectl"
    p = os.path.join(DEBIAN_KUBECTL_DIR, "usr", "bin", "kubectl")
    return p if os.access(p, os.X_OK) else None


def version(kubectl):
    out = run([kubectl, "version", "--client"]).stdout
    m = re.search(r'GitVersion:"(v[^"]+)"', out) or re.search(r"Client Version: (v\S+)", out)
    return m.group(1) if m else "?"


def render(check, kubectl, path, tag):
    r = run([kubectl, "kustomize", os.path.join(K8S, path)])
    if not clean(check, r, "%s: kubectl kustomize %s" % (tag, path)):
        return []
    extra = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith(BASES_WARNING)]
    check(not extra, "%s: kubectl kustomize %s warns of nothing but `bases`: %s" % (tag, path, extra))
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def unhashed(docs):
    """The rendered objects with generated names' hash suffixes removed
    (they differ between kustomize versions), keyed by kind and name."""
    text = re.sub(r"(worktrain-(?:secrets|workflows|triggers|pipelines))-[a-z0-9]{10}\b", r"\1",
                  json.dumps(docs, sort_keys=True))
    return {(d["kind"], d["metadata"]["name"]): d for d in json.loads(text)}


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
        check(d["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "worktrain",
              "%s %s labelled part-of worktrain" % (d["kind"], d["metadata"]["name"]))


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


def check_overlays(check, ex, hpa):
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


def check_with(check, kubectl, tag):
    """Renders base and overlays with kubectl and checks them; returns the
    renders, path -> objects."""
    out = {}
    for path in ("base", "overlays/example", "overlays/example-hpa"):
        out[path] = render(check, kubectl, path, tag)
    check(len(out["base"]) > 10, "%s: base renders %d objects" % (tag, len(out["base"])))
    ex, hpa = out["overlays/example"], out["overlays/example-hpa"]
    if ex and hpa:
        for docs in (ex, hpa):
            check_workloads(check, docs)
            check_roles(check, docs)
            check_netpol(check, docs)
        check_overlays(check, ex, hpa)
    return out


def read_back(check, kubectl, tag, docs, path):
    """kubectl's resource builder decodes every rendered object offline."""
    r = run([kubectl, "label", "--local", "-o", "name", "-f", "-", "worktrain.io/checked=1"],
            input=yaml.safe_dump_all(docs), env=dict(os.environ, KUBECONFIG="/nonexistent"))
    names = r.stdout.split()
    clean(check, r, "%s: kubectl label --local reads %s back" % (tag, path))
    check(len(names) == len(docs), "%s: kubectl read %d of %d objects of %s"
          % (tag, len(names), len(docs), path))


def model_of(doc, models):
    """The python3-kubernetes model class of a rendered object, or None
    (custom resources). autoscaling/v2 is v2beta2 promoted with the same
    fields; the Debian package (client 22, Kubernetes 1.22) predates it."""
    version = doc["apiVersion"].rsplit("/", 1)[-1]
    names = ["%s%s" % (version.capitalize(), doc["kind"])]
    if doc["apiVersion"] == "autoscaling/v2":
        names.append("V2beta2" + doc["kind"])
    for n in names:
        if hasattr(models, n):
            return getattr(models, n)
    return None


def schema_errors(value, typ, path, models):
    """Where value does not fit the python3-kubernetes type typ (a model
    name, list[T], dict(str, T), str, int, float, bool, object): unknown
    fields and wrong types, as 'path: what' strings."""
    if typ.startswith("list["):
        if not isinstance(value, list):
            return ["%s: a list expected, got %r" % (path, value)]
        return [e for i, v in enumerate(value)
                for e in schema_errors(v, typ[5:-1], "%s[%d]" % (path, i), models)]
    if typ.startswith("dict("):
        if not isinstance(value, dict):
            return ["%s: a map expected, got %r" % (path, value)]
        inner = typ[5:-1].split(", ", 1)[1]
        return [e for k, v in value.items()
                for e in schema_errors(v, inner, "%s.%s" % (path, k), models)]
    simple = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,)}
    if typ in simple:
        ok = isinstance(value, simple[typ]) and (typ == "bool" or not isinstance(value, bool))
        return [] if ok else ["%s: %s expected, got %r" % (path, typ, value)]
    if typ in ("object", "datetime", "date"):
        return []
    cls = getattr(models, typ)
    if not isinstance(value, dict):
        return ["%s: a %s (map) expected, got %r" % (path, typ, value)]
    fields = {v: k for k, v in cls.attribute_map.items()}
    errs = []
    for k, v in value.items():
        if k not in fields:
            errs.append("%s: unknown field %r (%s)" % (path, k, typ))
        else:
            errs.extend(schema_errors(v, cls.openapi_types[fields[k]], "%s.%s" % (path, k), models))
    return errs


def check_schemas(check, docs, what):
    """Every built-in object of docs against the Kubernetes API types of
    Debian's python3-kubernetes: no unknown field, no wrong type. First a
    broken Deployment must be caught, so the check itself can fail."""
    try:
        from kubernetes.client import models
    except ImportError as e:
        check(False, "python3-kubernetes importable (deploy/install-deps.sh installs it): %s" % e)
        return
    broken = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
              "spec": {"replicas": "2", "template": {"spec": {"containers": [
                  {"name": "x", "readinesProbe": {}}]}}}}
    errs = schema_errors(broken, model_of(broken, models).__name__, "x", models)
    check(len(errs) == 2 and "readinesProbe" in errs[1],
          "schema check catches a misspelt field and a string replica count: %s" % errs)
    unchecked = []
    for d in docs:
        cls = model_of(d, models)
        if cls is None:
            unchecked.append(d["kind"])
            continue
        name = "%s %s" % (d["kind"], d["metadata"]["name"])
        errs = schema_errors(d, cls.__name__, name, models)
        check(not errs, "%s: %s fits the Kubernetes API schema %s" % (what, name, errs))
    print("no schema here for: %s" % sorted(set(unchecked)), flush=True)


def main():
    check = Check()
    deb = debian_kubectl()
    if not check(deb, "Debian's kubectl (kubernetes-client) is installed or unpacked in %s "
                      "(deploy/install-deps.sh, run by make test, does that)" % DEBIAN_KUBECTL_DIR):
        check.done()
    kubectls = [deb]
    other = shutil.which("kubectl")
    if other and os.path.realpath(other) != os.path.realpath(deb):
        kubectls.append(other)
    renders = []
    for k in kubectls:
        tag = "kubectl %s" % version(k)
        print("-- %s: %s" % (tag, k), flush=True)
        if k == deb:
            check(version(k).startswith("v1.20."), "%s: Debian 12's kubectl 1.20" % tag)
        out = check_with(check, k, tag)
        if k == deb:
            for path, docs in out.items():
                if docs:
                    read_back(check, k, tag, docs, path)
        renders.append((tag, out))
    for path, docs in renders[0][1].items():
        if path != "base" and docs:
            check_schemas(check, docs, path)
    for tag, out in renders[1:]:
        for path in out:
            a, b = unhashed(renders[0][1][path]), unhashed(out[path])
            diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            check(not diff, "%s renders %s as %s does (differ: %s)"
                  % (tag, path, renders[0][0], diff))
    check.done()


if __name__ == "__main__":
    main()
