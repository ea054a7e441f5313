#!/usr/bin/env bash
# Deploys BoatLoad on a Docker Swarm, from a manager (DOCKER_HOST may name a remote manager's engine).
#
#   deploy-swarm.sh satellites   the satellite as a global service: one on every node, now and later,
#                                with the node's Docker socket mounted, in the node's network namespace
#                                (it listens on the node's port 8001) with CAP_NET_ADMIN: it owns the
#                                node's packet-filter rules of the network policy (SATELLITE_FIREWALL)
#   deploy-swarm.sh api          the API as a one-replica service on the node labelled boatload.api=true
#                                (the manager this runs against unless one is labelled already), its
#                                store in that node's volume boatload-data, port 8000 published there,
#                                BOATLOAD_BACKEND=swarm driving the Swarm through the satellite on that
#                                node (BOATLOAD_SWARM_MANAGER_SATELLITE): the API mounts no Docker socket
#                                With API_REPLICAS=N (N > 1; BOATLOAD_DATABASE_URL in API_ENV required):
#                                N replicas on one PostgreSQL database, at most one per node, on the
#                                nodes labelled boatload.api=true (at least N must be), each publishing
#                                port 8000 on its own node, all driving the Swarm through the satellite
#                                of the manager this runs against
#   deploy-swarm.sh all          both
#   deploy-swarm.sh remove       removes both services (the secret and the volume stay)
#
# The shared satellite secret becomes the Swarm secret boatload-satellite-secret (from
# BOATLOAD_SECRET_FILE, or 32 random bytes when the secret does not exist yet). Both services read it
# from /run/secrets/satellite.secret; nothing is written on the hosts.
#
# Environment: REPO/TAG (images, default boatload/latest; they must be on every node:
# docker/load-images.sh, or a registry), SATELLITE_PORT (8001), API_PORT (8000),
# DOCKER_SOCK (the engine socket on each node, default /var/run/docker.sock; a Swarm template such as
# /run/{{.Node.Hostname}}.sock works too), SATELLITE_SCRIPT_DIR (a host directory, existing on every
# node, that each satellite mounts at the same path for the warm pool's members (BOATLOAD_WARM_POOL);
# a Swarm template such as /var/lib/boatload-scripts/{{.Node.Hostname}} works too; unset: scripts are
# copied, no warm pool), SATELLITE_RESTART_DELAY (2s), API_ENV (extra
# "NAME=value" words for the API service), API_REPLICAS (1), SATELLITE_ENV (likewise for the satellites, e.g.
# "BOATLOAD_EGRESS_ALLOW=10.1.0.0/16 BOATLOAD_HOST_PORTS=20000-20999", as the API's), BOATLOAD_SECRET_FILE, ADMINHASH (required for the API:
# the admin's password hash from `npm run hash-password -- 'a password'`; the API refuses to listen
# on the node's address while the admin has the default password).
set -euo pipefail
REPO="${REPO:-boatload}"
TAG="${TAG:-latest}"
SATELLITE_PORT="${SATELLITE_PORT:-8001}"
API_PORT="${API_PORT:-8000}"
DOCKER_SOCK="${DOCKER_SOCK:-/var/run/docker.sock}"
SATELLITE_RESTART_DELAY="${SATELLITE_RESTART_DELAY:-2s}"
API_REPLICAS="${API_REPLICAS:-1}"
SECRET=boatload-satellite-secret
log() { printf '[deploy] %s\n' "$*" >&2; }

ensure_secret() {
  if docker secret inspect "$SECRET" >/dev/null 2>&1; then return 0; fi
  if [ -n "${BOATLOAD_SECRET_FILE:-}" ]; then
    docker secret create --label boatload.component=secret "$SECRET" "$BOATLOAD_SECRET_FILE" >/dev/null
  else
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | docker secret create --label boatload.component=secret "$SECRET" - >/dev/null
  fi
  log "created the Swarm secret $SECRET"
}

# The image by its ID when the manager has it: Swarm then starts tasks from the local image without
# trying a registry first (it skips the pull only for IDs and digests); `docker load` keeps IDs, so
# every node that loaded the same image has it under that ID. Otherwise the tag (a registry pulls it).
image_ref() {
  docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || echo "$1"
}

remove_service() { docker service rm "$1" >/dev/null 2>&1 || true; }

deploy_satellites() {
  ensure_secret
  remove_service boatload-satellite
  local extra=() word
  for word in ${SATELLITE_ENV:-}; do extra+=(--env "$word"); done
  # The warm pool's members bind-mount their directory from the host: the satellite must see it at
  # the path the host's engine knows (the same path inside and outside).
  local scripts=()
  if [ -n "${SATELLITE_SCRIPT_DIR:-}" ]; then
    scripts=(--mount "type=bind,source=$SATELLITE_SCRIPT_DIR,target=$SATELLITE_SCRIPT_DIR" --env "SATELLITE_SCRIPT_DIR=$SATELLITE_SCRIPT_DIR")
  fi
  # --no-resolve-image: no registry is asked; --endpoint-mode dnsrr and the host's network: no
  # IPVS/ingress mesh is needed, each node's satellite answers on that node's own address.
  # --network host and NET_ADMIN: the satellite writes the node's iptables rules (INPUT, DOCKER-USER)
  # that keep users' `internet` containers (docker_gwbridge) off the nodes, metadata and private ranges.
  docker service create --detach --quiet --name boatload-satellite --mode global \
    --label boatload.component=satellite --label "boatload.image=$REPO/satellite:$TAG" \
    --no-resolve-image --endpoint-mode dnsrr \
    --network host --cap-add NET_ADMIN \
    --mount "type=bind,source=$DOCKER_SOCK,target=/var/run/docker.sock" \
    --secret "source=$SECRET,target=satellite.secret,mode=0400" \
    --env SATELLITE_SECRET_FILE=/run/secrets/satellite.secret \
    --env SATELLITE_HOST=0.0.0.0 \
    --env "SATELLITE_PORT=$SATELLITE_PORT" \
    "${extra[@]}" \
    --env SATELLITE_SWARM_PROXY=on \
    "${scripts[@]}" \
    --restart-condition any --restart-delay "$SATELLITE_RESTART_DELAY" \
    --stop-grace-period 5s \
    "$(image_ref "$REPO/satellite:$TAG")" >/dev/null
  # SATELLITE_SWARM_PROXY=on: the API drives Swarm through the satellite of its (manager) node, for the
  # swarm backend's calls only; on a worker the engine itself refuses them.
  log "service boatload-satellite: global, port $SATELLITE_PORT on every node (host network, NET_ADMIN)"
}

require_adminhash() {
  if [ -z "${ADMINHASH:-}" ]; then
    log "ADMINHASH is required: the API refuses to listen on the node's address while admin has the default password"
    log "make one with: npm run hash-password -- 'a new password'   then: ADMINHASH='pbkdf2_sha256\$...' $0 api"
    exit 2
  fi
}

# Several replicas share nothing but PostgreSQL: each on a node of its own (one host port 8000 a node).
check_replicas() {
  [[ "$API_REPLICAS" =~ ^[1-9][0-9]*$ ]] || { log "API_REPLICAS must be a positive number, got '$API_REPLICAS'"; exit 2; }
  [ "$API_REPLICAS" -gt 1 ] || return 0
  case " ${API_ENV:-} " in
    *" BOATLOAD_DATABASE_URL=postgres"*) ;;
    *) log "API_REPLICAS=$API_REPLICAS needs API_ENV=\"BOATLOAD_DATABASE_URL=postgres://...\": on SQLite each replica would keep a store of its own"; exit 2 ;;
  esac
  local labelled
  labelled="$(docker node ls -q --filter node.label=boatload.api=true | wc -l)"
  if [ "$labelled" -lt "$API_REPLICAS" ]; then
    log "API_REPLICAS=$API_REPLICAS needs as many nodes labelled boatload.api=true (one replica a node); $labelled are:"
    log "  docker node update --label-add boatload.api=true <node>"
    exit 2
  fi
}

deploy_api() {
  require_adminhash
  check_replicas
  ensure_secret
  local labelled
  labelled="$(docker node ls -q --filter node.label=boatload.api=true | head -1)"
  if [ -z "$labelled" ]; then
    labelled="$(docker info -f '{{.Swarm.NodeID}}')"
    docker node update --label-add boatload.api=true "$labelled" >/dev/null
  fi
  remove_service boatload-api
  # The satellite on a manager forwards the Swarm calls (every replica's): the labelled node's with one
  # replica (the API's own node), else the satellite of the manager this script runs against, for all
  # replicas (one URL: that manager stays a single point for the replicas' Swarm calls).
  local manager_addr
  if [ "$API_REPLICAS" = 1 ]; then
    manager_addr="$(docker node inspect -f '{{.Status.Addr}}' "$labelled")"
  else
    manager_addr="$(docker node inspect -f '{{.Status.Addr}}' "$(docker info -f '{{.Swarm.NodeID}}')")"
  fi
  local extra=() word
  for word in ${API_ENV:-}; do extra+=(--env "$word"); done
  docker service create --detach --quiet --name boatload-api --replicas "$API_REPLICAS" --replicas-max-per-node 1 \
    --label boatload.component=api --label "boatload.image=$REPO/api:$TAG" \
    --constraint node.labels.boatload.api==true \
    --no-resolve-image --endpoint-mode dnsrr \
    --publish "mode=host,target=8000,published=$API_PORT,protocol=tcp" \
    --mount type=volume,source=boatload-data,target=/var/lib/boatload \
    --secret "source=$SECRET,target=satellite.secret,mode=0400" \
    --env BOATLOAD_BACKEND=swarm \
    --env "BOATLOAD_SWARM_MANAGER_SATELLITE=http://$manager_addr:$SATELLITE_PORT" \
    --env BOATLOAD_SWARM_SATELLITE_PORT="$SATELLITE_PORT" \
    --env SATELLITE_SECRET_FILE=/run/secrets/satellite.secret \
    --env BOATLOAD_FLEET_SOCKET=off \
    --env "ADMINHASH=$ADMINHASH" \
    "${extra[@]}" \
    --restart-condition any --restart-delay 2s \
    "$(image_ref "$REPO/api:$TAG")" >/dev/null
  if [ "$API_REPLICAS" = 1 ]; then
    log "service boatload-api: on node $labelled (label boatload.api=true), port $API_PORT, Swarm through the satellite at $manager_addr:$SATELLITE_PORT"
  else
    log "service boatload-api: $API_REPLICAS replicas on the nodes labelled boatload.api=true (one a node), port $API_PORT on each, Swarm through the satellite at $manager_addr:$SATELLITE_PORT"
  fi
}

case "${1:-}" in
  satellites) deploy_satellites ;;
  api) deploy_api ;;
  all) require_adminhash; check_replicas; deploy_satellites; deploy_api ;;
  remove) remove_service boatload-api; remove_service boatload-satellite ;;
  *) sed -n '2,29p' "$0" >&2; exit 2 ;;
esac
