#!/usr/bin/env bash
# Benchmark of the `docker` cloud: time from `slipway run` to `ready` for 1, 10 and 30 containers
# of a one-step recipe, beside the same work done with the docker CLI in a shell loop:
# `docker network create`, then per container `docker run -d --init` on that network and
# `docker exec` of the step (so the loop pays for the init and a network, as slipway does).
# Each figure is the median of REPEAT runs, the two taken in turns (default 3; 9 for one container, whose half second
# varies most). Prints a table.
#   bash scripts/bench-docker.sh [PATH-TO-slipway]     (default: target/release/slipway)
set -euo pipefail
cd "$(dirname "$0")/.."
slipway=${1:-target/release/slipway}
repeat=${REPEAT:-3}
source scripts/docker-test-env.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SLIPWAY_HOME="$work/home"
"$slipway" clouds add bench docker >/dev/null
now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

slipway_once() { # n: seconds from `slipway run` to its exit at `ready`
  local t0 t1
  t0=$(now)
  "$slipway" run "$work/b$1.yaml" --cloud bench >"$work/run.log" 2>&1 || {
    cat "$work/run.log" >&2
    exit 1
  }
  t1=$(now)
  "$slipway" terminate last >/dev/null 2>&1
  echo "$t1 - $t0" | bc
}

loop_once() { # n: seconds for the same with the docker CLI, one container after the other
  local t0 t1 i
  t0=$(now)
  docker network create slipway-bench >/dev/null
  for i in $(seq "$1"); do
    docker run -d --init --network slipway-bench --name "slipway-bench-$i" "$SLIPWAY_TEST_DOCKER_IMAGE" \
      sh -c 'while :; do sleep 86400 & wait $!; done' >/dev/null
    docker exec "slipway-bench-$i" sh -c 'echo step' >/dev/null
  done
  t1=$(now)
  docker rm -f $(docker ps -aq --filter name=slipway-bench-) >/dev/null
  docker network rm slipway-bench >/dev/null
  echo "$t1 - $t0" | bc
}

rows=()
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
  times=$repeat
  [ "$n" = 1 ] && times=${REPEAT:-9}
  # Taken in turns, so that a change in the machine's load touches both columns alike.
  : >"$work/s" && : >"$work/l"
  for _ in $(seq "$times"); do
    slipway_once "$n" >>"$work/s"
    loop_once "$n" >>"$work/l"
  done
  s=$(median <"$work/s")
  l=$(median <"$work/l")
  rows+=("$(printf '| %2d | %9.2f | %6.2f | %+6.0f %% |' "$n" "$s" "$l" "$(echo "($s - $l) * 100 / $l" | bc -l)")")
done
echo "| n  | slipway s | loop s | overhead |"
echo "|----|-----------|--------|----------|"
printf '%s\n' "${rows[@]}"
