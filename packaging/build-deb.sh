#!/usr/bin/env bash
# Builds the livebridge .deb from this source tree: packaging/build-deb.sh [output-dir]
# (default: dist/). Runs debhelper (dh with CMake) on a copy of the tree, then lintian.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/dist}" && cd "${1:-$root/dist}" && pwd)
"$root/packaging/install-build-deps" --package

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src="$work/livebridge-0.1.0"
mkdir -p "$src"
tar -C "$root" --exclude='./build*' --exclude='./dist' --exclude='./.git' --exclude='./debian' -cf - . | tar -C "$src" -xf -
cp -r "$root/packaging/debian" "$src/debian"
cp "$root/deploy/livebridge.service" "$src/debian/livebridge.service"
(cd "$src" && dpkg-buildpackage -us -uc -b -j2 >"$work/build.log" 2>&1) || { tail -50 "$work/build.log"; exit 1; }
mv "$work"/livebridge_*.deb "$out/"
deb=$(ls "$out"/livebridge_*.deb | tail -1)
echo "built $deb"
lintian --fail-on error --suppress-tags-from-file "$root/packaging/lintian-accepted" "$deb"
