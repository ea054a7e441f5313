#!/usr/bin/env bash
# Builds a small Linux userland image (busybox from Debian's busybox-static) with `docker import`,
# because nothing can be pulled on a machine without a registry. Usage: build-base.sh [REPO] [TAG].
# Skips the build when the image already carries this script's version label.
set -euo pipefail
REPO="${1:-boatload/base}"
TAG="${2:-latest}"
VERSION=2
IMAGE="$REPO:$TAG"

if [ "$(docker image inspect -f '{{ index .Config.Labels "org.boatload.base-version" }}' "$IMAGE" 2>/dev/null || true)" = "$VERSION" ]; then
  echo "[base-image] $IMAGE is up to date"
  exit 0
fi

ROOTFS="$(mktemp -d)"
trap 'rm -rf "$ROOTFS"' EXIT
mkdir -p "$ROOTFS"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home,var/tmp,proc,sys,dev}
chmod 1777 "$ROOTFS/tmp" "$ROOTFS/var/tmp"
cp /bin/busybox "$ROOTFS/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ -e "$ROOTFS/bin/$applet" ] || ln -s busybox "$ROOTFS/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOTFS/etc/group"

tar -C "$ROOTFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/sh"]' \
  --change "LABEL org.boatload.base-version=$VERSION" \
  - "$IMAGE" >/dev/null
echo "[base-image] built $IMAGE"
