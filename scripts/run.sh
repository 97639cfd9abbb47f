#!/usr/bin/env bash
# Sets up what is missing, builds the release app and serves it on
# http://127.0.0.1:3000 (settings: .env.example). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh
exec cargo leptos serve --release --precompress
