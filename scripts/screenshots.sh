#!/usr/bin/env bash
# Take a screenshot of every main screen of the desktop app, phone-sized, against a demo server,
# so anyone can look at them: writes screenshots/{login,caseload,student,visit,sync,settings}.png.
# Installs what it needs (webkit, Xvfb, ImageMagick, CJK fonts) and builds the app with the
# desktop feature (~3–10 minutes the first time). `scripts/screenshots.sh caseload` takes one.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --desktop
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/baoxue/target}"
cargo build -p baoxue-server
cargo build -p baoxue-app --features desktop --bin baoxue-app
bin="$CARGO_TARGET_DIR/debug"
work=$(mktemp -d)
out=screenshots
mkdir -p "$out"
cleanup() { kill "${server_pid:-}" "${xvfb_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$bin/baoxue-server" --data-dir "$work/server" demo >/dev/null
"$bin/baoxue-server" --data-dir "$work/server" serve --addr 127.0.0.1:18090 >"$work/server.log" 2>&1 &
server_pid=$!
Xvfb :77 -screen 0 390x800x24 >/dev/null 2>&1 &
xvfb_pid=$!
export DISPLAY=:77
sleep 2

shoot() { # name, then environment for the app
  local name=$1; shift
  env BAOXUE_APP_DIR="$work/app" BAOXUE_SERVER=http://127.0.0.1:18090 BAOXUE_ACCOUNT=teacher01 "$@" \
    "$bin/baoxue-app" >"$work/app-$name.log" 2>&1 &
  local pid=$!
  sleep "${WAIT:-8}"
  import -window root "$out/$name.png"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "$out/$name.png"
}

only=${1:-}
[ -z "$only" ] || [ "$only" = login ] && shoot login
for screen in caseload student visit sync settings; do
  [ -z "$only" ] || [ "$only" = "$screen" ] || continue
  shoot "$screen" BAOXUE_PASSWORD=baoxue2026 BAOXUE_SCREEN="$screen"
done
