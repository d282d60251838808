#!/bin/sh
# Builds kgentd's SO_PEERCRED addon (peercred.c, N-API only) into dist/native/peercred.node.
# Run by `npm run build`. Plain `cc` rather than node-gyp: one C file needs no gyp project, and
# node-gyp downloads Node's headers when it does not find them, which an offline host cannot do.
# Only node_api.h and its two companions are needed; they are looked for, in order, under
# $npm_config_nodedir, the prefix of the running node (/usr/bin/node -> /usr/include/node, as
# NodeSource and the official tarballs lay it out), /usr/include/node (Debian's libnode-dev),
# /usr/local/include/node and node-gyp's cache.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$root/dist/native/peercred.node"
node_bin=$(command -v node)
node_prefix=$(dirname "$(dirname "$(readlink -f "$node_bin")")")
node_version=$(node -p process.versions.node)
headers=""
for dir in ${npm_config_nodedir:+"$npm_config_nodedir/include/node"} "$node_prefix/include/node" /usr/include/node \
  /usr/local/include/node "${XDG_CACHE_HOME:-$HOME/.cache}/node-gyp/$node_version/include/node"; do
  if [ -f "$dir/node_api.h" ]; then headers=$dir; break; fi
done
if [ -z "$headers" ]; then
  echo "peercred: Node's headers (node_api.h) not found under $node_prefix/include/node, /usr/include/node or node-gyp's cache;" \
    "install NodeSource's nodejs (it ships them) or Debian's libnode-dev, or set npm_config_nodedir" >&2
  exit 1
fi
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || cc=gcc
command -v "$cc" >/dev/null 2>&1 || { echo "peercred: no C compiler (cc, gcc): apt-get install gcc" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
"$cc" -std=c11 -O2 -Wall -Wextra -fPIC -shared -I"$headers" -o "$out.tmp" "$here/peercred.c"
mv "$out.tmp" "$out"
