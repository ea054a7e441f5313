#!/usr/bin/env bash
# Builds the BoatLoad images REPO/api:TAG and REPO/satellite:TAG offline, e.g.
#   bash docker/build.sh boatload latest
# from a staged context: the TypeScript compiled into dist/, production node_modules (a pruned copy
# of this checkout's node_modules: no download, and better-sqlite3's native addon is the one built
# for this host's node), package.json and the users fixture.
#
# BASE_IMAGE=<image> uses that base (any image with node 20 and a compatible glibc, e.g.
# node:20-bookworm-slim where a registry is reachable); otherwise the local boatload/node-base:latest
# is built first (docker/build-node-base.sh: this host's node binary and its libraries).
# Needs node_modules (npm ci) and a Docker Engine (DOCKER_HOST or the default socket).
set -euo pipefail
REPO="${1:-boatload}"
TAG="${2:-latest}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[images] %s\n' "$*" >&2; }

[ -d "$ROOT/node_modules" ] || { log "node_modules is missing: run npm ci first"; exit 1; }
SQLITE_ADDON="$ROOT/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
if [ -z "${BASE_IMAGE:-}" ]; then
  BASE_IMAGE=boatload/node-base:latest
  bash "$ROOT/docker/build-node-base.sh" boatload/node-base latest "$SQLITE_ADDON" >&2
fi

# Skip the build when both images were built from exactly these sources, base and node_modules.
source_hash() {
  (cd "$ROOT" && {
    find api satellite units common docker -type f \( -name '*.ts' -o -name '*.json' -o -name 'Dockerfile.*' -o -name '*.sh' \) | LC_ALL=C sort | xargs sha256sum
    sha256sum package.json package-lock.json data/data.json "$SQLITE_ADDON"
    docker image inspect -f '{{.Id}}' "$BASE_IMAGE"
  } | sha256sum | cut -c1-32)
}
HASH="$(source_hash)"
if [ -z "${BOATLOAD_FORCE_BUILD:-}" ]; then
  up_to_date=1
  for component in api satellite; do
    [ "$(docker image inspect -f '{{ index .Config.Labels "org.boatload.source-hash" }}' "$REPO/$component:$TAG" 2>/dev/null || true)" = "$HASH" ] || up_to_date=0
  done
  if [ "$up_to_date" = 1 ]; then log "$REPO/api:$TAG and $REPO/satellite:$TAG are up to date"; exit 0; fi
fi

STAGE="$(mktemp -d "${TMPDIR:-/tmp}/boatload-images.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT

log "compiling TypeScript into the build context"
(cd "$ROOT" && npx tsc -p docker/tsconfig.build.json --outDir "$STAGE/dist")
cp "$ROOT/package.json" "$ROOT/package-lock.json" "$STAGE/"
mkdir -p "$STAGE/data"
cp "$ROOT/data/data.json" "$STAGE/data/data.json"
bash "$ROOT/docker/stage-iptables.sh" "$STAGE/iptables"

log "pruning a copy of node_modules to production dependencies"
# Its contents, never the directory itself: node_modules may be a link into another checkout, which
# `cp -a` would copy as a link, and the prune below would then strip the other checkout's.
mkdir "$STAGE/node_modules"
cp -a "$ROOT/node_modules/." "$STAGE/node_modules/"
[ ! -L "$STAGE/node_modules" ] || { log "refusing to prune a linked node_modules"; exit 1; }
(cd "$STAGE" && npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error >/dev/null)
# Only the compiled addon of better-sqlite3 is needed at run time (bindings looks in build/Release).
rm -rf "$STAGE/node_modules/better-sqlite3/deps" "$STAGE/node_modules/better-sqlite3/src" \
  "$STAGE/node_modules/better-sqlite3/build/deps" "$STAGE/node_modules/better-sqlite3/build/Release/obj" \
  "$STAGE/node_modules/better-sqlite3/build/Release/obj.target" "$STAGE/node_modules/better-sqlite3/build/Release/.deps"
rm -f "$STAGE"/node_modules/better-sqlite3/build/Release/*.a "$STAGE/node_modules/better-sqlite3/build/Release/test_extension.node"
rm -f "$STAGE/package-lock.json"

# The classic builder: it uses a local FROM image as it is, never asking a registry.
for component in api satellite; do
  log "building $REPO/$component:$TAG (base $BASE_IMAGE)"
  # (-q: the classic builder's deprecation notice and step log are noise here.)
  DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --label "org.boatload.revision=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --label "org.boatload.source-hash=$HASH" \
    -f "$ROOT/docker/Dockerfile.$component" -t "$REPO/$component:$TAG" "$STAGE" 2>&1 >/dev/null | grep -v -e DEPRECATED -e 'legacy builder' -e BuildKit -e '^ *environment-variable' -e '^$' >&2 || true
  docker image inspect "$REPO/$component:$TAG" >/dev/null
done
# Both images must start their entry point's dependencies (a missing library or module fails here).
docker run --rm --network none --entrypoint node "$REPO/api:$TAG" -e "require('/app/node_modules/better-sqlite3'); require('/app/node_modules/dockerode')" >&2
if command -v iptables >/dev/null 2>&1; then docker run --rm --network none --entrypoint /usr/sbin/iptables "$REPO/satellite:$TAG" --version >/dev/null; fi
log "built $REPO/api:$TAG and $REPO/satellite:$TAG"
