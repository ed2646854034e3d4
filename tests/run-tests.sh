#!/usr/bin/env bash
# Installs whatever Debian packages are missing, builds livebridge and runs every test:
#   1. style (clang-format)
#   2. a build of everything with AddressSanitizer and UndefinedBehaviorSanitizer, and with it:
#      unit tests; integration tests of the real binary against a private mosquitto, the fake
#      Live server and simulated devices; the short soak run; then the .deb, built by debhelper
#      and installed under a real systemd (skipped where a private systemd cannot boot)
#   3. the libFuzzer targets, 20 s each
# usage: tests/run-tests.sh [--fast]
#   --fast: a plain build, unit + integration + soak only (no sanitizers, systemd or fuzzing)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fast=0
[ "${1:-}" = "--fast" ] && fast=1
packaging/install-build-deps $([ $fast -eq 0 ] && echo --all)
t0=$(date +%s)
find daemon tests -name '*.cpp' -o -name '*.hpp' | xargs clang-format --dry-run -Werror

if [ $fast -eq 1 ]; then
  build=${LIVEBRIDGE_BUILD_DIR:-build}
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIVEBRIDGE_BUILD_TESTS=ON >/dev/null
  cmake --build "$build" -j2
  ctest --test-dir "$build" --output-on-failure -j2 -LE systemd
  echo "== total: $(($(date +%s) - t0)) s"
  exit 0
fi

build=${LIVEBRIDGE_BUILD_DIR:-build-asan}
# -O1 -g1: sanitizer reports with function names and lines, at a fraction of -O2 -g's compile time.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" -DLIVEBRIDGE_BUILD_TESTS=ON \
  -DLIVEBRIDGE_SANITIZE=ON >/dev/null
cmake --build "$build" -j2
t1=$(date +%s)
echo "== build (ASan+UBSan): $((t1 - t0)) s"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" --output-on-failure -j2
t2=$(date +%s)
echo "== tests (unit, integration, soak, packaged service under systemd): $((t2 - t1)) s"
tests/fuzz/run-fuzzers.sh 20
echo "== fuzzing: $(($(date +%s) - t2)) s; total $(($(date +%s) - t0)) s"
