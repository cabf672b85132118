#!/usr/bin/env bash
# Podman's Docker-compatible API for the `docker` cloud's tests, without any registry: writes a
# containers.conf these machines need (runc, cgroupfs, ulimits under the hard limits here: Podman's
# defaults of nofile=1048576 and nproc=4194304 make runc fail with "error setting rlimit"), starts
# `podman system service` on unix:///run/slipway-podman.sock when nothing answers there (no init
# system runs services here), and imports the debootstrap rootfs of scripts/docker-test-env.sh.
#
#   source scripts/podman-test-env.sh    exports SLIPWAY_TEST_PODMAN_SOCKET and CONTAINERS_CONF
#
# Needs root and the Debian packages podman, catatonit (the init of --init) and debootstrap.
set -euo pipefail

cache=${SLIPWAY_TEST_CACHE:-/var/cache/slipway-test}
rootfs="$cache/bookworm-rootfs"
image=${SLIPWAY_TEST_DOCKER_IMAGE:-slipway-test-base}
SLIPWAY_TEST_PODMAN_SOCKET=${SLIPWAY_TEST_PODMAN_SOCKET:-/run/slipway-podman.sock}
export CONTAINERS_CONF="$cache/podman/containers.conf"
mkdir -p "$cache/podman"
# Through the compat API, containers start only with nofile at exactly the hard limit; nproc
# stays at or under it.
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[ "$nproc" = unlimited ] || [ "$nproc" -gt 8192 ] && nproc=8192
cat >"$CONTAINERS_CONF.tmp" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
mv "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"

ping() { curl -sf --unix-socket "$SLIPWAY_TEST_PODMAN_SOCKET" http://d/_ping >/dev/null 2>&1; }
if ! ping; then
  echo "starting podman system service (log: /var/log/slipway-podman.log)" >&2
  rm -f "$SLIPWAY_TEST_PODMAN_SOCKET"
  nohup podman system service --time=0 "unix://$SLIPWAY_TEST_PODMAN_SOCKET" >/var/log/slipway-podman.log 2>&1 &
  for _ in $(seq 1 60); do ping && break; sleep 0.5; done
  ping || { echo "error: podman system service did not come up; see /var/log/slipway-podman.log" >&2; exit 3; }
fi

if ! podman image exists "$image"; then
  [ -x "$rootfs/usr/bin/python3" ] || { echo "error: no rootfs at $rootfs: source scripts/docker-test-env.sh first" >&2; exit 3; }
  echo "podman import: $image" >&2
  tar -C "$rootfs" -c . | podman import - "$image" >/dev/null
fi
export SLIPWAY_TEST_PODMAN_SOCKET
