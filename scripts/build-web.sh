#!/usr/bin/env bash
# Build the field app as a web app into app/web/dist, which `baoxue-server serve` serves at
# /app/ (see README, "The phone app"). Installs its toolchain first (wasm32 target,
# wasm-bindgen-cli at the version in Cargo.lock, clang).
#
# dist/index.html and dist/sw.js are served with no-cache; everything else sits in
# dist/<build>/, named by a hash of its contents, and is cached for good.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --web
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/baoxue/target}"
cargo build --release -p baoxue-app --bin baoxue-web --features web --target wasm32-unknown-unknown

out=app/web/dist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
wasm-bindgen --target web --no-typescript --out-name baoxue --out-dir "$tmp/files" \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/baoxue-web.wasm"
cp app/web/start.js app/web/manifest.webmanifest app/web/icon-192.png app/web/icon-512.png "$tmp/files/"
build=$(cd "$tmp/files" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)

mkdir -p "$tmp/dist/$build"
cp -r "$tmp/files/." "$tmp/dist/$build/"
sed "s/__BUILD__/$build/g" app/web/index.html > "$tmp/dist/index.html"
# The service worker precaches the page and every file of this build.
shell=$(cd "$tmp/dist" && { echo "./"; find "$build" -type f | LC_ALL=C sort | sed 's|^|./|'; } |
  awk 'BEGIN { printf "[" } { printf "%s\"%s\"", (NR > 1 ? ", " : ""), $0 } END { printf "]" }')
sed -e "s/__BUILD__/$build/g" -e "s|__SHELL__|$shell|" app/web/sw.js > "$tmp/dist/sw.js"
# A gzip twin of each script and the wasm, which the server sends to browsers that take it (a
# third of the bytes over the teacher's mobile signal); not part of the worker's list.
find "$tmp/dist/$build" -type f \( -name '*.wasm' -o -name '*.js' \) -exec gzip -9 -k -n {} \;

rm -rf "$out.old"
[ -d "$out" ] && mv "$out" "$out.old"
mv "$tmp/dist" "$out"
rm -rf "$out.old"
wasm=$(find "$out/$build" -name '*.wasm' -printf '%s')
gz=$(find "$out/$build" -name '*.gz' -printf '%s\n' | awk '{ s += $1 } END { print s }')
echo "web app $build in $out: wasm $((wasm / 1024)) KB; wasm + scripts as sent (gzip) $((gz / 1024)) KB"
