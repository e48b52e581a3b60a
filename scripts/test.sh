#!/usr/bin/env bash
# Install what the tests need, then run every check CI runs: formatting, clippy, all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test --web
# A target directory outside the clone is a fair cache between CI runs.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/baoxue/target}"
cargo fmt --all --check
# The phone web app the end-to-end phone test opens (tests/phone_web.rs).
bash scripts/build-web.sh
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p baoxue-app --target wasm32-unknown-unknown --all-targets --features web -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"
# The server's end-to-end suites again with the records in PostgreSQL (each test its own
# database on a throwaway server), and two server processes over one database.
bash scripts/with-postgres.sh cargo test --workspace \
  --test server_sync --test authz --test audit --test console --test roster \
  --test api_contract --test server_kill --test tls --test web_app_served \
  --test app_sync --test login_screen --test postgres_two_servers \
  -- --include-ignored 2>&1 | tee -a "$log"
bash scripts/with-postgres.sh cargo test -p baoxue-server --lib on_postgres \
  -- --include-ignored 2>&1 | tee -a "$log"
# The app's store contract again, over IndexedDB in headless Chromium.
CHROMEDRIVER=/usr/bin/chromedriver cargo test -p baoxue-app --target wasm32-unknown-unknown \
  --test web_store 2>&1 | tee -a "$log"
# One closing line for the whole run (cargo prints one per test binary, the last often a
# doc-test binary with nothing in it).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "all tests: %d passed, %d failed\n", p, f }' "$log"
