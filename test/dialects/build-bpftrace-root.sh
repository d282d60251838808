#!/usr/bin/env bash
# Builds (or reuses) a Debian root holding that release's bpftrace, for checking kgent against
# bpftrace versions other than the host's. Usage:
#   test/dialects/build-bpftrace-root.sh CODENAME [DIR]
# CODENAME: a Debian suite (trixie, sid, forky, ...). DIR defaults to
# ${KGENT_BPFTRACE_ROOTS:-/var/cache/kgent-bpftrace}/CODENAME, outside the clone so CI reuses it.
# A root is complete when DIR/.kgent-root-complete exists; anything else at DIR is a half-built
# root and is removed and rebuilt. Prints the root's `bpftrace --version` on stdout (last line).
# Needs root, debootstrap and network access to a Debian mirror (taken from apt's sources here,
# or KGENT_DEBIAN_MIRROR).
set -euo pipefail

die() { echo "build-bpftrace-root: $*" >&2; exit 1; }

codename=${1:-}
[[ -n $codename ]] || die "usage: $0 CODENAME [DIR]"
[[ $codename =~ ^[a-z][a-z0-9-]*$ ]] || die "not a Debian codename: $codename"
dir=${2:-${KGENT_BPFTRACE_ROOTS:-/var/cache/kgent-bpftrace}/$codename}
marker="$dir/.kgent-root-complete"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

[[ $(id -u) == 0 ]] || die "needs root (debootstrap)"

# The mirror apt already uses on this host: the first deb.debian.org-style URI serving Debian
# (deb822 "URIs:" or one-line "deb URI suite"), so an air-gapped host's local mirror is used.
host_mirror() {
  local files=() f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] && files+=("$f")
  done
  [[ ${#files[@]} -gt 0 ]] || return 1
  # deb822 "URIs: a b" or one-line "deb [opts] URI suite ...": print every URI, keep the first
  # that serves Debian itself (not the security archive, not a third-party repository).
  awk '
    /^URIs:/ { for (i = 2; i <= NF; i++) print $i; next }
    /^deb[ \t]/ { i = 2; if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ } print $i }
  ' "${files[@]}" | grep -v -e debian-security -e security.debian.org | grep -m1 -E '/debian/?$' | sed 's:/$::'
}

mirror=${KGENT_DEBIAN_MIRROR:-$(host_mirror || true)}
mirror=${mirror:-http://deb.debian.org/debian}

if [[ -f $marker && -x $dir/usr/bin/bpftrace ]]; then
  echo "build-bpftrace-root: reusing $dir" >&2
else
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  if [[ -e $dir ]]; then
    # A half-built root: make sure nothing is mounted inside it before removing it.
    if findmnt -rn -o TARGET | grep -q "^$(realpath "$dir")/"; then
      die "$dir has mounts inside it (findmnt -R $dir); unmount them first, nothing was removed"
    fi
    echo "build-bpftrace-root: removing the half-built root $dir" >&2
    rm -rf --one-file-system "$dir"
  fi
  mkdir -p "$(dirname "$dir")"
  echo "build-bpftrace-root: debootstrap $codename from $mirror into $dir" >&2
  start=$(date +%s)
  # An unstable/testing Release file can be past its Valid-Until on a mirror snapshot; debootstrap
  # itself does not check it, and the apt config below makes apt inside the root tolerate it too.
  debootstrap --variant=minbase --include=bpftrace "$codename" "$dir" "$mirror" >&2 \
    || die "debootstrap failed for $codename (see $dir/debootstrap/debootstrap.log)"
  mkdir -p "$dir/etc/apt/apt.conf.d"
  echo 'Acquire::Check-Valid-Until "false";' > "$dir/etc/apt/apt.conf.d/99kgent-no-valid-until"
  [[ -x $dir/usr/bin/bpftrace ]] || die "$dir has no usr/bin/bpftrace after debootstrap"
  dpkg-query --admindir="$dir/var/lib/dpkg" -W -f='${Version}\n' bpftrace > "$dir/.kgent-bpftrace-package-version"
  # The downloaded packages are installed; keep the root small.
  rm -f "$dir"/var/cache/apt/archives/*.deb
  echo "$(( $(date +%s) - start ))" > "$dir/.kgent-build-seconds"
  touch "$marker"
fi

# The wrapper kgentd's bpftracePath can name (rewritten each time: cheap, and follows this script).
wrapper=$("$here/bpftrace-in-root.sh" --write-wrapper "$dir")
echo "build-bpftrace-root: $codename: $wrapper" >&2
"$wrapper" --version
