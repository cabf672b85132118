#!/usr/bin/env bash
# Installs what is needed, then runs the whole test suite: formatting, lints, Rust tests (real
# SQLite, real local processes), the UI's type check and unit tests, and the desktop app's
# end-to-end tests under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }

# The keychain tests run against a real Secret Service: unless one is already reachable, rerun
# this script inside a private D-Bus session with an unlocked gnome-keyring. The keychain tests
# skip when no keychain answers; SLIPWAY_REQUIRE_KEYCHAIN=1 turns that skip into a failure.
if [ -z "${SLIPWAY_IN_KEYRING_SESSION:-}" ]; then
  export SLIPWAY_IN_KEYRING_SESSION=1
  exec dbus-run-session -- sh -c 'echo slipway-test | XDG_DATA_HOME="$(mktemp -d)" gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec bash "$0"' "$PWD/scripts/test-all.sh"
fi
export SLIPWAY_REQUIRE_KEYCHAIN=1

# The `docker` cloud's tests run against a real Docker Engine with a locally built image; they
# skip when no engine answers, and SLIPWAY_REQUIRE_DOCKER=1 turns that skip into a failure.
step "Docker Engine and test image (scripts/docker-test-env.sh)"
# shellcheck source=scripts/docker-test-env.sh
source scripts/docker-test-env.sh
export SLIPWAY_REQUIRE_DOCKER=1
step "Podman's Docker-compatible API and the same image (scripts/podman-test-env.sh)"
# shellcheck source=scripts/podman-test-env.sh
source scripts/podman-test-env.sh

step "UI dependencies"
(cd ui && npm ci --no-audit --no-fund --loglevel=error)

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

# `--workspace` as above, with only the docker tests selected: `-p` would resolve the crates'
# features for fewer packages than the whole workspace, and so build everything again.
# (slipway-engine's own `engine` test comes along; it takes seconds.)
step "the docker cloud's tests again, against Podman (DOCKER_HOST=$SLIPWAY_TEST_PODMAN_SOCKET)"
DOCKER_HOST="unix://$SLIPWAY_TEST_PODMAN_SOCKET" cargo test --workspace --locked --test engine --test run_docker

step "UI type check and unit tests"
(cd ui && npm run typecheck && npm test)

if [ -f scripts/e2e.sh ]; then
  step "desktop end-to-end tests (real app, tauri-driver, Xvfb)"
  bash scripts/e2e.sh
fi
echo
echo "all tests passed"
