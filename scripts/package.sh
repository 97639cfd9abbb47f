#!/usr/bin/env bash
# Builds the .deb: the release app first if its sources changed since the last build
# (`cargo leptos build --release --precompress`), then `cargo deb --no-build`, which
# packages that build as it is: the binary (stripped) with hash.txt, target/site,
# the unit, the environment file ([package.metadata.deb] in Cargo.toml, files in
# packaging/deb/). Prints the package's path on stdout, its sizes on stderr.
# scripts/test-package.sh installs, starts and purges it; README "Packages" says
# what goes where.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh

say() { printf '\033[1mpackage:\033[0m %s\n' "$*" >&2; }

# Current when the binary, its hash.txt and the bundle exist and nothing they are
# built from is newer than the binary.
release_is_current() {
  local binary=target/release/phone-verify
  [ -x "$binary" ] && [ -f target/release/hash.txt ] && [ -d target/site/pkg ] || return 1
  [ -z "$(find src style public embed crates/phone-verify-token Cargo.toml Cargo.lock Leptos.toml \
    -newer "$binary" -print -quit)" ]
}

if release_is_current; then
  say "the release build is current"
else
  say "building the release app"
  nice cargo leptos build --release --precompress
fi
deb="$(nice cargo deb --no-build --locked | tail -1)"
[ -f "$deb" ] || { say "cargo deb made no package"; exit 1; }
installed_kib="$(dpkg-deb -f "$deb" Installed-Size)"
say "$deb: $(numfmt --to=iec-i --suffix=B --round=nearest "$(stat -c %s "$deb")") ($(stat -c %s "$deb") bytes), $(numfmt --to=iec-i --suffix=B --round=nearest $((installed_kib * 1024))) installed"
realpath "$deb"
