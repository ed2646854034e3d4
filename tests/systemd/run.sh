#!/usr/bin/env bash
# CTest entry: builds the .deb, then runs the packaged service under a real systemd.
# usage: tests/systemd/run.sh BUILD_DIR LIVEBRIDGE_BIN LIVEBRIDGE_SIM
# Exits 77 (skipped) where a private systemd cannot be booted: not root, or no unshare.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null || ! unshare --pid --fork --mount true 2>/dev/null; then
  echo "skipped: booting a private systemd needs root and unshare"
  exit 77
fi
rm -rf "$build/deb"
"$root/packaging/build-deb.sh" "$build/deb"
exec "$root/tests/systemd/service_test.sh" "$(ls "$build"/deb/livebridge_*.deb | tail -1)" "$2" "$3"
