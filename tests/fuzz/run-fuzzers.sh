#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, ASan and UBSan, and runs each for a while on its seed
# corpus. usage: tests/fuzz/run-fuzzers.sh [seconds per target, default 20]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-20}
build=${LIVEBRIDGE_FUZZ_BUILD_DIR:-$root/build-fuzz}
CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIVEBRIDGE_FUZZ=ON -DLIVEBRIDGE_WERROR=ON >/dev/null
cmake --build "$build" -j2
cd "$build"  # crash artifacts land here
for target in server_frame bridge_input turn_fsm config template ack_match person_words discovery; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  cp -n "$root/tests/fuzz/corpus/$target/"* "$corpus/" 2>/dev/null || true
  echo "== fuzz_$target for ${seconds}s"
  if ! "$build/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 "$corpus" >"$build/fuzz_$target.log" 2>&1; then
    tail -40 "$build/fuzz_$target.log"
    echo "fuzz_$target found a failure; the input is in $build (crash-*, leak-*, timeout-*, oom-*)"
    exit 1
  fi
  grep -E "^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|new_units_added|peak_rss_mb)" "$build/fuzz_$target.log"
done
