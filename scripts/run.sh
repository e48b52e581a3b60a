#!/usr/bin/env bash
# Install what is needed, then start the sync server on its embedded SQLite database in ./data,
# seeded with the demo county on first start, serving the console and the phone web app.
# Open http://127.0.0.1:8080/ .
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/baoxue/target}"
# The phone app, served at /app/ (installs the wasm toolchain on first run).
bash scripts/build-web.sh
exec cargo run --release -p baoxue-server -- serve --demo "$@"
