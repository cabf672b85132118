#!/usr/bin/env bash
# End-to-end tests of the real desktop app: builds the UI and `slipway-desktop`, makes sure
# tauri-driver is installed, and runs src-tauri/tests/e2e.rs under Xvfb (SLIPWAY_E2E=1).
#
# Debian packages it needs (scripts/install-deps.sh installs them):
#   build-essential pkg-config libwebkit2gtk-4.1-dev libssl-dev libayatana-appindicator3-dev
#   librsvg2-dev libxdo-dev    (to build the Tauri app)
#   webkit2gtk-driver          (WebKitWebDriver, which tauri-driver drives)
#   xvfb xauth                 (xvfb-run: an X display without a screen)
#   dbus gnome-keyring         (a Secret Service for the Clouds page's secrets)
#   at-spi2-core python3-gi gir1.2-atspi-2.0 python3-xlib
#                              (tests/support/desktop.py: the window's close button, native dialogs)
# plus Node.js >= 20 with npm, and Rust (cargo).
#
# Options: UPDATE_EXPECT=1 also refreshes assets/screenshots/desktop.png; arguments are passed to
# the test binary (a test name filters: `bash scripts/e2e.sh scaled`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

# The Clouds page stores secrets in a real Secret Service: run inside a private D-Bus session
# with an unlocked gnome-keyring (scripts/test-all.sh has started one already).
if [ -z "${SLIPWAY_IN_KEYRING_SESSION:-}" ]; then
  export SLIPWAY_IN_KEYRING_SESSION=1
  exec dbus-run-session -- sh -c 'echo slipway-test | XDG_DATA_HOME="$(mktemp -d)" gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec bash "$0" "$@"' "$PWD/scripts/e2e.sh" "$@"
fi
export SLIPWAY_REQUIRE_KEYCHAIN=1

for tool in xvfb-run WebKitWebDriver npm cargo; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "error: $tool is missing (run scripts/install-deps.sh)" >&2
    exit 2
  }
done

step "UI: npm ci && npm run build"
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)

step "cargo build -p slipway-desktop -p slipway-cli (the app with ui/dist embedded, and the slipway CLI that owns its runs)"
cargo build -p slipway-desktop -p slipway-cli --locked

if ! command -v tauri-driver >/dev/null 2>&1; then
  step "cargo install tauri-driver --locked"
  cargo install tauri-driver --locked
fi

step "end-to-end tests under Xvfb"
# One app at a time; a large 24-bit screen so the window (1440x900) fits and screenshots have colour.
SLIPWAY_E2E=1 xvfb-run --auto-servernum --server-args="-screen 0 1600x1000x24" \
  cargo test -p slipway-desktop --locked --test e2e -- --test-threads=1 "$@"
