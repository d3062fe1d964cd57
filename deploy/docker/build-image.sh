#!/usr/bin/env bash
# build-image.sh - `make image`: assembles the runtime image of
# deploy/docker/Dockerfile without pulling anything (no registry is needed):
# a scratch image holding the built binary, the agent tools' programs (bash,
# dash as /bin/sh, coreutils, grep, sed, find, git, curl, bwrap), the exact
# shared libraries they all link (ldd, from this Debian 12 host, the same
# files debian:12-slim's packages carry), CA certificates, the workflows and
# a passwd entry for the non-root user 10001. Then buildah commits it in
# docker format (HEALTHCHECK kept).
#
#   build-image.sh [--rootfs DIR] BUILD_DIR [TAG]
#     --rootfs DIR  only assemble the file tree into DIR (no buildah): what a
#                   test runs with chroot where containers cannot run
set -eu
export BUILDAH_FORMAT=docker # HEALTHCHECK exists only in the docker image format

rootfs_only=""
if [ "${1:-}" = "--rootfs" ]; then
    rootfs_only=$2
    shift 2
fi
build=${1:-build}
tag=${2:-localhost/worktrain:dev}
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin="$build/worktrain"
[ -x "$bin" ] || { echo "build-image: no binary at $bin (run make build)" >&2; exit 1; }

if [ -n "$rootfs_only" ]; then
    root=$rootfs_only
    mkdir -p "$root"
else
    command -v buildah >/dev/null || { echo "build-image: buildah missing (apt-get install buildah)" >&2; exit 1; }
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
fi

# Debian 12 is merged-/usr: /bin, /lib, /lib64 and /sbin are links into /usr.
mkdir -p "$root"/usr/bin "$root"/usr/lib "$root"/usr/lib64 "$root"/usr/sbin "$root"/usr/local/bin \
    "$root"/etc/ssl/certs "$root"/tmp "$root"/dev "$root"/proc "$root"/var/lib/worktrain "$root"/usr/local/share/worktrain
for d in bin lib lib64 sbin; do ln -sfn usr/$d "$root/$d"; done
chmod 1777 "$root/tmp"

copy_file() { # the file at the same path in the tree (symlinks resolved to content)
    mkdir -p "$root$(dirname "$1")"
    cp -L "$1" "$root$1"
}
copy_libs() { # every library ldd names for the ELF files given
    ldd "$@" 2>/dev/null | awk '/=> \//{print $3} /^\t\/.*\(0x/{print $1}' | sort -u |
        while read -r lib; do copy_file "$lib"; done
}

install -m 0755 "$bin" "$root/usr/local/bin/worktrain"
strip "$root/usr/local/bin/worktrain" 2>/dev/null || true
tools="bash dash ls cat echo mkdir rmdir rm cp mv ln head tail wc env sleep true false test
       printf sort uniq cut tr date dirname basename pwd touch chmod readlink realpath mktemp tee
       id uname stat du df seq expr grep sed find xargs diff patch git curl bwrap"
elves="$bin"
for t in $tools; do
    p=$(type -P "$t" || true)
    [ -n "$p" ] || { echo "build-image: $t not installed on this host" >&2; exit 1; }
    copy_file "$p"
    elves="$elves $p"
done
ln -sfn dash "$root/usr/bin/sh"
cp -a /usr/lib/git-core "$root/usr/lib/" # hard links stay links
copy_libs $elves /usr/lib/git-core/git-remote-http
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
cp -r "$repo/workflows" "$root/usr/local/share/worktrain/workflows"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nworktrain:x:10001:10001:WorkTrain:/var/lib/worktrain:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nworktrain:x:10001:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chown 10001:10001 "$root/var/lib/worktrain"

[ -n "$rootfs_only" ] && exit 0

# The runtime stage of the Dockerfile over the assembled tree: FROM scratch
# needs no registry and there is no RUN step (nothing to execute at build).
mkdir -p "$root.ctx"
trap 'rm -rf "$root" "$root.ctx"' EXIT
mv "$root" "$root.ctx/rootfs"
mkdir -p "$root"
cat >"$root.ctx/Containerfile" <<'CF'
FROM scratch
COPY rootfs/ /
USER 10001:10001
WORKDIR /var/lib/worktrain
ENV TMPDIR=/var/lib/worktrain \
    WORKTRAIN_LOG_FORMAT=json \
    WORKTRAIN_HEALTH_PORT=3200
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${WORKTRAIN_HEALTH_PORT}/healthz" >/dev/null || exit 1
EXPOSE 5555 5556 3200 3300 3456
LABEL org.opencontainers.image.title=worktrain
ENTRYPOINT ["/usr/local/bin/worktrain"]
CMD ["--help"]
CF
buildah build --quiet --format docker --layers=false -f "$root.ctx/Containerfile" -t "$tag" \
    "$root.ctx" >/dev/null
echo "$tag"
