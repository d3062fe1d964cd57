# ctest-timeout: 180
"""The LLM over HTTPS, as users run it. A worker verifies the provider
against one trust store for the process (here SSL_CERT_FILE: the system
bundle plus this test's certificate); its calls run on one I/O thread that
keeps connections: 3 sessions on a 1-slot worker reach the fake on 1
connection (a handle per call had made one connection, and one TLS
handshake, per call). A worker on the default store (curl's CA bundle,
without the test's certificate) fails the session with an error naming the
certificate, no request reaches the fake, and the worker lives on. Over
HTTP/2 (nghttpx in front of the fake, 4 streams per connection), a 6-slot
worker's 6 calls, open at once, share fewer than 6 connections."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from test_providers import KEY, control, start_fake  # noqa: E402
from wtfleet import BENCH_WF, Check, Fleet, h2_connections, start_h2_proxy, tls_cert  # noqa: E402

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


def start_worker(fleet, name, slots, base, env):
    """An openai-provider worker on base, registered with the broker."""
    fleet.start_worker(name, slots, None, "--provider", "openai", "--base-url", base,
                       "--workflows", BENCH_WF, env=env)
    fleet.wait_workers(1)


def stop_worker(fleet, name):
    """SIGTERM, its exit, and the broker's count back to 0."""
    fleet.kill("worker-" + name, 15)
    fleet.procs["worker-" + name].wait(timeout=20)
    fleet.wait_workers(0, exact=True)


def main():
    global CERT
    check = Check()
    d = tempfile.mkdtemp(prefix="wt-tls-")
    CERT, key, trusted = tls_cert(d)
    fake, base = start_fake(d, "--tls-cert", CERT, "--tls-key", key, "--default", DONE)
    procs = [fake]
    fleet = Fleet("llm-tls")
    try:
        check(base.startswith("https://"), "the fake LLM serves HTTPS (%s)" % base)
        fleet.start_redis()
        fleet.start_broker()
        env = {"OPENAI_API_KEY": KEY, "SSL_CERT_FILE": trusted}
        start_worker(fleet, "tls", 1, base, env)
        hs = run(fleet, 3)
        check(all(h.get("outcome") == "success" for h in hs),
              "3 sessions over HTTPS succeeded (%s)" % [h.get("error") for h in hs])
        reqs = llm_requests(base)
        conns = {r["conn"] for r in reqs}
        check(len(reqs) == 3 and len(conns) == 1,
              "3 LLM calls on %d connection(s), want 1 (%d requests)" % (len(conns), len(reqs)))

        # the same server, a worker whose store lacks its certificate
        stop_worker(fleet, "tls")
        control_tls(base, "/_control/reset", {})
        env.pop("SSL_CERT_FILE")  # the default store: curl's CA bundle, without the test's
        start_worker(fleet, "untrusting", 1, base, env)
        hs = run(fleet, 1)
        err = hs[0].get("error", "")
        check(hs[0].get("outcome") == "error" and "certificate" in err,
              "an untrusted server: the session fails naming the certificate (%s: %s)"
              % (hs[0].get("outcome"), err[:160]))
        check(llm_requests(base) == [], "no request reached the untrusted server")
        check(fleet.procs["worker-untrusting"].poll() is None,
              "the worker lives on after the failed call")
        stop_worker(fleet, "untrusting")

        # HTTP/2, as hosted providers speak it: nghttpx in front of a fake
        # that answers only once 6 calls are open, at most 4 streams per
        # connection; a 6-slot worker's 6 calls share connections
        d2 = os.path.join(d, "h2")  # a port file of its own
        os.mkdir(d2)
        fake2, base2 = start_fake(d2, "--default", DONE, "--hold-until", "6", "--hold-s", "30")
        procs.append(fake2)
        proxy, hbase, log = start_h2_proxy(d, base2, CERT, key, streams=4)
        procs.append(proxy)
        env["SSL_CERT_FILE"] = trusted
        start_worker(fleet, "h2", 6, hbase, env)
        hs = run(fleet, 6)
        check(all(h.get("outcome") == "success" for h in hs),
              "6 sessions over HTTP/2 succeeded (%s)" % [h.get("error") for h in hs])
        reqs = [r for r in control(base2, "/_control/requests") if r["path"] == "/v1/chat/completions"]
        ts = [r["t"] for r in reqs]
        check(len(reqs) == 6 and max(ts) - min(ts) < 25,
              "the 6 calls were open at once (%d requests over %.1fs)"
              % (len(reqs), max(ts) - min(ts) if ts else -1))
        conns, alpn = h2_connections(log)
        check(alpn == {"h2"} and conns < 6,
              "6 calls at once on %d HTTP/2 connection(s) (%s), fewer than 6" % (conns, alpn))
    except BaseException:
        fleet.dump_logs()
        raise
    finally:
        for p in procs:
            p.kill()
        fleet.stop()
    return check.done()


if __name__ == "__main__":
    sys.exit(main())
