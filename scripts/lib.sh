# Shared preparation for `npm start` and `npm test`: dependencies, a Docker Engine, local images.
# Sourced, not executed. Every function is safe to call again when its work is already done.

BOATLOAD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="$BOATLOAD_ROOT/.run"
mkdir -p "$RUN_DIR"
STARTED_DOCKERD_PID=""

log() { printf '[prepare] %s\n' "$*" >&2; }

# npm dependencies: install from the lockfile when node_modules is missing or older than it. A
# node_modules that is a symbolic link (a git worktree sharing another checkout's) is left alone:
# `npm ci` would empty the directory it points to for every checkout that shares it.
ensure_node_modules() {
  if [ -L "$BOATLOAD_ROOT/node_modules" ]; then
    log "node_modules is a link to $(readlink "$BOATLOAD_ROOT/node_modules"); not reinstalling it"
    return 0
  fi
  if [ ! -d "$BOATLOAD_ROOT/node_modules" ] || [ "$BOATLOAD_ROOT/package-lock.json" -nt "$BOATLOAD_ROOT/node_modules/.package-lock.json" ]; then
    log "installing npm dependencies (npm ci; better-sqlite3 builds from source, ~90 s)"
    (cd "$BOATLOAD_ROOT" && npm ci --no-audit --no-fund) >&2
  fi
}

engine_answers() { docker info >/dev/null 2>&1; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: $*; run as root: apt-get install -y $*"
    return 1
  fi
  log "installing Debian packages: $*"
  if [ -z "${BOATLOAD_APT_UPDATED:-}" ]; then apt-get update -qq >&2; BOATLOAD_APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# A Docker Engine: use the one that answers (DOCKER_HOST or the default socket); otherwise, as root,
# install Debian's docker.io when dockerd is missing and start dockerd, remembering its pid so that
# stop_started_engine stops exactly what we started.
ensure_engine() {
  if engine_answers; then return 0; fi
  if [ -n "${DOCKER_HOST:-}" ]; then
    log "DOCKER_HOST=$DOCKER_HOST does not answer 'docker info'"; return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    log "no Docker Engine answers. Start one, e.g.: sudo dockerd >/var/log/dockerd.log 2>&1 &"
    return 1
  fi
  # docker.io brings dockerd, containerd, runc and the docker CLI (Engine 20.10 on Debian 12).
  if ! command -v dockerd >/dev/null 2>&1; then apt_install docker.io || return 1; fi
  log "starting dockerd (log: $RUN_DIR/dockerd.log)"
  dockerd >"$RUN_DIR/dockerd.log" 2>&1 &
  STARTED_DOCKERD_PID=$!
  echo "$STARTED_DOCKERD_PID" >"$RUN_DIR/dockerd.pid"
  for _ in $(seq 1 100); do
    if engine_answers; then log "dockerd is ready (pid $STARTED_DOCKERD_PID)"; return 0; fi
    if ! kill -0 "$STARTED_DOCKERD_PID" 2>/dev/null; then
      log "dockerd exited; last lines of its log:"; tail -20 "$RUN_DIR/dockerd.log" >&2; return 1
    fi
    sleep 0.2
  done
  log "dockerd did not answer within 20 s"; return 1
}

stop_started_engine() {
  [ -n "$STARTED_DOCKERD_PID" ] || return 0
  log "stopping the dockerd this script started (pid $STARTED_DOCKERD_PID)"
  kill "$STARTED_DOCKERD_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$STARTED_DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
  rm -f "$RUN_DIR/dockerd.pid"
  STARTED_DOCKERD_PID=""
}

# boatload/base:latest, the default image: a busybox userland built locally (no registry here).
ensure_base_image() {
  if [ ! -x /bin/busybox ] || ! /bin/busybox --list 2>/dev/null | grep -qx sh || ! file_is_static /bin/busybox; then
    apt_install busybox-static || return 1
  fi
  bash "$BOATLOAD_ROOT/docker/build-base.sh" boatload/base latest >&2
}

file_is_static() { ! ldd "$1" >/dev/null 2>&1; }

# The dashboard (ui/ built by Vite into ui/dist, served by the API at /): rebuilt when any file under
# ui/ (but the build), the unit-file parser it shares with the API, or the lockfile is newer than the
# last build.
ensure_ui() {
  local built="$BOATLOAD_ROOT/ui/dist/index.html"
  if [ -f "$built" ] && [ ! "$BOATLOAD_ROOT/package-lock.json" -nt "$built" ] \
    && [ ! "$BOATLOAD_ROOT/units/unit-file-parse.ts" -nt "$built" ] \
    && [ -z "$(find "$BOATLOAD_ROOT/ui" -path "$BOATLOAD_ROOT/ui/dist" -prune -o -type f -newer "$built" -print -quit)" ]; then
    return 0
  fi
  log "building the dashboard (npm run build:ui: ui/ -> ui/dist)"
  (cd "$BOATLOAD_ROOT" && npm run --silent build:ui) >&2
}

# Debian's Chromium, for the browser tests (test/ui, driven by playwright-core): installed like the
# engine, as root; Playwright's own browser download cannot work here.
CHROMIUM_PATH=/usr/bin/chromium
ensure_chromium() {
  if [ -x "$CHROMIUM_PATH" ]; then return 0; fi
  apt_install chromium || { log "the browser tests need $CHROMIUM_PATH (Debian's chromium): run as root: apt-get install -y chromium"; return 1; }
  [ -x "$CHROMIUM_PATH" ] || { log "apt-get installed chromium but $CHROMIUM_PATH is missing"; return 1; }
}

# A private PostgreSQL server for the tests (the store's suite and the API on PostgreSQL): Debian's
# `postgresql` package (installed as root when missing), a throwaway cluster initdb'd into a temp
# directory (never the system's default cluster), listening on a free loopback port with a random
# password. Exports BOATLOAD_TEST_DATABASE_URL; stop_started_postgres stops it and removes the directory.
# As root the server runs as the `postgres` user (PostgreSQL refuses to run as root).
STARTED_PG_DIR=""
postgres_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
free_loopback_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
# Debian's postgresql (installed as root when missing): the test suites start servers of their own from it.
ensure_postgres_packages() {
  if [ -n "$(postgres_bindir)" ]; then return 0; fi
  apt_install postgresql || { log "the PostgreSQL tests need Debian's postgresql: run as root: apt-get install -y postgresql"; return 1; }
}
ensure_postgres() {
  if [ -n "$STARTED_PG_DIR" ]; then return 0; fi
  ensure_postgres_packages || return 1
  local bin; bin="$(postgres_bindir)"
  [ -x "$bin/initdb" ] || { log "no initdb under $bin"; return 1; }
  local dir port password as=()
  dir="$(mktemp -d /tmp/boatload-pg.XXXXXX)"
  port="$(free_loopback_port)"
  password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$password" >"$dir/pwfile"
  if [ "$(id -u)" = 0 ]; then chown -R postgres: "$dir"; as=(runuser -u postgres --); fi
  log "starting a private PostgreSQL ($bin) on 127.0.0.1:$port (data: $dir)"
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U boatload --pwfile="$dir/pwfile" --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { log "initdb failed:"; tail -20 "$dir/initdb.log" >&2; return 1; }
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >&2 \
    || { log "PostgreSQL did not start:"; tail -20 "$dir/server.log" >&2; return 1; }
  STARTED_PG_DIR="$dir"
  export BOATLOAD_TEST_DATABASE_URL="postgres://boatload:$password@127.0.0.1:$port/postgres"
}

stop_started_postgres() {
  [ -n "$STARTED_PG_DIR" ] || return 0
  local bin as=(); bin="$(postgres_bindir)"
  if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
  log "stopping the private PostgreSQL ($STARTED_PG_DIR)"
  "${as[@]}" "$bin/pg_ctl" -D "$STARTED_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$STARTED_PG_DIR"
  STARTED_PG_DIR=""
}
