#!/usr/bin/env bash
# Screenshots of the supervisors' console (queue, a flagged visit, a student's file, the monthly
# report) in headless Chromium against the demo county: runs the browser test with
# BAOXUE_CONSOLE_SCREENSHOTS set, writing screenshots/console/*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/baoxue/target}"
BAOXUE_CONSOLE_SCREENSHOTS="$PWD/screenshots/console" cargo test -p baoxue-tests --test browser
ls screenshots/console/*.png
