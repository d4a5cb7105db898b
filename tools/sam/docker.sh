#!/usr/bin/env bash
# Makes a Docker engine available to `make test-sam`: installs Debian's docker.io where no
# engine is installed (as root; otherwise says what to run), and starts dockerd when none
# answers. The daemon gets no default bridge and no iptables rules (`--bridge=none
# --iptables=false`): every container of the tier runs on the host network
# (`--docker-network host`), so all of its traffic stays on this machine's loopback.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  echo "test-sam: Docker engine answers ($(docker version --format '{{.Server.Version}}'))"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-sam: no Docker engine here; install one (Debian: sudo apt-get install docker.io) and run 'make test-sam' again" >&2
    exit 2
  fi
  echo "test-sam: installing Debian's docker.io (no engine installed)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "test-sam: dockerd is installed but not running; start it (as root: dockerd --bridge=none --iptables=false)" >&2
  exit 2
fi

log="${TMPDIR:-/tmp}/orabridge-dockerd.log"
echo "test-sam: starting dockerd --bridge=none --iptables=false (log: $log)"
nohup dockerd --bridge=none --iptables=false --ip6tables=false >"$log" 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "test-sam: Docker engine answers ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 0.5
done
echo "test-sam: dockerd did not answer within 30 s; see $log" >&2
tail -n 20 "$log" >&2
exit 1
