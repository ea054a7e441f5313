#!/usr/bin/env bash
# `npm start`: prepare (dependencies, the dashboard, engine, images), build, then run the API, one satellite for this
# host and the local scheduler in the foreground. Ctrl-C stops everything, including a dockerd we started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BOATLOAD_ROOT"
ensure_node_modules
ensure_ui
ensure_engine
trap stop_started_engine EXIT
ensure_base_image
log "compiling TypeScript"
npx tsc -p tsconfig.json
# Warm capacity for script runs (README, "Warm pool"); BOATLOAD_WARM_POOL= (empty) turns it off.
export BOATLOAD_WARM_POOL="${BOATLOAD_WARM_POOL-boatload/base:latest=2}"
node scripts/run-all.js
