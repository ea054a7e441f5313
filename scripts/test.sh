#!/usr/bin/env bash
# `npm test`: the same preparation as `npm start` (the dashboard built), Debian's Chromium for the
# browser tests, lint (a finding fails the run), a type check, a private PostgreSQL server (its URL in
# BOATLOAD_TEST_DATABASE_URL, stopped afterwards), then the whole suite on the real engine.
# Extra arguments go to jest. BOATLOAD_JEST_JSON=<file> also writes jest's JSON report there (.ci/run).
# As root and without arguments, the cluster suite runs afterwards (BOATLOAD_CLUSTER_TESTS=off skips it).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BOATLOAD_ROOT"
# The cluster suite's report sits next to the main one (scripts/ci-summary.js sums both); never an old one.
cluster_json=""
if [ -n "${BOATLOAD_JEST_JSON:-}" ]; then cluster_json="${BOATLOAD_JEST_JSON%.json}.cluster.json"; rm -f "$cluster_json"; fi
ensure_node_modules
# The type check (which also builds dist/, for the tests that run real processes) runs on the second
# core while Chromium, the dashboard, lint, the engine, the base image and PostgreSQL are prepared:
# each of tsc and ESLint is one busy thread. Its output is shown when it ends; a failure stops the run.
log "compiling TypeScript in the background (type check, and dist/; log: $RUN_DIR/tsc.log)"
node_modules/.bin/tsc -p tsconfig.json >"$RUN_DIR/tsc.log" 2>&1 &
tsc_pid=$!
stop_tsc() { if [ -n "$tsc_pid" ]; then kill "$tsc_pid" 2>/dev/null || true; fi; }
trap stop_tsc EXIT
ensure_chromium
ensure_ui
log "linting (npm run lint: ESLint with typescript-eslint, eslint.config.mjs)"
npx eslint .
ensure_engine
trap 'stop_tsc; stop_started_postgres; stop_started_engine' EXIT
ensure_base_image
ensure_postgres
log "waiting for the TypeScript compile"
tsc_status=0
wait "$tsc_pid" || tsc_status=$?
tsc_pid=""
cat "$RUN_DIR/tsc.log" >&2
if [ "$tsc_status" != 0 ]; then log "tsc failed (exit $tsc_status)"; exit "$tsc_status"; fi
json_args=()
if [ -n "${BOATLOAD_JEST_JSON:-}" ]; then json_args=(--json "--outputFile=$BOATLOAD_JEST_JSON"); fi
status=0
# The cluster suite (several engines, a real Swarm: scripts/test-cluster.sh) runs when running as root
# with no jest arguments (BOATLOAD_CLUSTER_TESTS=off skips it), beside the main suite: its engines live
# in network namespaces of their own and both suites spend most of their time waiting on engines, so
# together they take about the longer one's time, not the sum. Its output is shown when it ends.
cluster_pid=""
if [ "$(id -u)" = 0 ] && [ "$#" = 0 ] && [ "${BOATLOAD_CLUSTER_TESTS:-on}" != off ]; then
  log "starting the cluster suite beside the main suite (npm run test:cluster; log: $RUN_DIR/cluster.log)"
  # In a session of its own, so that an interrupted run stops its whole tree (its jest too, whose end
  # the script's own trap would otherwise wait for) and the script still tears its cluster down.
  BOATLOAD_CLUSTER_JEST_JSON="$cluster_json" setsid bash "$BOATLOAD_ROOT/scripts/test-cluster.sh" >"$RUN_DIR/cluster.log" 2>&1 &
  cluster_pid=$!
  trap 'stop_tsc; if [ -n "$cluster_pid" ]; then kill -TERM -- "-$cluster_pid" 2>/dev/null || true; wait "$cluster_pid" 2>/dev/null || true; fi; stop_started_postgres; stop_started_engine' EXIT
fi
npx jest --runInBand "${json_args[@]}" "$@" || status=$?
if [ -n "$cluster_pid" ]; then
  log "waiting for the cluster suite"
  cluster_status=0
  wait "$cluster_pid" || cluster_status=$?
  cluster_pid=""
  cat "$RUN_DIR/cluster.log" >&2
  if [ "$cluster_status" != 0 ]; then log "the cluster suite failed (exit $cluster_status)"; status=$cluster_status; fi
fi
exit "$status"
