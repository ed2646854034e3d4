#!/usr/bin/env bash
# Installs whatever Debian packages are missing, builds livebridge and runs every test:
# unit tests, then integration tests of the real binary against a private mosquitto, the fake
# Live server and simulated devices. Usage: tests/run-tests.sh [extra ctest arguments]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
packaging/install-build-deps
build=${LIVEBRIDGE_BUILD_DIR:-build}
# Style first: it takes a second and fails fast.
find daemon tests -name '*.cpp' -o -name '*.hpp' | xargs clang-format --dry-run -Werror
start=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIVEBRIDGE_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j2
built=$(date +%s)
echo "build: $((built - start)) s"
ctest --test-dir "$build" --output-on-failure -j2 "$@"
echo "tests: $(($(date +%s) - built)) s"
