"""mhclient - the "client host" of the multi-host tests: run inside the
client namespace, it spawns N sessions on the broker (over CURVE when key
files are given) and prints one JSON line: {"sids": [...]} or {"error": ...}.

  mhclient.py ENDPOINT N WORKFLOW GOALPREFIX [CLIENT.key BROKER.pub]"""
import json
import os
import sys

import zmq
import zmq.auth

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from wtfleet import Client  # noqa: E402


class CurveClient(Client):
    def __init__(self, ctx, endpoint, key=None, broker_pub=None):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        if key:
            pub, sec = zmq.auth.load_certificate(key)
            bpub, _ = zmq.auth.load_certificate(broker_pub)
            self.sock.curve_publickey = pub
            self.sock.curve_secretkey = sec
            self.sock.curve_serverkey = bpub
        self.sock.connect(endpoint)
        self.req = 0


def main():
    ep, n, wf, goal = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    key = sys.argv[5] if len(sys.argv) > 5 else None
    bpub = sys.argv[6] if len(sys.argv) > 6 else None
    timeout_s = float(os.environ.get("MH_SPAWN_TIMEOUT", "60"))
    ctx = zmq.Context()
    c = CurveClient(ctx, ep, key, bpub)
    try:
        sids = c.spawn_many(n, wf, goal_fmt=goal + " %d", window=200, timeout_s=timeout_s)
        print(json.dumps({"sids": sids}), flush=True)
    except Exception as e:  # reported to the test, which decides
        print(json.dumps({"error": repr(e)}), flush=True)
        sys.exit(1)
    finally:
        c.close()
        ctx.destroy(0)


if __name__ == "__main__":
    main()
