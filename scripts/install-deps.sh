#!/usr/bin/env bash
# Installs what Slipway needs on a fresh Debian/Ubuntu machine (as root, or with sudo):
# the Rust toolchain, Node.js, the libraries Tauri builds against, and the test tools.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

PACKAGES=(
  build-essential pkg-config curl ca-certificates git python3
  libwebkit2gtk-4.1-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev
  xvfb xauth webkit2gtk-driver
  at-spi2-core python3-gi gir1.2-atspi-2.0 python3-xlib
  libdbus-1-dev gnome-keyring dbus dbus-x11 libsecret-tools
  openssh-server openssh-client
  docker.io debootstrap podman catatonit socat openssl docker-registry
  python3-venv
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] || curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v node >/dev/null 2>&1 || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "Node.js 20 or newer is needed (https://nodejs.org); installing Debian's nodejs/npm as a fallback" >&2
  $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi

# moto's EC2 server for the ec2 driver's tests (SLIPWAY_MOTO points the tests at this venv).
MOTO_VENV=${SLIPWAY_MOTO:-/opt/slipway-moto}
if [ ! -x "$MOTO_VENV/bin/moto_server" ]; then
  echo "installing moto[server] into $MOTO_VENV"
  $SUDO python3 -m venv "$MOTO_VENV"
  # Pinned: the tests rely on its validation switches and its answers.
  $SUDO "$MOTO_VENV/bin/pip" install -q 'moto[server]==5.2.5' 'boto3==1.44.8'
fi
