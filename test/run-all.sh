#!/usr/bin/env bash
# The whole test suite from a fresh clone, as root: installs what the tests need (Debian packages,
# npm packages), mounts tracefs/debugfs, builds, and runs every test against the real kernel.
# Ends with `tests: N passed, N failed`; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'run-all: %s\n' "$*"; }
[ "$(id -u)" -eq 0 ] || { echo "run-all: run as root (the tests load eBPF programs): sudo $0" >&2; exit 2; }

# Debian packages: bpftrace (runtime), bpftool (BTF reader cross-check), z3/socat (tools), setpriv,
# build tools for better-sqlite3 and kgentd's peercred addon (gcc), passwd (useradd/groupadd for
# the rights tests with real users), python3-seccomp (test/systemd/unit-sandbox.py reproduces the unit's
# syscall filter), and the 6.1 kernel source tarball for the real-tree source-reader test.
REQUIRED=(bpftrace bpftool util-linux socat python3 python3-seccomp make gcc g++ xz-utils passwd)
OPTIONAL=(linux-source-6.1 chromium-headless-shell)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=(); for p in "${REQUIRED[@]}"; do installed "$p" || missing+=("$p"); done
optional=(); for p in "${OPTIONAL[@]}"; do installed "$p" || optional+=("$p"); done
if [ "${#missing[@]}" -gt 0 ] || [ "${#optional[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || log "warning: apt-get update failed"
  if [ "${#missing[@]}" -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    apt-get install -y -q "${missing[@]}" >/dev/null
  fi
  if [ "${#optional[@]}" -gt 0 ]; then
    log "apt-get install ${optional[*]} (optional: its tests skip without it)"
    apt-get install -y -q "${optional[@]}" >/dev/null || log "warning: ${optional[*]} not installed"
  fi
fi

mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing || log "warning: cannot mount tracefs"
mountpoint -q /sys/kernel/debug || mount -t debugfs nodev /sys/kernel/debug || log "warning: cannot mount debugfs"

# Other bpftrace versions (test/dialects/README.md): a Debian root per release, cached outside the
# clone (a built root is reused in a second; the first build takes a minute or two and a mirror).
# Without debootstrap or a reachable mirror the dialect tests of that root skip, saying why.
# KGENT_SKIP_BPFTRACE_ROOTS=1 skips building them.
if [ -z "${KGENT_SKIP_BPFTRACE_ROOTS:-}" ]; then
  if installed debootstrap || apt-get install -y -q debootstrap >/dev/null 2>&1; then
    for codename in trixie sid; do
      if v=$(test/dialects/build-bpftrace-root.sh "$codename" 2>/tmp/kgent-bpftrace-root-$codename.log); then
        log "bpftrace root $codename: $v"
      else
        log "warning: no bpftrace root for $codename (see /tmp/kgent-bpftrace-root-$codename.log); its dialect tests skip"
      fi
    done
  else
    log "warning: debootstrap is not installed; the dialect tests of other bpftrace versions skip"
  fi
fi

# `npm ci` rejects a lockfile made on another platform (LanceDB's per-platform binaries): install.
log "npm install"
npm install --no-audit --no-fund --loglevel=error
log "build"
npm run build --silent
# The layer rules (.dependency-cruiser.cjs, test/lint/pure-globals.mjs) before any test.
log "lint"
npm run lint --silent
export LANCEDB_LOG=error
exec node test/run-tests.mjs "$@"
