#!/usr/bin/env bash
# Installs what is needed, builds the desktop app and the `slipway` CLI, and starts the app
# (the designer opens with the example deployments in its library).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
cargo build --release -p slipway-cli -p slipway-desktop
echo "CLI: $(pwd)/target/release/slipway  (try: target/release/slipway run assets/examples/web-with-db.slipway.yaml)"
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "no display found: starting the app under Xvfb" >&2
  exec xvfb-run -a target/release/slipway-desktop "$@"
fi
exec target/release/slipway-desktop "$@"
