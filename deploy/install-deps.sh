#!/usr/bin/env bash
# install-deps.sh - installs the Debian 12 packages WorkTrain builds and tests
# with (DESIGN.md section 11), but only those that are missing, so a second
# run is a no-op and never touches the network.
set -eu

pkgs="build-essential cmake pkg-config libzmq3-dev libmsgpack-dev
      libcurl4-openssl-dev libyaml-dev libhiredis-dev libjansson-dev
      libmicrohttpd-dev libssl-dev libsystemd-dev libcmocka-dev redis-server clang
      python3 python3-redis python3-zmq python3-msgpack python3-yaml procps curl git jq faketime
      bubblewrap iproute2 iptables prometheus buildah podman
      libedit-dev tmux libczmq-dev"
# libedit-dev: `worktrain talk` line editing; tmux: its terminal test.
# libczmq-dev: test_czmq_cert checks that CZMQ's zcert reads keygen's files.
# iproute2 and iptables: the multi-host tests (network namespaces; NFQUEUE
# delays packets where the kernel has no netem).
# The console's browser test drives headless Chromium over the DevTools
# protocol; `make test` asks for it, `make demo` and `make build` do not.
[ "${WT_WITH_BROWSER:-0}" = 1 ] && pkgs="$pkgs chromium python3-websocket"
# The alert intake test (tests/integration/test_alert_prometheus.py) runs the
# real Prometheus and Alertmanager on loopback ports.
pkgs="$pkgs prometheus prometheus-alertmanager"

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root or install them)" >&2
    exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2
# The Debian package starts a system redis on 6379; tests and the demo run
# their own servers on free ports, so the system one is not needed.
# Likewise the prometheus packages start system services (9090, 9093) where
# systemd runs; the alert test starts its own on free ports.
