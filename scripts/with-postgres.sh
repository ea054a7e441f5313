#!/usr/bin/env bash
# Runs a command with a private PostgreSQL server for it (BOATLOAD_TEST_DATABASE_URL set, the server
# stopped afterwards), e.g. `bash scripts/with-postgres.sh npx jest --runInBand test/api/store-dialects.test.ts`.
# `npm test` starts its own; this is for running single test files.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
trap stop_started_postgres EXIT
ensure_postgres
status=0
"$@" || status=$?
exit "$status"
