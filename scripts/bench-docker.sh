#!/usr/bin/env bash
# Benchmark of the `docker` cloud: time from `slipway run` to `ready` for 1, 10 and 30 containers
# of a one-step recipe, beside `docker run -d` + `docker exec` of the same step in a shell loop.
#   bash scripts/bench-docker.sh [PATH-TO-slipway]     (default: target/release/slipway)
set -euo pipefail
cd "$(dirname "$0")/.."
slipway=${1:-target/release/slipway}
source scripts/docker-test-env.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SLIPWAY_HOME="$work/home"
"$slipway" clouds add bench docker >/dev/null
now() { date +%s.%N; }
for n in 1 10 30; do
  cat >"$work/b$n.yaml" <<YAML
slipway: 1
name: bench$n
images:
  base:
    clouds: { docker: { image: $SLIPWAY_TEST_DOCKER_IMAGE } }
components:
  one:
    image: base
    recipes:
      deployment: echo "step \$SLIPWAY_INDEX"
deployment:
  keep_running: always
  nodes:
    n: { component: one, multiplicity: $n }
YAML
  t0=$(now)
  "$slipway" run "$work/b$n.yaml" --cloud bench >/dev/null
  t1=$(now)
  "$slipway" terminate last >/dev/null 2>&1
  docker network create slipway-bench >/dev/null
  t2=$(now)
  for i in $(seq "$n"); do
    docker run -d --init --network slipway-bench --name "slipway-bench-$i" "$SLIPWAY_TEST_DOCKER_IMAGE" \
      sh -c 'while :; do sleep 86400 & wait $!; done' >/dev/null
    docker exec "slipway-bench-$i" sh -c 'echo step' >/dev/null
  done
  t3=$(now)
  docker rm -f $(docker ps -aq --filter name=slipway-bench-) >/dev/null
  docker network rm slipway-bench >/dev/null
  printf '%3d containers: slipway run to ready %6.2f s   docker run + exec loop %6.2f s\n' \
    "$n" "$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)"
done
