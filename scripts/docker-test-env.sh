#!/usr/bin/env bash
# A Docker Engine for the `docker` cloud's tests, without any registry: starts dockerd when
# nothing answers (there is no init system here), and imports a Debian 12 base image with
# Python 3 built by debootstrap (cached under /var/cache/slipway-test, so reruns take seconds).
#
#   source scripts/docker-test-env.sh     (test-all.sh does) exports SLIPWAY_TEST_DOCKER_IMAGE
#   bash scripts/docker-test-env.sh       prepares the engine and the image, then prints the export
#
# Needs root and the Debian packages docker.io and debootstrap (scripts/install-deps.sh).
set -euo pipefail

SLIPWAY_TEST_DOCKER_IMAGE=${SLIPWAY_TEST_DOCKER_IMAGE:-slipway-test-base}
cache=${SLIPWAY_TEST_CACHE:-/var/cache/slipway-test}
rootfs="$cache/bookworm-rootfs"

if ! docker info >/dev/null 2>&1; then
  echo "starting dockerd (log: /var/log/slipway-dockerd.log)" >&2
  nohup dockerd >/var/log/slipway-dockerd.log 2>&1 &
  for _ in $(seq 1 120); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || {
    echo "error: dockerd did not come up; see /var/log/slipway-dockerd.log" >&2
    exit 3
  }
fi

if ! docker image inspect "$SLIPWAY_TEST_DOCKER_IMAGE" >/dev/null 2>&1; then
  if [ ! -x "$rootfs/usr/bin/python3" ]; then
    echo "debootstrap: Debian 12 minbase with python3 into $rootfs" >&2
    mkdir -p "$cache"
    rm -rf "$rootfs.tmp"
    debootstrap --variant=minbase --include=python3 bookworm "$rootfs.tmp" >"$cache/debootstrap.log" 2>&1 || {
      echo "error: debootstrap failed; see $cache/debootstrap.log" >&2
      exit 3
    }
    rm -rf "$rootfs"
    mv "$rootfs.tmp" "$rootfs"
  fi
  echo "docker import: $SLIPWAY_TEST_DOCKER_IMAGE" >&2
  tar -C "$rootfs" -c . | docker import - "$SLIPWAY_TEST_DOCKER_IMAGE" >/dev/null
fi

export SLIPWAY_TEST_DOCKER_IMAGE
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "export SLIPWAY_TEST_DOCKER_IMAGE=$SLIPWAY_TEST_DOCKER_IMAGE"
fi
