#!/usr/bin/env bash
# CTest entry: installs the pinned validator (package-lock.json: Ajv and yaml) from npm into the
# build tree, then checks the schema the real binary prints (check.mjs).
# usage: tests/config_schema/run.sh BUILD_DIR LIVEBRIDGE_BIN INSTALLED_SCHEMA
# Fails, never skips, when node, npm or the packages cannot be had: a check that did not run
# proves nothing about the schema.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$1
binary=$2
installed=$3
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (packaging/install-build-deps installs it)"; exit 1; }
done
dir="$build/config-schema-validator"
mkdir -p "$dir"
# A second run reuses the packages while the lock file is unchanged.
if ! cmp -s "$here/package-lock.json" "$dir/package-lock.json" || [ ! -f "$dir/node_modules/.package-lock.json" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$dir/"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error); then
    rm -f "$dir/package-lock.json"
    echo "FAIL: npm could not install the validator (package-lock.json)"
    exit 1
  fi
fi
# Beside its node_modules, so that its imports resolve there.
cp "$here/check.mjs" "$dir/check.mjs"
exec node "$dir/check.mjs" "$binary" "$root" "$installed"
