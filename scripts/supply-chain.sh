#!/usr/bin/env bash
# Supply-chain checks with cargo-deny, by the rules in deny.toml:
#   1. licences, bans (duplicate versions reported, not fatal) and sources
#      (crates.io only): always;
#   2. RustSec advisories, offline, against the database copy in $ADVISORY_DB
#      (default ../shared/advisory-db; a relative path is taken from the project
#      root), when that directory is there; skipped with a message when it is not.
# Exits non-zero when a check fails. Arguments go to cargo-deny before `check`,
# e.g. `--manifest-path /some/copy/Cargo.toml` to check another tree with these rules.
# Needs cargo-deny (scripts/setup.sh installs it) and git. `cargo deny --workspace
# check bans` shows where each duplicate comes from; this script leaves that out.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ADVISORY_DB="${ADVISORY_DB:-../shared/advisory-db}"
shown="$ADVISORY_DB"
case "$ADVISORY_DB" in /*) ;; *) ADVISORY_DB="$ROOT/$ADVISORY_DB" ;; esac

say() { printf '\033[1msupply chain:\033[0m %s\n' "$*" >&2; }

if ! cargo deny --version >/dev/null 2>&1; then
  say "cargo-deny is not installed: run scripts/setup.sh"
  exit 2
fi

deny() { cargo deny --locked --workspace --config "$ROOT/deny.toml" "$@"; }
failed=()

deny "$@" check --show-stats --hide-inclusion-graph bans licenses sources || failed+=("bans licenses sources")

if [ ! -d "$ADVISORY_DB" ]; then
  say "advisories NOT checked: no advisory database at $shown (set ADVISORY_DB to a copy of github.com/rustsec/advisory-db)"
elif [ ! -d "$ADVISORY_DB/crates" ]; then
  say "advisories: $shown has no crates/ directory; it is not a RustSec advisory database"
  failed+=(advisories)
else
  # cargo-deny opens <db-path>/<name>-<hash of the URL> (for the default RustSec
  # URL this name, in cargo-deny 0.20), reads the advisories in its crates/, takes
  # the time of the last fetch from the git repository there, and writes a lock
  # file beside it. A clone is linked as it is. A plain tree (the shared snapshot,
  # read-only) is linked into a new repository with one empty commit: it counts as
  # fetched now, like a fresh clone, so its real date is printed below instead.
  stage="$(mktemp -d)"
  trap 'rm -rf "$stage"' EXIT
  db="$stage/advisory-db-3157b0e258782691"
  if git -C "$ADVISORY_DB" rev-parse --verify -q HEAD >/dev/null 2>&1 &&
    [ "$(git -C "$ADVISORY_DB" rev-parse --show-toplevel)" -ef "$ADVISORY_DB" ]; then
    ln -s "$ADVISORY_DB" "$db"
    date="$(git -C "$ADVISORY_DB" log -1 --format=%cs)"
  else
    mkdir "$db"
    ln -s "$ADVISORY_DB"/* "$db"/
    git -C "$db" -c init.defaultBranch=main init -q
    git -C "$db" -c user.name=supply-chain -c user.email=supply-chain@localhost \
      -c commit.gpgsign=false commit -q --allow-empty -m "links to $shown"
    date="$(grep -o -m1 '[0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}' "$ADVISORY_DB/SNAPSHOT.txt" 2>/dev/null || true)"
  fi
  if [ -n "$date" ]; then
    age=$(( ($(date +%s) - $(date -d "$date" +%s)) / 86400 ))
    note="of $date, $age days old"
    [ "$age" -le 90 ] || note+=": advisories published since are not known to this check"
  else
    note="of unknown date"
  fi
  say "advisories: RustSec database $note ($shown)"
  DENY_DB_ROOT="$stage" deny --offline "$@" check --show-stats advisories || failed+=(advisories)
fi

if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED: ${failed[*]} (rules and accepted advisories: deny.toml)"
  exit 1
fi
say "ok"
