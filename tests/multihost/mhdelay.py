"""mhdelay - delays and drops a namespace's outgoing packets in user space,
for kernels without sch_netem. Run inside the namespace; an iptables-legacy
rule sends the packets to NFQUEUE queue 0 and this process gives each its
verdict DELAY_MS later (NF_ACCEPT), or drops LOSS_PCT % of them (NF_DROP).
Speaks nfnetlink_queue directly (no payload copied: metadata only). On
SIGTERM it prints `delayed N dropped M` and exits.

  mhdelay.py DELAY_MS LOSS_PCT"""
import collections
import os
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
NF_DROP, NF_ACCEPT = 0, 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
QUEUE = 0


def attr(typ, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, typ) + payload + b"\0" * ((4 - n % 4) % 4)


def msg(typ, flags, seq, body):
    return struct.pack("=IHHII", 16 + len(body), typ, flags, seq, 0) + body


def nfgen(family=socket.AF_UNSPEC):
    return struct.pack("=BB", family, 0) + struct.pack(">H", QUEUE)


def config(sock, seq, *attrs):
    sock.send(msg((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, seq,
                  nfgen() + b"".join(attrs)))
    data = sock.recv(65536)
    typ = struct.unpack_from("=H", data, 4)[0]
    if typ == NLMSG_ERROR:
        err = struct.unpack_from("=i", data, 16)[0]
        if err != 0:
            raise OSError(-err, "nfqueue config: %s" % os.strerror(-err))


def main():
    delay = int(sys.argv[1]) / 1000.0
    loss = float(sys.argv[2]) / 100.0
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((0, 0))
    config(sock, 1, attr(NFQA_CFG_CMD, struct.pack(">BBH", NFQNL_CFG_CMD_BIND, 0, socket.AF_INET)))
    config(sock, 2, attr(NFQA_CFG_PARAMS, struct.pack(">IB", 0, NFQNL_COPY_META)))
    config(sock, 3, attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack(">I", 65536)))
    counts = {"delayed": 0, "dropped": 0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    pending = collections.deque()  # (due, packet id), due order since the delay is constant
    vtype = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT

    def verdict(pid, v):
        sock.send(msg(vtype, NLM_F_REQUEST, 0,
                      nfgen() + attr(NFQA_VERDICT_HDR, struct.pack(">II", v, pid))))

    print("ready", flush=True)
    while not stop:
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            verdict(pending.popleft()[1], NF_ACCEPT)
        wait = max(0.0, pending[0][0] - now) if pending else 0.5
        try:
            r, _, _ = select.select([sock], [], [], wait)
        except InterruptedError:
            continue
        if not r:
            continue
        try:
            data = sock.recv(1 << 20)
        except OSError:  # ENOBUFS: packets the kernel could not queue are dropped there
            continue
        off = 0
        while off + 16 <= len(data):
            ln, typ = struct.unpack_from("=IH", data, off)
            if ln < 16:
                break
            if typ == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                a = off + 20
                while a + 4 <= off + ln:
                    alen, atyp = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atyp & 0x3FFF == NFQA_PACKET_HDR:
                        pid = struct.unpack_from(">I", data, a + 4)[0]
                        if random.random() < loss:
                            verdict(pid, NF_DROP)
                            counts["dropped"] += 1
                        else:
                            pending.append((time.monotonic() + delay, pid))
                            counts["delayed"] += 1
                        break
                    a += (alen + 3) & ~3
            off += (ln + 3) & ~3
    for _, pid in pending:
        verdict(pid, NF_ACCEPT)
    print("delayed %d dropped %d" % (counts["delayed"], counts["dropped"]), flush=True)


if __name__ == "__main__":
    main()
