#!/usr/bin/env bash
# Copies images from this host's engine onto other engines (every node of a Swarm), without a
# registry: one `docker save`, then `docker load` into each target in parallel. Image IDs survive
# save/load, which the Swarm backend relies on (it runs images by ID).
#
#   load-images.sh [-i IMAGE]... TARGET...
#     TARGET: anything `docker -H` accepts: unix:///run/dnode2.sock, ssh://root@node2, tcp://10.0.0.2:2375
#     IMAGE:  default boatload/api:latest boatload/satellite:latest boatload/base:latest
set -euo pipefail
images=()
while [ "${1:-}" = "-i" ]; do images+=("$2"); shift 2; done
[ "${#images[@]}" -gt 0 ] || images=(boatload/api:latest boatload/satellite:latest boatload/base:latest)
[ "$#" -gt 0 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
tar="$(mktemp "${TMPDIR:-/tmp}/boatload-images.XXXXXX.tar")"
trap 'rm -f "$tar"' EXIT
docker save "${images[@]}" -o "$tar"
pids=()
for target in "$@"; do
  docker -H "$target" load -q -i "$tar" >/dev/null & pids+=("$!")
done
status=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then echo "[load-images] loading into ${*:$((i + 1)):1} failed" >&2; status=1; fi
done
[ "$status" = 0 ] && echo "[load-images] ${images[*]} loaded into $# engine(s)" >&2
exit "$status"
