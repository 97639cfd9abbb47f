#!/usr/bin/env bash
# Sets up what is missing, then runs every test:
#   0. the supply chain (cargo-deny) and the alert rules (promtool)
#   1. unit and integration tests of the server (HTTP on 127.0.0.1:0)
#   2. component tests in headless Chromium (wasm-bindgen-test)
#   3. the release build, its .deb installed, started and purged
#      (scripts/test-package.sh), and Playwright end-to-end tests in Debian's Chromium,
#      with JavaScript and without, on the local provider and on MessageBird and
#      Twilio against the fake upstream, plus every fault knob
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "supply chain: licences, duplicates, sources and advisories (cargo-deny, deny.toml)"
scripts/supply-chain.sh

step "operations: the alert rules checked and unit-tested (promtool)"
(cd ops && ../target/tools/promtool check rules alerts.yml && ../target/tools/promtool test rules alerts.test.yml)

step "server: unit and integration tests"
# The random-input run (tests/server/random_inputs.rs) gets 30 s here, 5 s by default.
RANDOM_INPUT_SECS="${RANDOM_INPUT_SECS:-30}" cargo test --locked --features ssr
cargo test --locked -p fake-verify -p loadgen -p phone-verify-token -p demo-host

step "browser: components in headless Chromium"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/tests/webdriver.json" \
WASM_BINDGEN_TEST_TIMEOUT=60 \
  cargo test --locked --target wasm32-unknown-unknown --no-default-features --features hydrate --test browser

step "release build (app, fake upstream and demo host)"
cargo leptos build --release --precompress
cargo build --locked --release -p fake-verify -p demo-host

step "package: the .deb of that build, installed, started, stopped and purged"
scripts/package.sh >/dev/null
scripts/test-package.sh

step "end-to-end: Playwright in Debian's Chromium"
(cd end2end && npx playwright test)

step "all tests passed"
