#!/usr/bin/env bash
# Install what is needed, then start the sync server on its embedded SQLite database in ./data,
# seeded with the demo county on first start. Open http://127.0.0.1:8080/ .
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/baoxue/target}"
exec cargo run --release -p baoxue-server -- serve --demo "$@"
