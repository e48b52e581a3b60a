#!/usr/bin/env bash
# Screenshots of every main screen of the phone web app, in a 390×800 Android phone's viewport
# (Chromium's mobile emulation), taken by the phone test against a demo server:
# screenshots/web/*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test --web
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/baoxue/target}"
bash scripts/build-web.sh
mkdir -p screenshots/web
BAOXUE_WEB_SCREENSHOTS="$PWD/screenshots/web" cargo test -p baoxue-tests --test phone_web
ls screenshots/web
