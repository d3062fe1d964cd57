# ctest-timeout: 180
"""The LLM over HTTPS, as users run it. A worker verifies the provider
against one trust store for the process (here SSL_CERT_FILE: the system
bundle plus this test's certificate) and keeps a slot's connection from
one LLM call to the next: 3 sessions on a 1-slot worker reach the fake on 1
connection (a handle per call had made one connection, and one TLS
handshake, per call). A worker on the default store (curl's CA bundle,
without the test's certificate) fails the session with an error naming the
certificate, no request reaches the fake, and the worker lives on."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from test_providers import KEY, control, start_fake  # noqa: E402
from wtfleet import BENCH_WF, Check, Fleet, tls_cert  # noqa: E402

DONE = json.dumps({"reply": {"tool_calls": [{"name": "complete_step",
                                             "input": {"notes": "n", "context": {"a": "b"}}}]}})


def llm_requests(base):
    return [r for r in control_tls(base, "/_control/requests")
            if r["path"] == "/v1/chat/completions"]


def control_tls(base, path, obj=None):
    import ssl
    import urllib.request
    ctx = ssl.create_default_context(cafile=CERT)
    data = json.dumps(obj).encode() if obj is not None else None
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    with urllib.request.urlopen(req, timeout=5, context=ctx) as r:
        return json.loads(r.read())


def run(fleet, n):
    c = fleet.client()
    sids = [c.spawn("bench-one-step", "tls %d" % i) for i in range(n)]
    c.close()
    fleet.wait_completed(sids, timeout_s=60)
    return [fleet.r.hgetall("wt:session:%s" % s) for s in sids]


CERT = None


def main():
    global CERT
    check = Check()
    d = tempfile.mkdtemp(prefix="wt-tls-")
    CERT, key, trusted = tls_cert(d)
    fake, base = start_fake(d, "--tls-cert", CERT, "--tls-key", key, "--default", DONE)
    fleet = Fleet("llm-tls")
    try:
        check(base.startswith("https://"), "the fake LLM serves HTTPS (%s)" % base)
        fleet.start_redis()
        fleet.start_broker()
        env = {"OPENAI_API_KEY": KEY, "SSL_CERT_FILE": trusted}
        fleet.start_worker("tls", 1, None, "--provider", "openai", "--base-url", base,
                           "--workflows", BENCH_WF, env=env)
        fleet.wait_workers(1)
        hs = run(fleet, 3)
        check(all(h.get("outcome") == "success" for h in hs),
              "3 sessions over HTTPS succeeded (%s)" % [h.get("error") for h in hs])
        reqs = llm_requests(base)
        conns = {r["conn"] for r in reqs}
        check(len(reqs) == 3 and len(conns) == 1,
              "3 LLM calls on %d connection(s), want 1 (%d requests)" % (len(conns), len(reqs)))

        # the same server, a worker whose store lacks its certificate
        fleet.kill("worker-tls", 15)
        fleet.procs["worker-tls"].wait(timeout=20)
        fleet.wait_workers(0, exact=True)
        control_tls(base, "/_control/reset", {})
        env.pop("SSL_CERT_FILE")  # the default store: curl's CA bundle, without the test's
        fleet.start_worker("untrusting", 1, None, "--provider", "openai", "--base-url", base,
                           "--workflows", BENCH_WF, env=env)
        fleet.wait_workers(1)
        hs = run(fleet, 1)
        err = hs[0].get("error", "")
        check(hs[0].get("outcome") == "error" and "certificate" in err,
              "an untrusted server: the session fails naming the certificate (%s: %s)"
              % (hs[0].get("outcome"), err[:160]))
        check(llm_requests(base) == [], "no request reached the untrusted server")
        check(fleet.procs["worker-untrusting"].poll() is None,
              "the worker lives on after the failed call")
    except BaseException:
        fleet.dump_logs()
        raise
    finally:
        fake.kill()
        fleet.stop()
    return check.done()


if __name__ == "__main__":
    sys.exit(main())
