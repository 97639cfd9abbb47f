#!/usr/bin/env bash
# Installs the .deb that scripts/package.sh built, starts the service the way its
# unit says, checks that it serves, stops it with SIGTERM and purges the package.
#
#   - Under systemd (PID 1): systemctl start / stop.
#   - Without it (containers, this project's machines): the unit's own ExecStart with
#     its EnvironmentFile, run as a made-up user (what DynamicUser= gives) in the
#     state directory made as StateDirectory= makes it, with no privileges
#     (setpriv: no capabilities, no_new_privs), the unit's UMask= and LimitNOFILE=,
#     and no writable-and-executable memory (prctl PR_SET_MDWE, the kernel switch
#     behind MemoryDenyWriteExecute=). The rest of the sandbox is checked by
#     `systemd-analyze verify` and scored by `systemd-analyze security`, not applied.
#
# Also checked: every file where it belongs, the binary stripped and free of W+X
# segments, the environment file naming every variable at its default (the list in
# src/server/config/variables.rs), the Containerfile's ENV, command and volume in
# step with the package and its health check passing against the service, and the
# unconfigured service refusing to start.
#
# Needs root. Fails on the first problem, and leaves nothing installed either way.
# Usage: scripts/test-package.sh [path/to/phone-verify_VERSION-1_ARCH.deb]
set -euo pipefail
began=$SECONDS

say() { printf '\033[1mtest-package:\033[0m %s\n' "$*" >&2; }
fail() {
  printf '\033[1;31mtest-package: FAILED:\033[0m %s\n' "$*" >&2
  exit 1
}

[ $# -eq 0 ] || set -- "$(realpath "$1")"
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "needs root: it installs the package with dpkg"
  exec sudo "$(realpath "$0")" "$@"
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)"
deb="${1:-target/debian/phone-verify_${version}-1_$(dpkg --print-architecture).deb}"
[ -f "$deb" ] || fail "no package at $deb: run scripts/package.sh first"
if dpkg-query -W -f='${db:Status-Status}' phone-verify 2>/dev/null | grep -qv '^not-installed$'; then
  fail "phone-verify is already known to dpkg here (installed, or removed but not purged); this test installs and purges its own copy and leaves that one alone"
fi
for dir in /var/lib/phone-verify /var/lib/private/phone-verify /etc/phone-verify; do
  [ ! -e "$dir" ] || fail "$dir exists already: someone's state or settings, which this test would purge"
done

unit=/usr/lib/systemd/system/phone-verify.service
envfile=/etc/phone-verify/phone-verify.env
binary=/usr/lib/phone-verify/phone-verify
site=/usr/share/phone-verify/site
work="$(mktemp -d /tmp/pv-test-package.XXXXXX)"
log="$work/service.log"
pid=""
under_systemd=""
[ -d /run/systemd/system ] && under_systemd=1

# Whether process $1 runs (one that has exited stays a zombie until waited for).
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

cleanup() {
  local status=$?
  set +e
  if [ -n "$pid" ] && alive "$pid"; then
    kill -TERM "$pid"
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  if [ -n "$under_systemd" ]; then
    systemctl stop phone-verify.service >/dev/null 2>&1
    systemctl reset-failed phone-verify.service >/dev/null 2>&1
  fi
  if dpkg-query -W -f='${db:Status-Status}' phone-verify 2>/dev/null | grep -qv '^not-installed$'; then
    dpkg --purge phone-verify >"$work/purge-on-exit.log" 2>&1 || {
      cat "$work/purge-on-exit.log" >&2
      printf 'test-package: could not purge phone-verify: do it by hand\n' >&2
      status=1
    }
  fi
  rm -rf /var/lib/phone-verify /var/lib/private/phone-verify
  if [ "$status" -ne 0 ] && [ -s "$log" ]; then
    printf '%s\n' "--- the service's output (last 40 lines):" >&2
    tail -40 "$log" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------
say "installing $deb ($(stat -c %s "$deb") bytes)"
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2
  fail "dpkg -i $deb"
}
say "installed size: $(dpkg-query -W -f='${Installed-Size}' phone-verify) KiB"

say "files"
for path in "$binary" /usr/lib/phone-verify/hash.txt /usr/share/phone-verify/Leptos.toml \
  "$envfile" "$unit" /usr/share/doc/phone-verify/copyright "$site"; do
  [ -e "$path" ] || fail "$path is missing"
done
[ "$(readlink -f /usr/bin/phone-verify)" = "$binary" ] || fail "/usr/bin/phone-verify does not lead to $binary"
[ "$(stat -c %a "$envfile")" = 600 ] || fail "$envfile is not mode 0600 (it holds secrets)"
dpkg-query -W -f='${Conffiles}\n' phone-verify | grep -q " $envfile " ||
  fail "$envfile is not a conffile (an upgrade would overwrite the settings)"
# The bundle the shell links (hash.txt beside the binary), each file with its
# brotli and gzip copies.
declare -A hash=()
while IFS=: read -r kind value; do
  [ -n "$kind" ] || continue
  hash[$kind]="${value// /}"
done </usr/lib/phone-verify/hash.txt
for kind in js wasm css; do
  [ -n "${hash[$kind]:-}" ] || fail "hash.txt names no $kind hash"
  for suffix in "" .br .gz; do
    file="$site/pkg/phone-verify.${hash[$kind]}.$kind$suffix"
    [ -f "$file" ] || fail "$file is missing"
  done
done
if readelf -SW "$binary" | grep -Eq ' \.(symtab|debug_[a-z]+) '; then
  fail "$binary is not stripped"
fi
# MemoryDenyWriteExecute=: nothing the binary maps may be writable and executable.
if readelf -lW "$binary" | awk '$1 == "LOAD" || $1 == "GNU_STACK"' | grep -q 'RWE'; then
  fail "$binary has a writable and executable segment (MemoryDenyWriteExecute= would kill it)"
fi
say "binary: $(stat -c %s "$binary") bytes, stripped, no W+X segment"

say "environment file and Containerfile against src/server/config/variables.rs"
if ! python3 - "$envfile" src/server/config/variables.rs Containerfile "$unit" <<'PY'
import re, sys
envfile, variables_rs, containerfile, unit = sys.argv[1:]
# What the package must set; everything else stays at the app's default.
PACKAGE_SETS = {"VERIFY_PROVIDER", "LEPTOS_SITE_ROOT", "LEPTOS_CONFIG", "DATA_DIR"}
# The container listens on every address (the .deb: loopback, behind a proxy).
CONTAINER_ONLY = {"LEPTOS_SITE_ADDR": "0.0.0.0:3000"}
problems = []

listing = open(variables_rs).read().split("#[cfg(test)]")[0]
defaults = dict(re.findall(r'\(\s*"([A-Z0-9_]+)",\s*"((?:[^"\\]|\\.)*)",?\s*\)', listing))
if len(defaults) < 40:
    sys.exit(f"read only {len(defaults)} variables from {variables_rs}")

def unquote(value):
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if any(c in value for c in "\"'\\") or re.search(r"\s", value):
        problems.append(f"{value!r}: quote values with spaces or quotes in double quotes")
    return value

active, commented = {}, {}
for line in open(envfile).read().splitlines():
    m = re.match(r"^(#?)([A-Z][A-Z0-9_]*)=(.*)$", line)
    if not m:
        continue
    target = commented if m[1] else active
    if m[2] in active or m[2] in commented:
        problems.append(f"{m[2]} appears twice")
    target[m[2]] = unquote(m[3])
for name, default in defaults.items():
    if name not in active and name not in commented:
        problems.append(f"{name} is missing from the environment file")
    elif name in commented and commented[name] != default:
        problems.append(f"#{name}={commented[name]!r} is not the default {default!r}")
for name in set(active) | set(commented):
    if name not in defaults:
        problems.append(f"{name} is in the environment file but the app reads no such variable")
if set(active) != PACKAGE_SETS:
    problems.append(f"the file sets {sorted(active)}, expected exactly {sorted(PACKAGE_SETS)}")

text = open(containerfile).read()
env = {}
for m in re.finditer(r"^ENV\s+([A-Z][A-Z0-9_]*)=(\S.*)$", text, re.M):
    env[m[1]] = unquote(m[2].strip())
for name, value in active.items():
    if env.get(name) != value:
        problems.append(f"Containerfile: ENV {name}={env.get(name)!r}, the package has {value!r}")
for name, value in env.items():
    if name in defaults and name not in active and CONTAINER_ONLY.get(name) != value:
        problems.append(f"Containerfile: ENV {name}={value!r} differs from the package's default")
exec_start = re.search(r"^ExecStart=(.*)$", open(unit).read(), re.M)[1].split()
if not re.search(r'^(CMD|ENTRYPOINT) \["%s"\]$' % re.escape(exec_start[0]), text, re.M):
    problems.append(f"Containerfile does not run {exec_start[0]} like the unit")
state_dir = "/var/lib/" + re.search(r"^StateDirectory=(.*)$", open(unit).read(), re.M)[1]
if active.get("DATA_DIR") != state_dir:
    problems.append(f"DATA_DIR={active.get('DATA_DIR')!r} is not the unit's state directory {state_dir}")
if not re.search(r'^VOLUME \["%s"\]$' % re.escape(state_dir), text, re.M):
    problems.append("Containerfile's VOLUME is not the package's DATA_DIR")

if problems:
    sys.exit("\n".join(problems))
print(f"{len(defaults)} variables documented, {len(active)} set by the package; the Containerfile agrees")
PY
then
  fail "the environment file or the Containerfile is out of step (above)"
fi

# ---------------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
  say "systemd-analyze verify"
  systemd-analyze verify "$unit" >"$work/verify.log" 2>&1 || {
    cat "$work/verify.log" >&2
    fail "systemd-analyze verify $unit"
  }
  [ ! -s "$work/verify.log" ] || { cat "$work/verify.log" >&2; fail "systemd-analyze verify has complaints"; }
  say "systemd-analyze security"
  # 2.0 and below is what systemd calls OK; the unit scores about 1.2.
  systemd-analyze security --offline=yes --threshold=20 "$unit" >"$work/security.log" 2>&1 || {
    cat "$work/security.log" >&2
    fail "systemd-analyze security: exposure above 2.0"
  }
  grep -a 'Overall exposure level' "$work/security.log" >&2
else
  say "skipped systemd-analyze: not installed"
fi

# ---------------------------------------------------------------------------------
# The unit's settings, read from the installed file. Only what this unit uses is
# understood; anything else in ExecStart fails here rather than run differently.
service_value() {
  awk -v key="$1" '/^\[/ { section = $0 } section == "[Service]" && index($0, key "=") == 1 { value = substr($0, length(key) + 2) } END { print value }' "$unit"
}
[ "$(grep -c '^ExecStart=' "$unit")" -eq 1 ] || fail "the unit must have one ExecStart="
exec_line="$(service_value ExecStart)"
case "$exec_line" in
  /*[\"\'%\$\\]* | [!/]*) fail "ExecStart=$exec_line uses a prefix, quoting, specifiers or variables, which this test does not emulate" ;;
esac
read -r -a exec_start <<<"$exec_line"
env_files="$(service_value EnvironmentFile)"
[ "$env_files" = "$envfile" ] || fail "EnvironmentFile=$env_files, expected $envfile"
[ -z "$(service_value Environment)" ] || fail "Environment= lines are not emulated"
[ "$(service_value DynamicUser)" = yes ] || fail "the unit is expected to use DynamicUser=yes"
state_dir="/var/lib/$(service_value StateDirectory)"
state_mode="$(service_value StateDirectoryMode)"
umask_value="$(service_value UMask)"
nofile="$(service_value LimitNOFILE)"
nofile="${nofile:-1024}"
[[ "$nofile" =~ ^[0-9]+$ ]] || fail "LimitNOFILE=$nofile: expected a plain number"
hard_nofile="$(ulimit -Hn)"
if [ "$hard_nofile" != unlimited ] && [ "$nofile" -gt "$hard_nofile" ]; then
  say "note: LimitNOFILE=$nofile is above this machine's hard limit, $hard_nofile, which cannot be raised here; using $hard_nofile"
  nofile=$hard_nofile
fi
stop_timeout="$(service_value TimeoutStopSec)"
[[ "$stop_timeout" =~ ^[0-9]+$ ]] || fail "TimeoutStopSec=$stop_timeout: expected plain seconds"
working_dir="$(service_value WorkingDirectory)"
working_dir="${working_dir:-/}"

# The environment the unit gives its command: systemd's own variables for a
# dynamic user, then the environment file, parsed as systemd parses this one
# (KEY=VALUE lines, # comments, double quotes).
service_environment() {
  printf '%s\0' PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin HOME=/ \
    USER=phone-verify LOGNAME=phone-verify SHELL=/usr/sbin/nologin "STATE_DIRECTORY=$state_dir"
  python3 - "$envfile" <<'PY'
import re, sys
for line in open(sys.argv[1]).read().splitlines():
    line = line.strip()
    if not line or line[0] in "#;":
        continue
    name, _, value = line.partition("=")
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    sys.stdout.write(f"{name.strip()}={value}\0")
PY
}

# A user id from systemd's dynamic range that nobody has.
service_uid=""
for candidate in $(seq 61184 65519); do
  if ! getent passwd "$candidate" >/dev/null && ! getent group "$candidate" >/dev/null &&
    [ -z "$(find /var/lib /tmp -maxdepth 2 -uid "$candidate" -print -quit 2>/dev/null)" ]; then
    service_uid=$candidate
    break
  fi
done
[ -n "$service_uid" ] || fail "no free user id in 61184-65519"

# PR_SET_MDWE (65) with PR_MDWE_REFUSE_EXEC_GAIN (1), through prctl's syscall
# number; inherited across exec. Linux 6.3 and later.
mdwe=()
case "$(uname -m)" in
  x86_64) prctl=157 ;;
  aarch64) prctl=167 ;;
  *) prctl="" ;;
esac
if [ -n "$prctl" ] && perl -e "syscall($prctl, 65, 1, 0, 0, 0) == 0 or exit 1"; then
  mdwe=(perl -e "syscall($prctl, 65, 1, 0, 0, 0) == 0 or die \"prctl(PR_SET_MDWE): \$!\\n\"; exec { \$ARGV[0] } @ARGV or die \"exec: \$!\\n\"" --)
else
  say "note: this kernel cannot refuse W+X memory (PR_SET_MDWE); MemoryDenyWriteExecute= is not emulated"
fi

# Starts the service in the background; its pid in $pid.
start_service() {
  if [ -n "$under_systemd" ]; then
    systemctl daemon-reload
    systemctl start phone-verify.service || true
    pid="$(systemctl show -p MainPID --value phone-verify.service)"
    [ "$pid" != 0 ] || pid=""
    return
  fi
  # StateDirectory=: made by the manager, owned by the service's user. (With
  # DynamicUser=, systemd keeps it in /var/lib/private and links it here; the
  # service sees the same path, and postrm removes both.)
  install -d -o "$service_uid" -g "$service_uid" -m "${state_mode:-0755}" "$state_dir"
  local environment=()
  mapfile -d '' environment < <(service_environment)
  : >"$log"
  (
    cd "$working_dir"
    umask "${umask_value:-0022}"
    exec prlimit --nofile="$nofile" -- "${mdwe[@]}" \
      setpriv --reuid="$service_uid" --regid="$service_uid" --clear-groups \
      --no-new-privs --inh-caps=-all --bounding-set=-all -- \
      env -i "${environment[@]}" "${exec_start[@]}"
  ) >>"$log" 2>&1 </dev/null &
  pid=$!
}

service_running() {
  if [ -n "$under_systemd" ]; then
    systemctl is-active --quiet phone-verify.service
  else
    [ -n "$pid" ] && alive "$pid"
  fi
}

# Waits up to $1 seconds for the service to end; its exit status in $exit_status.
await_exit() {
  local deadline=$((SECONDS + $1))
  while service_running; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
  if [ -n "$under_systemd" ]; then
    exit_status="$(systemctl show -p ExecMainStatus --value phone-verify.service)"
    journalctl -u phone-verify.service --no-pager -o cat >"$log" 2>/dev/null || true
  else
    exit_status=0
    wait "$pid" || exit_status=$?
    pid=""
  fi
}

# ---------------------------------------------------------------------------------
say "unconfigured: --check-config and the service both refuse, naming VERIFY_PROVIDER"
# The README's way to check the settings: the file sourced by sh.
status=0
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  sh -c "set -a; . $envfile; exec phone-verify --check-config" >"$work/check.log" 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q VERIFY_PROVIDER "$work/check.log" || {
  cat "$work/check.log" >&2
  fail "phone-verify --check-config with the shipped settings: exit $status, expected 2 naming VERIFY_PROVIDER"
}
start_service
await_exit 15 || fail "the unconfigured service did not stop by itself within 15 s"
[ "$exit_status" = 2 ] && grep -q VERIFY_PROVIDER "$log" ||
  fail "the unconfigured service exited with $exit_status, expected 2 naming VERIFY_PROVIDER"
sed -n '/configuration error/p' "$log" | head -1 >&2
if [ -n "$under_systemd" ]; then
  [ "$(systemctl show -p NRestarts --value phone-verify.service)" = 0 ] ||
    fail "systemd restarted the service after a configuration error"
  systemctl reset-failed phone-verify.service
fi

# ---------------------------------------------------------------------------------
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
say "configured as an administrator would (VERIFY_PROVIDER=local on $base), then started"
sed -i -e 's/^VERIFY_PROVIDER=.*/VERIFY_PROVIDER=local/' \
  -e "s/^#LEPTOS_SITE_ADDR=.*/LEPTOS_SITE_ADDR=127.0.0.1:$port/" "$envfile"
mapfile -d '' settings < <(service_environment)
env -i "${settings[@]}" /usr/bin/phone-verify --check-config >"$work/check.log" 2>&1 || {
  cat "$work/check.log" >&2
  fail "phone-verify --check-config refuses the configured settings"
}
start_time=$SECONDS
start_service
ready=""
for _ in $(seq 150); do
  if curl -fsS -o /dev/null --max-time 2 "$base/readyz" 2>/dev/null; then
    ready=1
    break
  fi
  service_running || fail "the service exited before it was ready"
  sleep 0.2
done
[ -n "$ready" ] || fail "$base/readyz did not answer 200 within 30 s"
say "ready after $((SECONDS - start_time)) s"

# GET $1 with extra curl arguments; fails unless the status is 200. Body in
# $work/body, headers in $work/headers.
get() {
  local path=$1
  shift
  local code
  code="$(curl -sS --max-time 10 -o "$work/body" -D "$work/headers" -w '%{http_code}' "$@" "$base$path")" ||
    fail "GET $path: curl failed"
  [ "$code" = 200 ] || fail "GET $path answered $code"
}
header() { tr -d '\r' <"$work/headers" | grep -i "^$1:" | head -1 | cut -d' ' -f2-; }

get /healthz
get /readyz
get /
grep -q "/pkg/phone-verify.${hash[css]}.css" "$work/body" ||
  fail "the page does not link the hashed stylesheet /pkg/phone-verify.${hash[css]}.css (hash.txt not found beside the binary?)"
say "GET / , /healthz, /readyz: 200; the page links the hashed bundle"
get "/pkg/phone-verify.${hash[wasm]}.wasm" -H 'Accept-Encoding: br'
[ "$(header content-encoding)" = br ] || fail "the wasm bundle did not come precompressed (Content-Encoding: $(header content-encoding))"
header cache-control | grep -q immutable || fail "the hashed wasm is not cached as immutable"
say "GET the wasm bundle: brotli from $site, $(stat -c %s "$work/body") bytes, immutable"
LEPTOS_SITE_ADDR="127.0.0.1:$port" packaging/container/healthcheck ||
  fail "the Containerfile's HEALTHCHECK (packaging/container/healthcheck) fails against the service"
say "the Containerfile's health check passes"

[ -f "$state_dir/phone-verify.sqlite3" ] || fail "no SQLite file in $state_dir"
if [ -z "$under_systemd" ]; then
  [ "$(stat -c %u "/proc/$pid")" = "$service_uid" ] || fail "the service does not run as its own user"
  [ "$(stat -c %u "$state_dir/phone-verify.sqlite3")" = "$service_uid" ] || fail "the SQLite file is not the service user's"
  grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status" || fail "no_new_privs is not set"
  grep -q '^CapEff:[[:space:]]*0*$' "/proc/$pid/status" || fail "the service has capabilities"
fi
grep -q 'DEVELOPMENT MODE' "$log" ||
  { [ -n "$under_systemd" ] && journalctl -u phone-verify.service --no-pager | grep -q 'DEVELOPMENT MODE'; } ||
  fail "the local provider ran without its DEVELOPMENT MODE warning"
if [ -n "$under_systemd" ]; then
  say "state in $state_dir/phone-verify.sqlite3"
else
  say "state in $state_dir/phone-verify.sqlite3; running as uid $service_uid without privileges${mdwe:+ or W+X memory}"
fi

# ---------------------------------------------------------------------------------
say "SIGTERM"
stop_time=$SECONDS
if [ -n "$under_systemd" ]; then
  systemctl stop phone-verify.service
else
  kill -TERM "$pid"
fi
await_exit "$stop_timeout" || fail "still running ${stop_timeout} s after SIGTERM (TimeoutStopSec)"
[ "$exit_status" = 0 ] || fail "exit status $exit_status after SIGTERM, expected 0"
say "stopped cleanly after $((SECONDS - stop_time)) s"

say "purge"
dpkg --purge phone-verify >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2
  fail "dpkg --purge phone-verify"
}
for path in /usr/lib/phone-verify /usr/share/phone-verify /usr/share/doc/phone-verify \
  /usr/bin/phone-verify /etc/phone-verify "$unit" /var/lib/phone-verify /var/lib/private/phone-verify; do
  [ ! -e "$path" ] && [ ! -L "$path" ] || fail "$path is left after purging"
done

say "passed in $((SECONDS - began)) s"
