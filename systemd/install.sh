#!/usr/bin/env bash
# Installs and starts kgent on this host (Debian 12 / Ubuntu 22.04+), as root. Idempotent: run it
# again to upgrade in place.
#
#   systemd/install.sh                          from this checkout: apt packages, npm install, build,
#                                               install into /opt/kgent, groups, config, unit, start
#   systemd/install.sh --bundle FILE.tar.gz     on a connected machine: build, then write a
#                                               self-contained bundle (built JS and native addons,
#                                               production node_modules, unit, config, examples)
#   systemd/install.sh --from-bundle FILE.tar.gz   on an air-gapped host: install that bundle with no
#                                               network at all (OS packages come from your mirror)
#   systemd/install.sh --uninstall [--purge]    remove kgent; --purge also removes /etc/kgent,
#                                               /var/lib/kgent and /var/log/kgent
#
# Options: --root DIR (every system path below DIR, nothing started: tests and staging),
#   --prefix DIR (install dir, default /opt/kgent), --no-build (use this checkout's dist/ and
#   node_modules as they are), --no-start, --no-apt (only check OS packages, never install them).
# Environment overrides: KGENT_PREFIX, KGENT_BIN_DIR, KGENT_UNIT_DIR, KGENT_ETC_DIR,
#   KGENT_STATE_DIR, KGENT_LOG_DIR, KGENT_RUN_DIR.
# Where systemd is not PID 1 (containers, CI sandboxes) it installs the unit anyway and starts
# kgentd itself in the background, saying so.
set -euo pipefail

say() { printf 'kgent install: %s\n' "$*"; }
die() { printf 'kgent install: ERROR: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

ARGS="$*"
WORK=""
trap '[ -z "$WORK" ] || rm -rf "$WORK"' EXIT
MODE=install ROOT="" PREFIX_OPT="" BUNDLE="" PURGE=0 BUILD=1 START=1 APT=1
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) MODE=bundle; BUNDLE="${2:?--bundle FILE.tar.gz}"; shift ;;
    --from-bundle) MODE=from-bundle; BUNDLE="${2:?--from-bundle FILE.tar.gz}"; shift ;;
    --uninstall) MODE=uninstall ;;
    --purge) PURGE=1 ;;
    --root) ROOT="$(realpath -m "${2:?--root DIR}")"; shift ;;
    --prefix) PREFIX_OPT="${2:?--prefix DIR}"; shift ;;
    --no-build) BUILD=0 ;;
    --no-start) START=0 ;;
    --no-apt) APT=0 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
[ "$PURGE" -eq 0 ] || [ "$MODE" = uninstall ] || die "--purge goes with --uninstall"

# Paths. With --root every one of them is below ROOT and nothing is started or mounted.
PREFIX="${PREFIX_OPT:-${KGENT_PREFIX:-$ROOT/opt/kgent}}"
BIN_DIR="${KGENT_BIN_DIR:-$ROOT/usr/local/bin}"
UNIT_DIR="${KGENT_UNIT_DIR:-$ROOT/etc/systemd/system}"
ETC_DIR="${KGENT_ETC_DIR:-$ROOT/etc/kgent}"
STATE_DIR="${KGENT_STATE_DIR:-$ROOT/var/lib/kgent}"
LOG_DIR="${KGENT_LOG_DIR:-$ROOT/var/log/kgent}"
RUN_DIR="${KGENT_RUN_DIR:-$ROOT/run/kgent}"
SOCKET="$RUN_DIR/kgentd.sock"
RECORD="$PREFIX/.install-record"
[ -z "$ROOT" ] || START=0
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GROUPS_WANTED=(kgent kgent-admin)
# What an installed kgent is made of, relative to the checkout or the bundle. Prompt templates are
# read from beside dist/ (repoRoot()), examples from datasets/examples.
PAYLOAD=(package.json package-lock.json dist node_modules datasets daemon/llm/prompts kernel-contracts/prompts systemd README.md)

[ "$MODE" = bundle ] || [ "$(id -u)" -eq 0 ] || die "run as root: sudo $0 $ARGS"

# ---------------------------------------------------------------------------------------------
# OS packages. Online installs apt-get what is missing; --from-bundle and --no-apt only check and
# print the list: on an air-gapped host they come from its own mirror.
RUNTIME_PACKAGES=(bpftrace util-linux)          # setpriv (child cleanup), prlimit (check limits)
BUILD_PACKAGES=(python3 make g++ ca-certificates) # better-sqlite3's and the peercred addon's builds
NODE_MIN=20.19

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Prints "ok" or why this node does not fit kgent (engines: >=20.19 <21 || >=22).
node_fit() {
  local v="$1" major minor
  major="${v%%.*}"; minor="$(echo "$v" | cut -d. -f2)"
  if [ "$major" -eq 20 ] && [ "$minor" -ge 19 ]; then echo ok; elif [ "$major" -ge 22 ]; then echo ok; else echo "Node.js $v is too old or unsupported (need >= $NODE_MIN, not 21)"; fi
}

check_os_packages() { # $1: runtime | build
  local missing=() p node v
  for p in "${RUNTIME_PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
  if [ "$1" = build ]; then for p in "${BUILD_PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done; fi
  node="$(command -v node || true)"
  if [ -z "$node" ]; then missing+=(nodejs); [ "$1" = build ] && missing+=(npm)
  else
    v="$("$node" -p 'process.versions.node')"
    [ "$(node_fit "$v")" = ok ] || { say "$(node_fit "$v") at $node"; missing+=("nodejs>=$NODE_MIN"); }
  fi
  if [ "$1" = build ] && [ -n "$node" ] && ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
  [ "${#missing[@]}" -eq 0 ] && return 0
  local names=("${missing[@]//>=*/}")
  if [ "$APT" -eq 1 ] && [ "$MODE" != from-bundle ] && [ -z "$ROOT" ]; then
    say "installing packages: ${names[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get install -y -q "${names[@]}" || die "apt-get install ${names[*]} failed"
    node="$(command -v node)" || die "node not found after installing nodejs"
    v="$("$node" -p 'process.versions.node')"
    [ "$(node_fit "$v")" = ok ] || die "$(node_fit "$v"): this distribution's nodejs is too old; install Node.js 20 (>= $NODE_MIN) or 22 from NodeSource (deb.nodesource.com) or your mirror of it, then rerun"
    return 0
  fi
  say "missing OS packages: ${missing[*]}"
  say "install them from this host's package mirror, then rerun:"
  say "  apt-get install ${names[*]}"
  say "  (Debian 12 and Ubuntu 22.04 ship Node.js 18: take nodejs 20 (>= $NODE_MIN) or 22 from your mirror of deb.nodesource.com)"
  return 1
}

# ---------------------------------------------------------------------------------------------
# Build (online only). Every compiled piece comes out of `npm install` (better-sqlite3, LanceDB's
# prebuilt native package) and `npm run build` (TypeScript, native addons such as peercred).
build_from_source() {
  cd "$REPO"
  if [ "$BUILD" -eq 1 ]; then
    say "building in $REPO"
    # npm ci refuses lockfiles across LanceDB's per-platform binaries (see README): npm install.
    npm install --no-audit --no-fund --loglevel=error
    npm run build --silent
  fi
  [ -f "$REPO/dist/daemon/main.js" ] || die "$REPO/dist is not built (run npm run build, or drop --no-build)"
}

# The native builds a kgent tree must carry; a bundle without them would fail on the target.
check_native() { # $1: tree
  local t="$1" f
  for f in node_modules/better-sqlite3/build/Release/better_sqlite3.node; do
    [ -f "$t/$f" ] || die "$t/$f missing: better-sqlite3 was not built (npm install needs python3, make, g++)"
  done
  compgen -G "$t/node_modules/@lancedb/lancedb-linux-*/*.node" >/dev/null || die "LanceDB's native package for $(uname -m) is missing under $t/node_modules/@lancedb"
  # The SO_PEERCRED addon, when this version of the daemon loads one.
  if grep -qs 'peercred.node' "$t/dist/daemon/server/peer-identity.js"; then
    [ -f "$t/dist/native/peercred.node" ] || die "$t/dist/native/peercred.node missing: npm run build compiles it (needs cc)"
  fi
}

# Copies the payload of SRC into DEST with production node_modules only (npm prune --omit=dev:
# same tree as `npm install --omit=dev`, without downloading anything again).
stage_payload() { # $1: src, $2: dest, $3: "link" to hard-link node_modules (a bundle's staging,
  # read once by tar, then deleted: prune unlinks, it never writes into shared files)
  local src="$1" dest="$2" item
  mkdir -p "$dest"
  for item in "${PAYLOAD[@]}"; do
    [ -e "$src/$item" ] || continue
    mkdir -p "$dest/$(dirname "$item")"
    if [ "$item" = node_modules ] && [ "${3:-}" = link ] && cp -al "$src/$item" "$dest/$item" 2>/dev/null; then
      # npm prune rewrites its hidden lockfile in place: that one must not be shared with $src.
      rm -f "$dest/$item/.package-lock.json"
      [ ! -e "$src/$item/.package-lock.json" ] || cp -p "$src/$item/.package-lock.json" "$dest/$item/.package-lock.json"
      continue
    fi
    rm -rf "${dest:?}/$item"
    cp -a "$src/$item" "$dest/$item"
  done
  rm -rf "$dest/dist/test"
  (cd "$dest" && npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error >/dev/null) \
    || die "npm prune --omit=dev failed in $dest"
  find "$dest/node_modules" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$dest/node_modules/better-sqlite3/build/Release/obj.target" "$dest/node_modules/better-sqlite3/build/Release/.deps"
}

# ---------------------------------------------------------------------------------------------
write_bundle() {
  check_os_packages build || die "cannot build a bundle without the packages above"
  build_from_source
  check_native "$REPO"
  local out node abi
  out="$(realpath -m "$BUNDLE")"
  WORK="$(mktemp -d)"
  say "staging production files (npm prune --omit=dev of a copy of $REPO/node_modules)"
  stage_payload "$REPO" "$WORK/kgent" link
  check_native "$WORK/kgent"
  node="$(command -v node)"
  abi="$("$node" -p 'process.versions.modules')"
  cat > "$WORK/kgent/BUNDLE-INFO" <<EOF
version=$("$node" -p "require('$REPO/package.json').version")
commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
arch=$(uname -m)
node=$("$node" -p 'process.versions.node')
node_abi=$abi
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
EOF
  # gzip -1: 5 s instead of 45 s for 285 MB, and 100 MB instead of 88 MB.
  tar -C "$WORK" -cf - kgent | gzip -1 > "$out.new" && mv "$out.new" "$out"
  say "wrote $out ($(du -h "$out" | cut -f1); $(uname -m), Node ABI $abi)"
  say "on the air-gapped host: tar xzf $(basename "$out") kgent/systemd/install.sh && sudo kgent/systemd/install.sh --from-bundle $(basename "$out")"
}

# Unpacks a bundle (or takes an unpacked one) and checks it fits this host. Sets SRC.
open_bundle() {
  [ -e "$BUNDLE" ] || die "no bundle at $BUNDLE"
  if [ -d "$BUNDLE" ]; then SRC="$(realpath "$BUNDLE")"; [ -f "$SRC/BUNDLE-INFO" ] || SRC="$SRC/kgent"
  else
    WORK="$(mktemp -d)"
    tar -C "$WORK" -xzf "$BUNDLE" || die "cannot unpack $BUNDLE"
    SRC="$WORK/kgent"
  fi
  [ -f "$SRC/BUNDLE-INFO" ] || die "$BUNDLE is not a kgent bundle (no BUNDLE-INFO)"
  local arch abi nver have_abi
  arch="$(sed -n 's/^arch=//p' "$SRC/BUNDLE-INFO")"
  abi="$(sed -n 's/^node_abi=//p' "$SRC/BUNDLE-INFO")"
  nver="$(sed -n 's/^node=//p' "$SRC/BUNDLE-INFO")"
  [ "$arch" = "$(uname -m)" ] || die "bundle built for $arch, this host is $(uname -m): build it on a $(uname -m) machine"
  if command -v node >/dev/null 2>&1; then
    have_abi="$(node -p 'process.versions.modules')"
    # better-sqlite3 is compiled against one Node ABI; N-API addons (LanceDB, peercred) are not.
    [ "$have_abi" = "$abi" ] || die "bundle built with Node $nver (ABI $abi), this host has Node $(node -p 'process.versions.node') (ABI $have_abi): install the same Node major from your mirror, or build the bundle with this host's Node major"
  fi
  say "bundle $(sed -n 's/^version=//p' "$SRC/BUNDLE-INFO") ($(sed -n 's/^commit=//p' "$SRC/BUNDLE-INFO")), $arch, Node $nver"
}

# ---------------------------------------------------------------------------------------------
# Install steps, shared by source and bundle installs.
install_tree() { # $1: source tree (checkout or unpacked bundle)
  local src="$1" stage
  say "installing into $PREFIX"
  mkdir -p "$PREFIX"
  # A bundle is already staged and pruned; a checkout is staged beside PREFIX (same file system,
  # so the swap below is a rename per top-level entry).
  if [ -f "$src/BUNDLE-INFO" ]; then stage="$src"
  else stage="$(mktemp -d "$PREFIX/.stage.XXXXXX")"; stage_payload "$src" "$stage"; fi
  check_native "$stage"
  local top
  for top in $(printf '%s\n' "${PAYLOAD[@]}" BUNDLE-INFO | cut -d/ -f1 | sort -u); do
    rm -rf "${PREFIX:?}/$top.new"
    if [ ! -e "$stage/$top" ]; then rm -rf "${PREFIX:?}/$top"; continue; fi
    if [ "$stage" = "$src" ]; then cp -a "$stage/$top" "$PREFIX/$top.new"; else mv "$stage/$top" "$PREFIX/$top.new"; fi
    rm -rf "${PREFIX:?}/$top"
    mv "$PREFIX/$top.new" "$PREFIX/$top"
  done
  [ "$stage" = "$src" ] || rm -rf "$stage"
  chmod 0755 "$PREFIX" "$PREFIX/dist/daemon/main.js" "$PREFIX/dist/cli/bin.js"
  mkdir -p "$BIN_DIR"
  ln -sfn "$PREFIX/dist/cli/bin.js" "$BIN_DIR/kgentctl"
  ln -sfn "$PREFIX/dist/daemon/main.js" "$BIN_DIR/kgentd"
  : > "$RECORD.new"
  echo "links=$BIN_DIR/kgentctl $BIN_DIR/kgentd" >> "$RECORD.new"
  # Groups this script created (only those are removed by --uninstall), kept across upgrades.
  [ -f "$RECORD" ] && grep '^group=' "$RECORD" >> "$RECORD.new" || true
}

group_exists() {
  if [ -n "$ROOT" ]; then grep -q "^$1:" "$ROOT/etc/group" 2>/dev/null; else getent group "$1" >/dev/null; fi
}

create_groups() {
  # kgent: may use the socket (request, check, list, logs); kgent-admin: may approve, attach, stop
  # others' programs and change policy (DESIGN.md section 7).
  local g args=()
  if [ -n "$ROOT" ]; then
    mkdir -p "$ROOT/etc"; touch "$ROOT/etc/group" "$ROOT/etc/gshadow"; args=(--prefix "$ROOT")
  fi
  for g in "${GROUPS_WANTED[@]}"; do
    group_exists "$g" && continue
    groupadd "${args[@]}" --system "$g"
    echo "group=$g" >> "$RECORD.new"
    say "created group $g"
  done
  mv "$RECORD.new" "$RECORD"
}

write_config() {
  mkdir -p "$ETC_DIR" "$STATE_DIR" "$LOG_DIR"
  chmod 0750 "$STATE_DIR" "$LOG_DIR"
  if [ ! -e "$ETC_DIR/config.json" ]; then
    cat > "$ETC_DIR/config.json" <<'JSON'
{
  "ollamaHost": "http://127.0.0.1:11434",
  "models": { "synthesis": "qwen2.5-coder:7b", "comprehension": "qwen2.5-coder:7b", "embedding": "nomic-embed-text" },
  "allowUnsafe": false,
  "trials": 3
}
JSON
    say "wrote $ETC_DIR/config.json"
  else
    say "kept $ETC_DIR/config.json"
  fi
}

mount_tracefs() {
  [ -z "$ROOT" ] || return 0
  # tracefs, and debugfs, which bpftrace 0.17 reads tracepoint formats from.
  mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing || say "warning: could not mount tracefs"
  mountpoint -q /sys/kernel/debug || mount -t debugfs nodev /sys/kernel/debug || say "warning: could not mount debugfs"
}

install_unit() {
  local node; node="$(command -v node)" || die "node not found"
  mkdir -p "$UNIT_DIR"
  sed -e "s|@NODE@|$node|g" -e "s|@PREFIX@|$PREFIX|g" "$PREFIX/systemd/kgentd.service" > "$UNIT_DIR/kgentd.service.new"
  mv "$UNIT_DIR/kgentd.service.new" "$UNIT_DIR/kgentd.service"
  if command -v systemd-analyze >/dev/null 2>&1; then
    systemd-analyze verify "$UNIT_DIR/kgentd.service" 2>&1 | grep -v -e 'Cannot add dependency job' -e 'Failed to load' || true
  fi
  say "unit at $UNIT_DIR/kgentd.service"
}

start_daemon() {
  if [ "$START" -eq 0 ]; then say "not started (--root or --no-start)"; return 0; fi
  local node; node="$(command -v node)"
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable kgentd.service >/dev/null
    systemctl restart kgentd.service
    say "kgentd started by systemd (systemctl status kgentd; journalctl -u kgentd -f)"
  else
    say "systemd is not running here (PID 1 is $(cat /proc/1/comm 2>/dev/null || echo unknown)): unit installed at $UNIT_DIR/kgentd.service, starting kgentd directly"
    stop_direct
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    (
      cd /
      # setsid: kgentd must not die with this shell. Without journald kgentd writes its log itself
      # and rotates it by size (log.maxBytes, log.keep); kgentd.out gets only what node itself
      # prints (a fatal start error, a crash).
      LANCEDB_LOG=error NODE_ENV=production setsid "$node" --max-semi-space-size=8 "$PREFIX/dist/daemon/main.js" --log-file "$LOG_DIR/kgentd.log" >>"$LOG_DIR/kgentd.out" 2>&1 < /dev/null &
      echo $! > "$RUN_DIR/kgentd.pid"
    )
    say "kgentd started without systemd (pid $(cat "$RUN_DIR/kgentd.pid"), log $LOG_DIR/kgentd.log)"
  fi
  for _ in $(seq 1 60); do
    if "$BIN_DIR/kgentctl" --socket "$SOCKET" status >/dev/null 2>&1; then
      "$BIN_DIR/kgentctl" --socket "$SOCKET" status
      say "done. Next: kgentctl doctor; kgentctl run FILE.bt; kgentctl request \"...\""
      return 0
    fi
    sleep 0.5
  done
  die "kgentd did not answer on $SOCKET within 30 s; see journalctl -u kgentd, or $LOG_DIR/kgentd.log and $LOG_DIR/kgentd.out"
}

stop_direct() {
  local pidfile="$RUN_DIR/kgentd.pid" pid
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null && grep -q 'daemon/main.js' "/proc/$pid/cmdline" 2>/dev/null; then
    say "stopping the kgentd already running (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$pidfile"
}

# ---------------------------------------------------------------------------------------------
uninstall() {
  say "uninstalling kgent from $PREFIX"
  if [ -z "$ROOT" ]; then
    if [ -d /run/systemd/system ]; then
      systemctl disable --now kgentd.service >/dev/null 2>&1 || true
    fi
    stop_direct
  fi
  rm -f "$UNIT_DIR/kgentd.service"
  [ -z "$ROOT" ] && [ -d /run/systemd/system ] && systemctl daemon-reload || true
  local l g args=()
  for l in "$BIN_DIR/kgentctl" "$BIN_DIR/kgentd"; do
    # Only links into this install: another kgent's are not ours to remove.
    if [ -L "$l" ] && [[ "$(readlink "$l")" == "$PREFIX/"* ]]; then rm -f "$l"; fi
  done
  [ -n "$ROOT" ] && args=(--prefix "$ROOT")
  if [ -f "$RECORD" ]; then
    for g in $(sed -n 's/^group=//p' "$RECORD"); do
      if group_exists "$g"; then groupdel "${args[@]}" "$g" && say "removed group $g"; fi
    done
  else
    say "no install record in $PREFIX: groups ${GROUPS_WANTED[*]} kept (groupdel them if unused)"
  fi
  rm -rf "${PREFIX:?}"
  rm -rf "${RUN_DIR:?}"
  if [ "$PURGE" -eq 1 ]; then
    rm -rf "${ETC_DIR:?}" "${STATE_DIR:?}" "${LOG_DIR:?}"
    say "purged $ETC_DIR, $STATE_DIR, $LOG_DIR"
  else
    say "kept $ETC_DIR, $STATE_DIR (programs, logs, database) and $LOG_DIR; --uninstall --purge removes them"
  fi
  say "done"
}

case "$MODE" in
  bundle) write_bundle ;;
  uninstall) uninstall ;;
  from-bundle)
    open_bundle
    check_os_packages runtime || die "missing OS packages (above); nothing was installed"
    install_tree "$SRC"; create_groups; write_config; mount_tracefs; install_unit; start_daemon ;;
  install)
    check_os_packages build || die "missing OS packages (above); nothing was installed"
    build_from_source
    install_tree "$REPO"; create_groups; write_config; mount_tracefs; install_unit; start_daemon ;;
esac
