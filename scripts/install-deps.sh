#!/usr/bin/env bash
# Install what Baoxue needs on a fresh Debian machine. Idempotent and quiet when everything is
# already there, so the run and test commands can always call it first.
#
#   scripts/install-deps.sh            # build tools for the server and the core
#   scripts/install-deps.sh --test     # plus what the tests need (browser, PostgreSQL)
#   scripts/install-deps.sh --desktop  # plus the desktop shell's libraries (webkit)
#   scripts/install-deps.sh --web      # plus the web app's toolchain (wasm32 target,
#                                      # wasm-bindgen-cli at the version in Cargo.lock, clang)
set -euo pipefail

want=(build-essential pkg-config ca-certificates curl libssl-dev fonts-noto-cjk) # the font: the server embeds it in PDFs
for arg in "$@"; do
  case "$arg" in
    --test) want+=(chromium chromium-driver postgresql python3) ;; # the console's browser tests; the PostgreSQL engine's
    --web) want+=(clang) ;; # zstd's C code, built for wasm32
    --desktop) want+=(libwebkit2gtk-4.1-dev libxdo-dev libssl-dev xvfb xauth imagemagick fonts-noto-cjk) ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  # Debian 13 packages rustup; older releases need the installer from rustup.rs.
  echo "installing the Rust toolchain (rustup)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq rustup
  rustup default stable
fi

for arg in "$@"; do
  if [ "$arg" = --web ]; then
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
      || rustup target add wasm32-unknown-unknown
    # The CLI must be exactly the version of the wasm-bindgen crate the app links.
    v=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$(dirname "$0")/../Cargo.lock")
    if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$v" ]; then
      echo "installing wasm-bindgen-cli $v (a few minutes, once)"
      # Not --locked: one of its locked dependency versions is not served by the registry here.
      cargo install -q wasm-bindgen-cli --version "$v"
    fi
  fi
done
