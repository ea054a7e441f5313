#!/usr/bin/env bash
# `npm test`: the same preparation as `npm start`, a type check, then the whole suite on the real engine.
# Extra arguments go to jest. BOATLOAD_JEST_JSON=<file> also writes jest's JSON report there (.ci/run).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BOATLOAD_ROOT"
ensure_node_modules
ensure_engine
trap stop_started_engine EXIT
ensure_base_image
log "compiling TypeScript (type check, and dist/ for the tests that run real processes)"
npx tsc -p tsconfig.json
json_args=()
if [ -n "${BOATLOAD_JEST_JSON:-}" ]; then json_args=(--json "--outputFile=$BOATLOAD_JEST_JSON"); fi
npx jest --runInBand "${json_args[@]}" "$@"
