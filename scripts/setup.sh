#!/usr/bin/env bash
# Installs everything the build and the tests need, skipping what is already there:
# the wasm32 target, cargo-leptos, cargo-deb, the wasm-bindgen CLI that matches Cargo.lock,
# wasm-opt and Playwright (npm, in end2end/), Chromium and ChromeDriver, sqlite3 and
# curl (Debian).
# Works offline apart from crates.io, npm and Debian's archive. See
# docs/toolchain.md for why each step looks the way it does.
#
# Source it (`. scripts/setup.sh`) to also get the PATH it sets up.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CARGO_LEPTOS_VERSION=0.3.11
CARGO_DENY_VERSION=0.20.2
CARGO_DEB_VERSION=3.8.0
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$ROOT/Cargo.lock")"
DEBIAN_RUST=(rustc-web cargo-web rust-web-src rust-web-llvm)

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

rustc_minor() { "${1:-rustc}" --version | awk '{ split($2, v, "."); print v[2] }'; }

# Debian's rustc-web (1.96, knows wasm32) is the fallback compiler when rustup's
# toolchain cannot target wasm32 or is too old for cargo-leptos --locked.
debian_cargo() {
  apt_install "${DEBIAN_RUST[@]}"
  RUSTC=/usr/bin/rustc /usr/bin/cargo "$@"
}

# 1. A Rust toolchain that can target wasm32.
ensure_wasm_target() {
  if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then return; fi
  if [ -d /usr/lib/rustlib/wasm32-unknown-unknown/lib ] && rustup toolchain list | grep -q '^system'; then
    echo system >"$ROOT/target/.rust-toolchain"
    return
  fi
  say "adding the wasm32 target with rustup"
  if timeout 60 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then return; fi
  say "rustup cannot fetch wasm32; building Debian's rustc-web standard library for it instead"
  apt_install "${DEBIAN_RUST[@]}"
  if [ ! -d /usr/lib/rustlib/wasm32-unknown-unknown/lib ]; then
    local scratch
    scratch="$(mktemp -d)"
    mkdir -p "$scratch/src"
    printf '[package]\nname = "stdbuild"\nversion = "0.0.0"\nedition = "2024"\n[lib]\ncrate-type = ["cdylib"]\n' >"$scratch/Cargo.toml"
    : >"$scratch/src/lib.rs"
    (cd "$scratch" && RUSTFLAGS="-Cembed-bitcode=yes" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
      /usr/bin/cargo build -q --release --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort,test)
    as_root mkdir -p /usr/lib/rustlib/wasm32-unknown-unknown/lib
    as_root cp "$scratch"/target/wasm32-unknown-unknown/release/deps/*.rlib /usr/lib/rustlib/wasm32-unknown-unknown/lib/
    rm -rf "$scratch"
  fi
  rustup toolchain list | grep -q '^system' || rustup toolchain link system /usr
  echo system >"$ROOT/target/.rust-toolchain"
}

# 2. cargo-leptos, without its GitHub downloads.
ensure_cargo_leptos() {
  if cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then return; fi
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 25 minutes on 2 cores)"
  local args=(install --locked cargo-leptos --version "$CARGO_LEPTOS_VERSION" --features no_downloads)
  if [ "$(rustc_minor)" -ge 96 ]; then cargo "${args[@]}"; else debian_cargo "${args[@]}"; fi
}

# 3. The wasm-bindgen CLI, exactly the version in Cargo.lock (it refuses any other).
ensure_wasm_bindgen() {
  if wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then return; fi
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: the registry lacks one of its locked dependencies.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force ||
    debian_cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
}

# 4. Chromium for the browser tests, redis-server for the shared-state tests, and
#    brotli for the size report.
ensure_debian_tools() {
  # The emoji font draws the country flags in screenshots (visitors have their own).
  apt_install chromium chromium-driver brotli redis-server fonts-noto-color-emoji sqlite3 curl
}

# 5. npm tools: Playwright, and wasm-opt from binaryen (Debian's is too old and
#    silently breaks hydration).
ensure_npm_tools() {
  local stamp="$ROOT/end2end/node_modules/.installed"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$ROOT/end2end/package-lock.json" ]; then return; fi
  say "installing end2end npm packages"
  (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  touch "$stamp"
}

# 6. promtool, to check and unit-test the alert rules in ops/. Taken out of Debian's
#    prometheus package rather than installed: installing would start a Prometheus.
ensure_promtool() {
  local tool="$ROOT/target/tools/promtool"
  if [ -x "$tool" ]; then return; fi
  say "extracting promtool from Debian's prometheus package"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  local scratch
  scratch="$(mktemp -d)"
  (cd "$scratch" && apt-get download prometheus >/dev/null 2>&1 &&
    dpkg-deb --fsys-tarfile prometheus_*.deb | tar -x ./usr/bin/promtool)
  mkdir -p "$(dirname "$tool")"
  mv "$scratch/usr/bin/promtool" "$tool"
  rm -rf "$scratch"
}

# 7. cargo-deb, which packages the release build as a .deb (scripts/package.sh).
#    A few minutes on 2 cores, once.
ensure_cargo_deb() {
  if cargo deb --version 2>/dev/null | grep -q " $CARGO_DEB_VERSION\$"; then return; fi
  say "installing cargo-deb $CARGO_DEB_VERSION"
  cargo install --locked cargo-deb --version "$CARGO_DEB_VERSION"
}

# 8. cargo-deny, for the supply-chain checks (scripts/supply-chain.sh, deny.toml).
#    About 6 minutes on 2 cores, once. supply-chain.sh names the directory this
#    version reads an advisory database from: change the two together.
ensure_cargo_deny() {
  if cargo deny --version 2>/dev/null | grep -q " $CARGO_DENY_VERSION\$"; then return; fi
  say "installing cargo-deny $CARGO_DENY_VERSION"
  local args=(install --locked cargo-deny --version "$CARGO_DENY_VERSION")
  if [ "$(rustc_minor)" -ge 88 ]; then cargo "${args[@]}"; else debian_cargo "${args[@]}"; fi
}

mkdir -p "$ROOT/target"
export PATH="$ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"
ensure_debian_tools
ensure_wasm_target
ensure_cargo_leptos
ensure_wasm_bindgen
ensure_npm_tools
ensure_promtool
ensure_cargo_deb
ensure_cargo_deny

if [ -f "$ROOT/target/.rust-toolchain" ]; then
  export RUSTUP_TOOLCHAIN="$(cat "$ROOT/target/.rust-toolchain")"
fi
export CHROMEDRIVER=/usr/bin/chromedriver
export CHROMIUM=/usr/bin/chromium
say "ready: $(cargo leptos --version), wasm-bindgen $WASM_BINDGEN_VERSION, $(wasm-opt --version | head -1)"
