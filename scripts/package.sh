#!/usr/bin/env bash
# Builds the Debian package of Slipway with the Tauri bundler (the npm Tauri CLI of ui/, never
# `cargo install tauri-cli`): the desktop app (/usr/bin/slipway-desktop, its icons and .desktop
# entry), the `slipway` CLI (/usr/bin/slipway), the recipe format reference
# (/usr/share/doc/slipway/recipe-format.md) and the examples (/usr/share/slipway/examples/).
# What goes in the package, and its dependencies, are declared in tauri.conf.json > bundle.
#
#   bash scripts/package.sh [ARGS...]     ARGS go to `tauri build` (e.g. --config overlay.json)
#
# Prints the path of the .deb on its last line. Honours CARGO_TARGET_DIR. Two release builds:
# this takes a while on a small machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*" >&2; }

step "UI dependencies: npm ci"
(cd ui && npm ci --no-audit --no-fund --loglevel=error) >&2

step "cargo build --release -p slipway-cli"
cargo build --release -p slipway-cli --locked

# Wherever cargo puts its output, the bundler's `files` mapping reads the CLI from one fixed path
# ("/usr/bin/slipway": "../target/package/slipway", relative to src-tauri/).
target_dir=$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
mkdir -p target/package
install -m 0755 "$target_dir/release/slipway" target/package/slipway

step "tauri build --bundles deb (builds the UI and slipway-desktop in release, then the .deb)"
rm -f "$target_dir"/release/bundle/deb/*.deb
(cd ui && npm run --silent tauri -- build --bundles deb "$@" -- --locked) >&2

deb=$(ls "$target_dir"/release/bundle/deb/*.deb)
step "package"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p' >&2
echo "$deb"
