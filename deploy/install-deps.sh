#!/usr/bin/env bash
# install-deps.sh - installs the Debian 12 packages WorkTrain builds and tests
# with (DESIGN.md section 11), but only those that are missing, so a second
# run is a no-op and never touches the network.
set -eu

pkgs="build-essential cmake pkg-config libzmq3-dev libmsgpack-dev
      libcurl4-openssl-dev libyaml-dev libhiredis-dev libjansson-dev
      libmicrohttpd-dev libssl-dev libsystemd-dev libcmocka-dev redis-server clang
      openssl ca-certificates nghttp2-proxy
      python3 python3-redis python3-zmq python3-msgpack python3-yaml procps curl git jq faketime
      bubblewrap iproute2 iptables prometheus buildah podman
      libedit-dev tmux systemd python3-kubernetes libczmq-dev"
# libedit-dev: `worktrain talk` line editing; tmux: its terminal test.
# ca-certificates: the CA bundle HTTPS providers are verified against;
# openssl: test_llm_tls and the HTTPS bench make their certificate with it;
# nghttp2-proxy: nghttpx, the HTTP/2 front of their fake LLM.
# systemd: systemd-analyze for tests/deploy/test_deploy_systemd.py (a Debian
# 12 container image has libsystemd but not systemd). python3-kubernetes:
# the API types test_deploy_k8s checks the rendered manifests against.
# libczmq-dev: test_czmq_cert checks that CZMQ's zcert reads keygen's files.
# iproute2 and iptables: the multi-host tests (network namespaces; NFQUEUE
# delays packets where the kernel has no netem).
# The console's browser test drives headless Chromium over the DevTools
# protocol; `make test` asks for it, `make demo` and `make build` do not.
[ "${WT_WITH_BROWSER:-0}" = 1 ] && pkgs="$pkgs chromium python3-websocket"
# The alert intake test (tests/integration/test_alert_prometheus.py) runs the
# real Prometheus and Alertmanager on loopback ports.
pkgs="$pkgs prometheus prometheus-alertmanager"

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
missing=""
for p in $pkgs; do
    installed "$p" || missing="$missing $p"
done

# Debian's kubectl (kubernetes-client 1.20, kustomize v2.0.3): the k8s test
# (tests/deploy/test_deploy_k8s.py) renders deploy/k8s with it and with any
# newer kubectl on the PATH. Where no other kubectl owns /usr/bin/kubectl the
# package is installed; where one does (e.g. Google's kubectl package) it is
# not replaced: the package is unpacked (apt-get download, dpkg -x) into
# $KUBECTL_DIR instead, whose usr/bin/kubectl the test finds.
KUBECTL_DIR=/usr/local/lib/worktrain-deps/kubernetes-client
kubectl_extract=0
if ! installed kubernetes-client && [ ! -x "$KUBECTL_DIR/usr/bin/kubectl" ]; then
    if [ -e /usr/bin/kubectl ] || [ -L /usr/bin/kubectl ]; then
        kubectl_extract=1
    else
        missing="$missing kubernetes-client"
    fi
fi
[ -z "$missing" ] && [ "$kubectl_extract" = 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    [ "$kubectl_extract" = 1 ] && missing="$missing kubernetes-client(unpacked into $KUBECTL_DIR)"
    echo "install-deps: missing packages:$missing (run as root or install them)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
if [ -n "$missing" ]; then
    echo "install-deps: installing$missing" >&2
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing >&2
fi
if [ "$kubectl_extract" = 1 ]; then
    echo "install-deps: unpacking Debian's kubernetes-client into $KUBECTL_DIR" \
         "(/usr/bin/kubectl belongs to $(dpkg -S /usr/bin/kubectl 2>/dev/null | cut -d: -f1 || echo '?'))" >&2
    tmp=$(mktemp -d)
    chown _apt "$tmp" 2>/dev/null || true  # apt downloads as its _apt user
    (cd "$tmp" && apt-get download -q kubernetes-client >&2)
    mkdir -p "$(dirname "$KUBECTL_DIR")"
    rm -rf "$KUBECTL_DIR.new"
    dpkg -x "$tmp"/kubernetes-client_*.deb "$KUBECTL_DIR.new"
    rm -rf "$tmp" "$KUBECTL_DIR"
    mv "$KUBECTL_DIR.new" "$KUBECTL_DIR"
    "$KUBECTL_DIR/usr/bin/kubectl" version --client >&2
fi
# The Debian package starts a system redis on 6379; tests and the demo run
# their own servers on free ports, so the system one is not needed.
# Likewise the prometheus packages start system services (9090, 9093) where
# systemd runs; the alert test starts its own on free ports.
