#!/usr/bin/env bash
# Installs and starts kgent on this host (Debian 12 / Ubuntu 22.04+), as root. Idempotent: run it
# again to upgrade in place. Steps: apt packages (bpftrace ...), npm install + build, copy to
# $PREFIX, group `kgent`, /etc/kgent/config.json, tracefs/debugfs mounts, systemd unit, start.
# Where systemd is not PID 1 (containers, CI sandboxes) it installs the unit anyway and starts kgentd
# itself in the background, saying so.
set -euo pipefail

PREFIX="${KGENT_PREFIX:-/opt/kgent}"
UNIT_DIR="${KGENT_UNIT_DIR:-/etc/systemd/system}"
BIN_DIR="${KGENT_BIN_DIR:-/usr/local/bin}"
SOCKET="/run/kgent/kgentd.sock"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf 'kgent install: %s\n' "$*"; }
die() { printf 'kgent install: ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root: sudo $0"

# 1. Packages. bpftrace brings the BPF toolchain; build tools are for better-sqlite3's native build.
APT_PACKAGES=(bpftrace util-linux ca-certificates python3 make g++ socat)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs npm); fi
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
fi
NODE="$(command -v node)" || die "node not found after install"
NODE_MAJOR="$("$NODE" -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 20 ] || die "Node.js >= 20 is required, found $("$NODE" --version) at $NODE; install Node 20 (e.g. from NodeSource) and rerun"

# 2. Build from this checkout (npm ci refuses lockfiles across LanceDB's per-platform binaries, see README).
say "building in $REPO"
cd "$REPO"
npm install --no-audit --no-fund --loglevel=error
npm run build --silent

# 3. Install the built tree into $PREFIX (dist, runtime deps, data files).
say "installing into $PREFIX"
mkdir -p "$PREFIX"
for item in package.json package-lock.json dist node_modules datasets kernel-contracts systemd README.md; do
  [ -e "$REPO/$item" ] || continue
  rm -rf "${PREFIX:?}/$item.new"
  cp -a "$REPO/$item" "$PREFIX/$item.new"
  rm -rf "${PREFIX:?}/$item"
  mv "$PREFIX/$item.new" "$PREFIX/$item"
done
(cd "$PREFIX" && npm prune --omit=dev --no-audit --no-fund --loglevel=error >/dev/null 2>&1) || say "note: npm prune failed; dev dependencies stay installed"
chmod 0755 "$PREFIX/dist/daemon/main.js" "$PREFIX/dist/cli/bin.js"
ln -sf "$PREFIX/dist/cli/bin.js" "$BIN_DIR/kgentctl"
ln -sf "$PREFIX/dist/daemon/main.js" "$BIN_DIR/kgentd"

# 4. Group allowed to use the socket, configuration.
getent group kgent >/dev/null || groupadd --system kgent
mkdir -p /etc/kgent /var/lib/kgent /run/kgent
chmod 0750 /var/lib/kgent
if [ ! -e /etc/kgent/config.json ]; then
  cat > /etc/kgent/config.json <<'JSON'
{
  "ollamaHost": "http://127.0.0.1:11434",
  "models": { "synthesis": "qwen2.5-coder:7b", "comprehension": "qwen2.5-coder:7b", "embedding": "nomic-embed-text" },
  "allowUnsafe": false,
  "trials": 3
}
JSON
  say "wrote /etc/kgent/config.json"
fi

# 5. tracefs (and debugfs, which bpftrace 0.17 reads tracepoint formats from).
mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing || say "warning: could not mount tracefs"
mountpoint -q /sys/kernel/debug || mount -t debugfs nodev /sys/kernel/debug || say "warning: could not mount debugfs"

# 6. The unit, rendered for this host, checked offline.
sed -e "s|@NODE@|$NODE|g" -e "s|@PREFIX@|$PREFIX|g" "$REPO/systemd/kgentd.service" > "$UNIT_DIR/kgentd.service"
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify "$UNIT_DIR/kgentd.service" 2>&1 | grep -v -e 'Cannot add dependency job' -e 'Failed to load' || true
fi

# 7. Start.
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable kgentd.service >/dev/null
  systemctl restart kgentd.service
  say "kgentd started by systemd (systemctl status kgentd; journalctl -u kgentd -f)"
else
  say "systemd is not running here (PID 1 is $(cat /proc/1/comm 2>/dev/null || echo unknown)): unit installed at $UNIT_DIR/kgentd.service, starting kgentd directly"
  PIDFILE=/run/kgent/kgentd.pid
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    say "stopping the kgentd already running (pid $(cat "$PIDFILE"))"
    kill -TERM "$(cat "$PIDFILE")"
    for _ in $(seq 1 60); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.5; done
  fi
  mkdir -p /var/log/kgent
  (
    cd /
    # setsid: kgentd must not die with this shell; its output goes where journald would have put it.
    LANCEDB_LOG=error NODE_ENV=production setsid "$NODE" --max-semi-space-size=8 "$PREFIX/dist/daemon/main.js" >>/var/log/kgent/kgentd.log 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
  )
  say "kgentd started without systemd (pid $(cat "$PIDFILE"), log /var/log/kgent/kgentd.log)"
fi

# 8. Wait until it answers.
for _ in $(seq 1 60); do
  if "$BIN_DIR/kgentctl" --socket "$SOCKET" status >/dev/null 2>&1; then
    "$BIN_DIR/kgentctl" --socket "$SOCKET" status
    say "done. Next: kgentctl doctor; kgentctl run FILE.bt; kgentctl request \"...\""
    exit 0
  fi
  sleep 0.5
done
die "kgentd did not answer on $SOCKET within 30 s; see journalctl -u kgentd or /var/log/kgent/kgentd.log"
