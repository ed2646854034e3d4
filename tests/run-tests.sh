#!/usr/bin/env bash
# Installs whatever Debian packages are missing, builds livebridge and runs every test:
#   1. style (clang-format)
#   2. the daemon as a packager or user builds it: plain `cmake -DCMAKE_BUILD_TYPE=Release` with
#      the default options, which must compile without a warning
#   3. a build of everything with AddressSanitizer and UndefinedBehaviorSanitizer, and with it:
#      unit tests; integration tests of the real binary against a private mosquitto, the fake
#      Live server and simulated devices; the short soak run; then the .deb, built by debhelper
#      and installed under a real systemd (skipped where a private systemd cannot boot), once
#      from this tree and once from a copy of it under /tmp
#   4. the libFuzzer targets, 20 s each
# Development builds here treat warnings as errors and compile through ccache.
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
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIVEBRIDGE_BUILD_TESTS=ON \
    -DLIVEBRIDGE_WERROR=ON -DLIVEBRIDGE_CCACHE=ON >/dev/null
  cmake --build "$build" -j2
  ctest --test-dir "$build" --output-on-failure -j2 -LE systemd
  echo "== total: $(($(date +%s) - t0)) s"
  exit 0
fi

# The daemon alone, with nothing but the build type given: what the README's users and packagers
# run. A fresh directory each time, so no cached option from an earlier run changes the defaults.
release=build-release-defaults
rm -rf "$release"
cmake -S . -B "$release" -DCMAKE_BUILD_TYPE=Release >/dev/null
if ! cmake --build "$release" -j2 --target livebridge >"$release/build.log" 2>&1; then
  cat "$release/build.log"
  echo "the default Release build failed"
  exit 1
fi
if grep -q 'warning:' "$release/build.log"; then
  grep -v '^\[' "$release/build.log"
  echo "the default Release build has compiler warnings (above)"
  exit 1
fi
t_release=$(date +%s)
echo "== build (Release, default options, daemon only): $((t_release - t0)) s"

build=${LIVEBRIDGE_BUILD_DIR:-build-asan}
# -O1 -g1: sanitizer reports with function names and lines, at a fraction of -O2 -g's compile time.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" -DLIVEBRIDGE_BUILD_TESTS=ON \
  -DLIVEBRIDGE_SANITIZE=ON -DLIVEBRIDGE_WERROR=ON -DLIVEBRIDGE_CCACHE=ON >/dev/null
cmake --build "$build" -j2
t1=$(date +%s)
echo "== build (ASan+UBSan): $((t1 - t_release)) s"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS=suppressions=$root/tests/lsan-third-party.supp
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" --output-on-failure -j2
t2=$(date +%s)
echo "== tests (unit, integration, soak, packaged service under systemd): $((t2 - t1)) s"

# The packaged service again, from a copy of this tree under /tmp, which the test's namespace
# hides behind a /tmp of its own. The .deb and the binaries of the run above are reused.
if ls "$build"/deb/livebridge_*.deb >/dev/null 2>&1; then
  build_abs=$(cd "$build" && pwd)
  copy=$(mktemp -d /tmp/livebridge-tree-XXXXXX)
  trap 'rm -rf "$copy"' EXIT
  git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -C "$copy" -xf -
  mkdir -p "$copy/build/deb"
  cp "$build"/deb/livebridge_*.deb "$copy/build/deb/"
  (cd "$copy" && timeout 600 tests/systemd/service_test.sh "$(ls build/deb/livebridge_*.deb | tail -1)" \
    "$build_abs/daemon/livebridge" "$build_abs/tests/livebridge-sim")
  t3=$(date +%s)
  echo "== packaged service under systemd, from a tree under /tmp: $((t3 - t2)) s"
  t2=$t3
fi
tests/fuzz/run-fuzzers.sh 15
echo "== fuzzing: $(($(date +%s) - t2)) s; total $(($(date +%s) - t0)) s"
