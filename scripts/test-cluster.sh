#!/usr/bin/env bash
# `npm run test:cluster`: the cluster suite. The same preparation as `npm test` (dependencies, an
# engine, the base image), then the api and satellite images, then jest on test/cluster: each file
# brings up several real Docker engines in network namespaces with a Swarm across them
# (test/cluster/cluster.sh) and tears them down again. Needs root. Extra arguments go to jest.
# BOATLOAD_CLUSTER_JEST_JSON=<file> also writes jest's JSON report there (scripts/test.sh, .ci/run).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BOATLOAD_ROOT"
if [ "$(id -u)" != 0 ]; then
  log "the cluster suite needs root (network namespaces and one Docker engine per node)"
  exit 1
fi
# One cluster suite at a time on this machine (the nodes' names and addresses are fixed): wait for
# another run to finish rather than tearing its cluster down.
exec 9>/run/boatload-cluster.lock
if ! flock -n 9; then
  log "another cluster suite is running; waiting for it (at most 30 min)"
  flock -w 1800 9 || { log "gave up waiting for the other cluster suite"; exit 1; }
fi
ensure_node_modules
ensure_engine
# Whatever happens (a failure, Ctrl-C), no node, namespace or engine of the suite outlives it.
cleanup() {
  bash "$BOATLOAD_ROOT/test/cluster/cluster.sh" down >/dev/null 2>&1 || true
  stop_started_engine
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ensure_base_image
if ! command -v ip >/dev/null 2>&1 || ! command -v unshare >/dev/null 2>&1; then apt_install iproute2 util-linux; fi
# test/cluster/api-replicas.test.ts starts a PostgreSQL server of its own on the nodes' bridge.
ensure_postgres_packages
log "building the api and satellite images (docker/build.sh; skipped when up to date)"
bash docker/build.sh boatload latest
json_args=()
if [ -n "${BOATLOAD_CLUSTER_JEST_JSON:-}" ]; then json_args=(--json "--outputFile=$BOATLOAD_CLUSTER_JEST_JSON"); fi
npx jest -c jest.cluster.config.js --runInBand "${json_args[@]}" "$@"
