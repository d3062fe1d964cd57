"""mhlab - a small lab of "hosts" (network namespaces) on a private bridge.

Each host is a network namespace with one veth into a test bridge and one
address in a private /24 the lab picks (10.231.X.0/24, X free in the root
namespace). The bridge also gets .254 so the test itself (root namespace)
can read Redis and the broker's /metrics. Every name carries the prefix
`wtmh<pid hex>` so a later run can find and remove what a killed run left
behind (its pid is no longer alive).

Faults, with iproute2 (and iptables-legacy for delay without netem):
  partition(a, b)  blackhole routes on both sides: a and b drop each other's
                   packets, everyone else still reaches both
  heal(a, b)       removes them
  degrade(pct, ms) loss and delay on every host: netem where the kernel has
                   it, else NFQUEUE to mhdelay.py (user space), else loss only:
  lossy(pct)       drops pct % of every host's outgoing packets: an HTB root
                   with a pfifo of limit 0 as the "drop" class, chosen by a
                   classic-BPF classifier on a random number (cls_bpf)
Needs root; `available()` says why not otherwise."""
import os
import re
import select
import shutil
import signal
import subprocess
import time

PREFIX = "wtmh"


def sh(*argv, check=True, ns=None):
    if ns:
        argv = ("ip", "netns", "exec", ns) + argv
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), (r.stderr or r.stdout).strip()))
    return r


def available():
    """None when namespaces can be made here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "not root (network namespaces need CAP_SYS_ADMIN/CAP_NET_ADMIN)"
    probe = "%sprobe%x" % (PREFIX, os.getpid())
    try:
        r = sh("ip", "netns", "add", probe, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        return "cannot run ip: %s" % e
    if r.returncode != 0:
        return "ip netns add failed: %s" % r.stderr.strip()
    sh("ip", "netns", "del", probe, check=False)
    r = sh("ip", "link", "add", probe[:15], "type", "bridge", check=False)
    if r.returncode != 0:
        return "cannot create a bridge: %s" % r.stderr.strip()
    sh("ip", "link", "del", probe[:15], check=False)
    return None


def _alive(pid):
    """Whether the run that owns a prefix is still going: a live, non-zombie
    process whose command line is a multihost test (a reused pid is not)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"multihost" in f.read()
    except (OSError, IndexError):
        return False


def _kill_ns_procs(ns):
    r = sh("ip", "netns", "pids", ns, check=False)
    for p in r.stdout.split():
        try:
            os.kill(int(p), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def clean_stale():
    """Removes namespaces and links of earlier runs whose process is gone."""
    pat = re.compile(r"^%s([0-9a-f]+)[a-z]" % PREFIX)
    for line in sh("ip", "netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        m = pat.match(name)
        if m and not _alive(int(m.group(1), 16)):
            _kill_ns_procs(name)
            sh("ip", "netns", "del", name, check=False)
    for line in sh("ip", "-o", "link", "show", check=False).stdout.splitlines():
        f = line.split(":")
        name = f[1].strip().split("@")[0] if len(f) > 1 else ""
        m = pat.match(name)
        if m and not _alive(int(m.group(1), 16)):
            sh("ip", "link", "del", name, check=False)


class Lab:
    def __init__(self, hosts):
        self.tag = "%s%x" % (PREFIX, os.getpid())
        assert len(self.tag) <= 12, "pid too long for interface names"
        self.bridge = self.tag + "b"
        self.names = list(hosts)
        self.ns = {h: "%sn%s" % (self.tag, h) for h in hosts}
        self.veth = {h: "%sv%d" % (self.tag, i) for i, h in enumerate(hosts)}
        self.addr = {}
        self.parts = set()
        self.delayers = {}
        self.net = None

    def _pick_subnet(self):
        used = sh("ip", "-4", "route", "show").stdout
        start = os.getpid() % 200 + 20
        for k in range(200):
            x = (start + k) % 250 + 1
            if "10.231.%d." % x not in used:
                return "10.231.%d" % x
        raise RuntimeError("no free 10.231.X.0/24 subnet")

    def up(self):
        clean_stale()
        self.net = self._pick_subnet()
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", self.net + ".254/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for i, h in enumerate(self.names):
            ns, v = self.ns[h], self.veth[h]
            self.addr[h] = "%s.%d" % (self.net, i + 1)
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", v, "type", "veth", "peer", "name", v + "p")
            sh("ip", "link", "set", v + "p", "netns", ns)
            sh("ip", "link", "set", v, "master", self.bridge)
            sh("ip", "link", "set", v, "up")
            sh("ip", "link", "set", "lo", "up", ns=ns)
            sh("ip", "link", "set", v + "p", "name", "eth0", ns=ns)
            sh("ip", "addr", "add", self.addr[h] + "/24", "dev", "eth0", ns=ns)
            sh("ip", "link", "set", "eth0", "up", ns=ns)

    def down(self):
        self._delayers_down()
        for h in self.names:
            _kill_ns_procs(self.ns[h])
            sh("ip", "netns", "del", self.ns[h], check=False)
            sh("ip", "link", "del", self.veth[h], check=False)
        sh("ip", "link", "del", self.bridge, check=False)

    def argv(self, host, argv):
        return ["ip", "netns", "exec", self.ns[host]] + list(argv)

    # --- faults ---
    def partition(self, a, b):
        sh("ip", "route", "add", "blackhole", self.addr[b] + "/32", ns=self.ns[a])
        sh("ip", "route", "add", "blackhole", self.addr[a] + "/32", ns=self.ns[b])
        self.parts.add((a, b))

    def heal(self, a, b):
        sh("ip", "route", "del", "blackhole", self.addr[b] + "/32", ns=self.ns[a], check=False)
        sh("ip", "route", "del", "blackhole", self.addr[a] + "/32", ns=self.ns[b], check=False)
        self.parts.discard((a, b))

    def degrade(self, pct, delay_ms):
        """pct % loss and delay_ms delay on every host's egress with netem
        when the kernel has it; otherwise loss only (lossy). Returns what
        was applied, e.g. "netem loss 5% delay 50ms" or "loss 5% (no netem:
        delay not applied)"."""
        first = self.ns[self.names[0]]
        r = sh("tc", "qdisc", "add", "dev", "eth0", "root", "netem", "loss", "%g%%" % pct,
               "delay", "%dms" % delay_ms, ns=first, check=False)
        if r.returncode == 0:
            for h in self.names[1:]:
                sh("tc", "qdisc", "add", "dev", "eth0", "root", "netem", "loss", "%g%%" % pct,
                   "delay", "%dms" % delay_ms, ns=self.ns[h])
            return "netem loss %g%% delay %dms" % (pct, delay_ms)
        if shutil.which("iptables-legacy"):
            self._delayers_up(pct, delay_ms)
            return "loss %g%% delay %dms by NFQUEUE (no netem in this kernel)" % (pct, delay_ms)
        self.lossy(pct)
        return "loss %g%% by cls_bpf (no netem, no iptables-legacy: delay not applied)" % pct

    def _delayers_up(self, pct, delay_ms):
        """tests/multihost/mhdelay.py in every host; iptables-legacy (its
        xt NFQUEUE target; this kernel has no nft queue) sends it the
        packets for the test subnet."""
        here = os.path.dirname(os.path.abspath(__file__))
        for h in self.names:
            p = subprocess.Popen(self.argv(h, ["/usr/bin/python3", os.path.join(here, "mhdelay.py"),
                                               str(delay_ms), str(pct)]),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.delayers[h] = p
            if not select.select([p.stdout], [], [], 10)[0] or p.stdout.readline().strip() != "ready":
                raise RuntimeError("mhdelay did not start in %s" % h)
            sh("iptables-legacy", "-A", "OUTPUT", "-d", self.net + ".0/24", "-j", "NFQUEUE",
               "--queue-num", "0", "--queue-bypass", ns=self.ns[h])

    def _delayers_down(self):
        dropped = offered = 0
        for h, p in list(self.delayers.items()):
            sh("iptables-legacy", "-F", "OUTPUT", ns=self.ns[h], check=False)
            p.send_signal(signal.SIGTERM)
            try:
                out = p.communicate(timeout=10)[0]
            except subprocess.TimeoutExpired:
                p.kill()
                out = p.communicate()[0]
            m = re.search(r"delayed (\d+) dropped (\d+)", out or "")
            if m:
                dropped += int(m.group(2))
                offered += int(m.group(1)) + int(m.group(2))
            del self.delayers[h]
        return dropped, offered

    def clear(self):
        self._delayers_down()
        for h in self.names:
            sh("tc", "qdisc", "del", "dev", "eth0", "root", ns=self.ns[h], check=False)

    def loss_stats(self):
        """(packets dropped, packets offered) on every host's egress, from
        the root qdisc's counters (tc -s), or the delayers' (which stops
        them)."""
        if self.delayers:
            return self._delayers_down()
        dropped = offered = 0
        for h in self.names:
            out = sh("tc", "-s", "qdisc", "show", "dev", "eth0", ns=self.ns[h]).stdout
            m = re.search(r"qdisc \S+ 1: root.*?Sent \d+ bytes (\d+) pkt \(dropped (\d+)", out,
                          re.S)
            if m:
                offered += int(m.group(1)) + int(m.group(2))
                dropped += int(m.group(2))
        return dropped, offered

    def lossy(self, pct):
        """pct % random loss on every host's egress (so about 2 x pct per
        round trip); pct 0 removes it."""
        thr = int(pct / 100.0 * 0xFFFFFFFF)
        # classic BPF: A = random u32; A >= thr ? no match (default class)
        # : classid 1:2 (the drop class).
        prog = "4,32 0 0 4294963256,53 1 0 %d,6 0 0 65538,6 0 0 0" % thr
        for h in self.names:
            ns = self.ns[h]
            sh("tc", "qdisc", "del", "dev", "eth0", "root", ns=ns, check=False)
            if pct <= 0:
                continue
            sh("tc", "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb", "default", "1",
               ns=ns)
            sh("tc", "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:1", "htb", "rate",
               "10gbit", ns=ns)
            sh("tc", "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:2", "htb", "rate",
               "10gbit", ns=ns)
            sh("tc", "qdisc", "add", "dev", "eth0", "parent", "1:2", "handle", "2:", "pfifo",
               "limit", "0", ns=ns)
            sh("tc", "filter", "add", "dev", "eth0", "parent", "1:", "prio", "1", "protocol", "all",
               "bpf", "bytecode", prog, ns=ns)
