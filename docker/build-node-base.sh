#!/usr/bin/env bash
# Builds a Node.js runtime base image without a registry: the host's own `node` binary, the shared
# libraries `ldd` lists for it (and for any extra native files given), CA certificates and a busybox
# userland (sh, wget: unit files run `/bin/sh -c` in these images), imported with `docker import`.
# Native addons compiled on this host (better-sqlite3) therefore run inside the image unchanged.
#
# Usage: build-node-base.sh [REPO] [TAG] [EXTRA_ELF_FILE...]
#   default boatload/node-base latest. Skips the build when the image already carries this script's
#   version and the same node version. Needs DOCKER_HOST (or the default socket) and /bin/busybox
#   from Debian's busybox-static.
set -euo pipefail
REPO="${1:-boatload/node-base}"
TAG="${2:-latest}"
shift $(( $# > 2 ? 2 : $# ))
EXTRA=("$@")
SCRIPT_VERSION=1
NODE_BIN="$(readlink -f "$(command -v node)")"
NODE_VERSION="$("$NODE_BIN" --version)"
VERSION="$SCRIPT_VERSION-$NODE_VERSION"
IMAGE="$REPO:$TAG"

if [ "$(docker image inspect -f '{{ index .Config.Labels "org.boatload.node-base-version" }}' "$IMAGE" 2>/dev/null || true)" = "$VERSION" ]; then
  echo "[node-base] $IMAGE is up to date ($NODE_VERSION)"
  exit 0
fi
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
  echo "[node-base] a static /bin/busybox is required: apt-get install -y busybox-static" >&2
  exit 1
fi

ROOTFS="$(mktemp -d)"
trap 'rm -rf "$ROOTFS"' EXIT
mkdir -p "$ROOTFS"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc/ssl/certs,tmp,root,home,var/tmp,proc,sys,dev,app}
chmod 1777 "$ROOTFS/tmp" "$ROOTFS/var/tmp"
cp /bin/busybox "$ROOTFS/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ -e "$ROOTFS/bin/$applet" ] || ln -s busybox "$ROOTFS/bin/$applet"
done
cp "$NODE_BIN" "$ROOTFS/usr/local/bin/node"

# Merged-/usr hosts (Debian 12): /lib and /lib64 are symlinks into /usr; keep that layout.
for link in /lib /lib64; do
  if [ -L "$link" ]; then target="$(readlink "$link")"; mkdir -p "$ROOTFS/${target#/}"; ln -s "$target" "$ROOTFS$link"; fi
done
# Every library the loader will ask for, at the same path as on the host (ld.so's default paths).
copy_libs() {
  ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
    [ -e "$ROOTFS$lib" ] && continue
    mkdir -p "$ROOTFS$(dirname "$lib")"
    cp -L "$lib" "$ROOTFS$lib"
  done
}
copy_libs "$NODE_BIN"
for extra in "${EXTRA[@]}"; do copy_libs "$extra"; done

if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/"; fi
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/app:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$ROOTFS/etc/group"
printf 'hosts: files dns\n' >"$ROOTFS/etc/nsswitch.conf"

# The image must run node before it is tagged.
tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  --change 'WORKDIR /app' \
  --change 'CMD ["node"]' \
  --change "LABEL org.boatload.node-base-version=$VERSION" \
  - "$IMAGE" >/dev/null
if ! docker run --rm --network none "$IMAGE" node -e 'process.exit(0)'; then
  docker image rm "$IMAGE" >/dev/null 2>&1 || true
  echo "[node-base] node does not run in $IMAGE" >&2
  exit 1
fi
echo "[node-base] built $IMAGE ($NODE_VERSION)"
