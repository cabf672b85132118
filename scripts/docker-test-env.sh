#!/usr/bin/env bash
# A Docker Engine for the `docker` cloud's tests, without any registry: starts dockerd when
# nothing answers (there is no init system here), and imports a Debian 12 base image with
# Python 3 built by debootstrap (cached under /var/cache/slipway-test, so reruns take seconds).
#
# Also puts a TLS endpoint in front of the same engine, for the tests of `tcp://` with TLS: a CA,
# a server certificate for 127.0.0.1 and a client certificate made with openssl (Docker's
# ca.pem, cert.pem and key.pem), and scripts/docker-tls-proxy.py on 127.0.0.1 verifying clients
# against that CA (socat cannot: its OpenSSL server refuses resumed sessions when it verifies).
#
#   source scripts/docker-test-env.sh     (test-all.sh does) exports SLIPWAY_TEST_DOCKER_IMAGE,
#                                         SLIPWAY_TEST_DOCKER_TLS (tcp://127.0.0.1:PORT),
#                                         SLIPWAY_TEST_DOCKER_CERTS (the client's directory) and
#                                         SLIPWAY_TEST_DOCKER_WRONG_CA (the same, with another CA)
#                                         and SLIPWAY_TEST_PULL_IMAGE (the image, in a registry)
#   bash scripts/docker-test-env.sh       prepares all that, then prints the exports
#
# Needs root and the Debian packages docker.io, debootstrap, openssl, python3 and docker-registry
# (scripts/install-deps.sh).
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

tls="$cache/docker-tls"
tls_port=${SLIPWAY_TEST_DOCKER_TLS_PORT:-23760}
if [ ! -f "$tls/wrong-ca/key.pem" ]; then
  rm -rf "$tls.tmp"
  mkdir -p "$tls.tmp/client" "$tls.tmp/wrong-ca" "$tls.tmp/server"
  (
    cd "$tls.tmp"
    ossl() { openssl "$@" 2>>openssl.log; }
    for ca in ca other-ca; do
      ossl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=slipway test $ca" \
        -keyout "$ca-key.pem" -out "$ca.pem"
    done
    ossl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server/key.pem -out server.csr
    printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
    ossl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
      -extfile server.ext -out server/cert.pem
    ossl req -newkey rsa:2048 -nodes -subj /CN=slipway-test-client -keyout client/key.pem -out client.csr
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    ossl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
      -extfile client.ext -out client/cert.pem
    cp ca.pem client/ca.pem
    cp client/cert.pem client/key.pem wrong-ca/
    cp other-ca.pem wrong-ca/ca.pem
  ) || {
    echo "error: openssl could not make the test certificates; see $tls.tmp/openssl.log" >&2
    exit 3
  }
  chmod 600 "$tls.tmp"/*/key.pem
  rm -rf "$tls"
  mv "$tls.tmp" "$tls"
fi
if ! (exec 3<>"/dev/tcp/127.0.0.1/$tls_port") 2>/dev/null; then
  echo "starting a TLS endpoint for the engine on 127.0.0.1:$tls_port (log: /var/log/slipway-docker-tls.log)" >&2
  : >/var/log/slipway-docker-tls.log
  nohup python3 "$(dirname "${BASH_SOURCE[0]}")/docker-tls-proxy.py" "$tls_port" \
    "$tls/server/cert.pem" "$tls/server/key.pem" "$tls/ca.pem" /var/run/docker.sock \
    >/var/log/slipway-docker-tls.log 2>&1 &
  for _ in $(seq 1 100); do
    grep -q '^listening' /var/log/slipway-docker-tls.log 2>/dev/null && break
    sleep 0.1
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$tls_port") 2>/dev/null || {
    echo "error: the TLS endpoint did not listen on 127.0.0.1:$tls_port; see /var/log/slipway-docker-tls.log" >&2
    exit 3
  }
fi
# A registry on a loopback address (Debian's docker-registry; the engine trusts 127.0.0.0/8
# without TLS) holding the test image, so that a test can pull it: `docker rmi` of the
# registry's tag, then a run pulls it back (its layers are the base image's, so it is quick).
registry_port=${SLIPWAY_TEST_REGISTRY_PORT:-23761}
SLIPWAY_TEST_PULL_IMAGE="127.0.0.1:$registry_port/slipway-pull-test"
if ! curl -fsS "http://127.0.0.1:$registry_port/v2/" >/dev/null 2>&1; then
  echo "starting a registry on 127.0.0.1:$registry_port (log: /var/log/slipway-registry.log)" >&2
  mkdir -p "$cache/registry"
  cat >"$cache/registry.yml" <<REGISTRY
version: 0.1
storage:
  filesystem:
    rootdirectory: $cache/registry
http:
  addr: 127.0.0.1:$registry_port
REGISTRY
  : >/var/log/slipway-registry.log
  nohup docker-registry serve "$cache/registry.yml" >/var/log/slipway-registry.log 2>&1 &
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$registry_port/v2/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$registry_port/v2/" >/dev/null || {
    echo "error: the registry did not answer on 127.0.0.1:$registry_port; see /var/log/slipway-registry.log" >&2
    exit 3
  }
fi
if ! curl -fsS "http://127.0.0.1:$registry_port/v2/slipway-pull-test/manifests/latest" \
  -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' >/dev/null 2>&1; then
  docker tag "$SLIPWAY_TEST_DOCKER_IMAGE" "$SLIPWAY_TEST_PULL_IMAGE"
  docker push -q "$SLIPWAY_TEST_PULL_IMAGE" >/dev/null
fi

SLIPWAY_TEST_DOCKER_TLS="tcp://127.0.0.1:$tls_port"
SLIPWAY_TEST_DOCKER_CERTS="$tls/client"
SLIPWAY_TEST_DOCKER_WRONG_CA="$tls/wrong-ca"

export SLIPWAY_TEST_DOCKER_IMAGE SLIPWAY_TEST_DOCKER_TLS SLIPWAY_TEST_DOCKER_CERTS \
  SLIPWAY_TEST_DOCKER_WRONG_CA SLIPWAY_TEST_PULL_IMAGE
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  for v in SLIPWAY_TEST_DOCKER_IMAGE SLIPWAY_TEST_DOCKER_TLS SLIPWAY_TEST_DOCKER_CERTS \
    SLIPWAY_TEST_DOCKER_WRONG_CA SLIPWAY_TEST_PULL_IMAGE; do
    echo "export $v=${!v}"
  done
fi
