#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine: installs Debian's docker.io when dockerd is
# missing, starts dockerd when it is not running, and waits until it answers.
set -euo pipefail

log() { printf 'kiln setup: %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then exit 0; fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then log "dockerd is missing and this is not root: install docker.io and start it"; exit 1; fi
  log "installing the Docker engine (Debian package docker.io)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io iptables >/dev/null
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  log "starting dockerd"
  if [ "$(id -u)" != 0 ]; then log "dockerd is not running and this is not root: start it (sudo dockerd)"; exit 1; fi
  setsid nohup dockerd >/var/log/kiln-dockerd.log 2>&1 < /dev/null &
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  sleep 0.5
done
log "dockerd did not answer within 30 s; see /var/log/kiln-dockerd.log"
tail -n 20 /var/log/kiln-dockerd.log >&2 || true
exit 1
