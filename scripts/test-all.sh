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

step "UI dependencies"
(cd ui && npm ci --no-audit --no-fund --loglevel=error)

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "UI type check and unit tests"
(cd ui && npm run typecheck && npm test)

if [ -f scripts/e2e.sh ]; then
  step "desktop end-to-end tests (real app, tauri-driver, Xvfb)"
  bash scripts/e2e.sh
fi
echo
echo "all tests passed"
