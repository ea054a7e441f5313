#!/usr/bin/env bash
# Stages this host's iptables (the binary its `iptables` resolves to, so the same backend as the
# host's engine: nf_tables or legacy), its extension modules and the libraries they need under DEST,
# as a tree to copy onto the satellite image's root: the satellite owns the network policy's rules
# on its node (satellite/firewall.ts) from inside its container, in the host's network namespace.
# Libraries of the C library itself are left out: the base image has them (node needs them too).
#
# Usage: stage-iptables.sh DEST
set -euo pipefail
DEST="$1"
mkdir -p "$DEST"
IPTABLES="$(command -v iptables || true)"
if [ -z "$IPTABLES" ]; then
  printf '[images] no iptables on this host: the satellite image has none (it then runs only with SATELLITE_FIREWALL=off)\n' >&2
  exit 0
fi
MULTI="$(readlink -f "$IPTABLES")"
mkdir -p "$DEST/usr/sbin"
cp "$MULTI" "$DEST/usr/sbin/"
# The multi-call binary answers to the name it is run by.
for name in iptables iptables-restore iptables-save ip6tables ip6tables-restore ip6tables-save; do
  ln -sf "$(basename "$MULTI")" "$DEST/usr/sbin/$name"
done
# Extensions (-m conntrack, -p tcp, ...) are loaded from the compiled-in directory at run time.
# Real paths only (merged-/usr: /lib is a link into /usr; copying onto an image's /lib link must not
# replace it with a directory).
XTABLES="$(readlink -f "$(dirname "$(ldd "$MULTI" | awk '/libxtables/ { print $3 }')")/xtables")"
mkdir -p "$DEST$XTABLES"
cp -a "$XTABLES/." "$DEST$XTABLES/"
for file in "$MULTI" "$XTABLES"/*.so; do
  ldd "$file" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r lib; do
    case "$(basename "$lib")" in libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*) continue ;; esac
    lib="$(readlink -f "$(dirname "$lib")")/$(basename "$lib")"
    [ -e "$DEST$lib" ] && continue
    mkdir -p "$DEST$(dirname "$lib")"
    cp -L "$lib" "$DEST$lib"
  done
done
