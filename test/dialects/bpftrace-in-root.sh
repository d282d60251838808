#!/usr/bin/env bash
# Runs the bpftrace of a root built by build-bpftrace-root.sh as if it were the host's
# /usr/bin/bpftrace: same arguments, same exit code, same signals, host paths.
#   test/dialects/bpftrace-in-root.sh DIR [bpftrace arguments...]
#   test/dialects/bpftrace-in-root.sh --write-wrapper DIR   (writes DIR/kgent-bpftrace, prints its path)
#
# Why not chroot: a uprobe names a file by path and the kernel resolves that path in the
# caller's root, so inside a chroot `uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:getppid` probes
# the root's libc, which host processes never run (checked here: 3 host calls, @u = 0), and the
# root has no /usr/include for C definitions. Instead the root's own dynamic loader runs the root's
# bpftrace binary with the root's libraries, on the host's filesystem: programs, uprobe targets,
# headers, /sys and /proc are the host's; libbpf, LLVM and clang (and clang's resource headers,
# found next to the root's libclang) are the root's. Nothing is mounted, so nothing can leak.
# The loader is reached through a symlink named "bpftrace" so the process's comm is "bpftrace",
# as with /usr/bin/bpftrace (programs and kgent filter on it). The loader execs in place of this
# script, so the PID kgentd signals is bpftrace's own.
set -euo pipefail

die() { echo "bpftrace-in-root: $*" >&2; exit 2; }

write=0
if [[ ${1:-} == --write-wrapper ]]; then write=1; shift; fi
[[ $# -ge 1 ]] || die "usage: $0 DIR [bpftrace args...] | --write-wrapper DIR"
dir=$(realpath -e -- "$1" 2>/dev/null) || die "no such root: $1"
shift

loader="$dir/usr/lib64/ld-linux-x86-64.so.2"
[[ -e $loader ]] || loader="$dir/lib64/ld-linux-x86-64.so.2"
[[ -x $dir/usr/bin/bpftrace ]] || die "$dir/usr/bin/bpftrace is missing (build it with test/dialects/build-bpftrace-root.sh)"
[[ -e $loader ]] || die "$dir has no x86-64 dynamic loader"
# Resolve the loader inside the root: lib64 may be a symlink into usr/ (merged /usr), and an
# absolute symlink inside the root would point at the host's loader.
loader_real=$(cd "$dir" && readlink -f -- "${loader#"$dir"/}" 2>/dev/null || true)
if [[ $loader_real == /* && $loader_real != "$dir"/* ]]; then
  loader_real="$dir$loader_real"
fi
[[ -f $loader_real ]] || loader_real=$loader

# The root's library directories, from its ld.so.conf, in its order.
libpath=""
add_dir() {
  [[ -d $dir$1 && ":$libpath:" != *":$dir$1:"* ]] && libpath+="${libpath:+:}$dir$1"
  return 0
}
if [[ -d $dir/etc/ld.so.conf.d ]]; then
  while IFS= read -r line; do
    [[ $line == /* ]] && add_dir "$line"
  done < <(cat "$dir"/etc/ld.so.conf.d/*.conf 2>/dev/null | sed 's/#.*//; s/[[:space:]]*$//')
fi
add_dir /usr/lib/x86_64-linux-gnu
add_dir /lib/x86_64-linux-gnu
add_dir /usr/lib
add_dir /lib

mkdir -p "$dir/.kgent" 2>/dev/null || true
link="$dir/.kgent/bpftrace"
if [[ ! -L $link || $(readlink -- "$link") != "$loader_real" ]]; then
  ln -sfn -- "$loader_real" "$link" 2>/dev/null || link=$loader_real
fi

if [[ $write == 1 ]]; then
  wrapper="$dir/kgent-bpftrace"
  tmp="$wrapper.tmp.$$"
  {
    echo '#!/bin/sh'
    echo "# Written by kgent's test/dialects/bpftrace-in-root.sh: this root's bpftrace, run like /usr/bin/bpftrace"
    echo "# (the root's loader and libraries on the host's filesystem; see that script for why)."
    printf 'exec %q --library-path %q --argv0 bpftrace %q "$@"\n' "$link" "$libpath" "$dir/usr/bin/bpftrace"
  } > "$tmp"
  chmod 755 "$tmp"
  mv -f -- "$tmp" "$wrapper"
  echo "$wrapper"
  exit 0
fi

exec "$link" --library-path "$libpath" --argv0 bpftrace "$dir/usr/bin/bpftrace" "$@"
