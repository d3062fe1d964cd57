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

# Files are copied in batches (cp --parents keeps their paths; -L stores
# content, not links): one process per file was most of the build time.
copy_libs() { # every library ldd names for the ELF files given
    ldd "$@" 2>/dev/null | awk '/=> \//{print $3} /^\t\/.*\(0x/{print $1}' | sort -u |
        xargs cp -L --parents -t "$root" 2>&1 | grep -v 'specified more than once' >&2 || true
}

install -m 0755 "$bin" "$root/usr/local/bin/worktrain"
strip "$root/usr/local/bin/worktrain" 2>/dev/null || true
tools="bash dash ls cat echo mkdir rmdir rm cp mv ln head tail wc env sleep true false test
       printf sort uniq cut tr date dirname basename pwd touch chmod readlink realpath mktemp tee
       id uname stat du df seq expr grep sed find xargs diff patch git curl bwrap"
paths=""
for t in $tools; do
    p=$(type -P "$t" || true)
    [ -n "$p" ] || { echo "build-image: $t not installed on this host" >&2; exit 1; }
    paths="$paths $p"
done
# shellcheck disable=SC2086
cp -L --parents -t "$root" $paths
# shellcheck disable=SC2086
copy_libs "$bin" $paths /usr/lib/git-core/git-remote-http
ln -sfn dash "$root/usr/bin/sh"
cp -a /usr/lib/git-core "$root/usr/lib/" # hard links stay links
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
# The runtime settings (user, env, HEALTHCHECK, ports, entrypoint) are the
# Dockerfile's own, from its USER line on, so both images agree.
{
    printf 'FROM scratch\nCOPY rootfs/ /\n'
    sed -n '/^USER /,$p' "$repo/deploy/docker/Dockerfile"
} >"$root.ctx/Containerfile"
buildah build --quiet --format docker --layers=false -f "$root.ctx/Containerfile" -t "$tag" \
    "$root.ctx" >/dev/null
echo "$tag"
