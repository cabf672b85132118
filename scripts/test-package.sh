#!/usr/bin/env bash
# Installs the Debian package built by scripts/package.sh on THIS machine and checks it, then
# uninstalls it. Run by hand (as root or with sudo), not in CI: building the package takes two
# release builds, too slow there.
#
#   bash scripts/test-package.sh [PATH.deb]   default: the .deb under <target>/release/bundle/deb/
#
# Checks: `dpkg -i` (then `apt-get -f install` if dependencies are missing); the package lists the
# CLI, the desktop binary, its .desktop entry, its icon, the recipe format reference and the
# examples; `slipway --version`, `slipway validate` and `slipway run` of the installed hello
# example (with a temporary SLIPWAY_HOME); the installed desktop app starts under Xvfb, creates its
# database, shows its window and renders something (polled, at most 60 s); a screenshot is saved
# to target/package/installed-app.png (look at it: the designer, not a blank window); `dpkg -r`
# removes everything. Needs xvfb, xdotool and imagemagick (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

step() { printf '\n==> %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

deb=${1:-}
if [ -z "$deb" ]; then
  target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  deb=$(ls "$target_dir"/release/bundle/deb/*.deb 2>/dev/null | head -1)
fi
[ -f "$deb" ] || fail "no .deb found (run scripts/package.sh first, or pass its path)"
pkg=$(dpkg-deb --field "$deb" Package)
echo "package $pkg from $deb ($(du -h "$deb" | cut -f1))"

missing=()
for p in xvfb xauth xdotool imagemagick; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d)
app_pid=""
cleanup() {
  [ -n "$app_pid" ] && kill -- "-$app_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step "dpkg -i $deb"
if ! $SUDO dpkg -i "$deb"; then
  step "apt-get -f install (missing dependencies)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -f install -y
fi
[ "$(dpkg-query -W -f '${Status}' "$pkg")" = "install ok installed" ] || fail "$pkg is not installed"
dpkg-deb --field "$deb" Depends

step "dpkg -L $pkg"
files=$(dpkg -L "$pkg")
for f in /usr/bin/slipway /usr/bin/slipway-desktop /usr/share/doc/slipway/recipe-format.md \
  /usr/share/slipway/examples/hello.slipway.yaml /usr/share/slipway/examples/web-with-db.slipway.yaml; do
  grep -qx "$f" <<<"$files" || fail "$f is not in the package"
  [ -s "$f" ] || fail "$f is not installed"
  echo "ok $f"
done
desktop=$(grep -E '^/usr/share/applications/.*\.desktop$' <<<"$files") || fail "no .desktop entry"
echo "ok $desktop"
grep -qx 'Exec=slipway-desktop' "$desktop" || fail "$desktop does not start slipway-desktop"
icon=$(sed -n 's/^Icon=//p' "$desktop")
grep -E "^/usr/share/icons/hicolor/.*/apps/$icon\.png$" <<<"$files" || fail "no icon $icon"
command -v desktop-file-validate >/dev/null && desktop-file-validate "$desktop"

step "the CLI on the PATH"
[ "$(command -v slipway)" = /usr/bin/slipway ] || fail "slipway is not /usr/bin/slipway"
slipway --version
slipway validate /usr/share/slipway/examples/hello.slipway.yaml
SLIPWAY_HOME="$work/cli" slipway run /usr/share/slipway/examples/hello.slipway.yaml --keep never \
  || fail "slipway run exited $?"
SLIPWAY_HOME="$work/cli" slipway runs

step "the desktop app under Xvfb"
mkdir -p target/package
shot=target/package/installed-app.png
rm -f "$shot"
export SLIPWAY_HOME="$work/app"
# setsid: the app and its display server in one process group, killed together.
setsid xvfb-run -a --server-args="-screen 0 1600x1000x24" sh -c '
  slipway-desktop > "$SLIPWAY_HOME.log" 2>&1 &
  app=$!
  for _ in $(seq 60); do
    if ! kill -0 "$app" 2>/dev/null; then echo "the app exited" >&2; exit 1; fi
    if [ -f "$SLIPWAY_HOME/slipway.db" ] && xdotool search --name "^Slipway$" >/dev/null 2>&1; then
      import -window root "$1"
      # The designer is drawn when the screen holds more than a handful of colours.
      colours=$(convert "$1" -format %k info:)
      [ "$colours" -gt 64 ] && { echo "window up, $colours colours on screen"; kill "$app"; exit 0; }
    fi
    sleep 1
  done
  echo "no rendered window after 60 s" >&2
  kill "$app"
  exit 1
' sh "$shot" &
app_pid=$!
wait "$app_pid" || { cat "$work/app.log" >&2 || true; fail "the installed app did not come up"; }
app_pid=""
echo "screenshot: $shot"

step "dpkg -r $pkg"
$SUDO dpkg -r "$pkg"
for f in /usr/bin/slipway /usr/bin/slipway-desktop "$desktop"; do
  [ ! -e "$f" ] || fail "$f is still there after dpkg -r"
done
echo
echo "package test passed"
