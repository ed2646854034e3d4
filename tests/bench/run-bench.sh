#!/usr/bin/env bash
# The benchmark: tool round trip against the MQTT floor, in-process breakdown, throughput, memory,
# idle CPU and start-up of the real livebridge binary (see tests/bench/bench_main.cpp).
# It builds livebridge as the .deb does (-O2), with symbols for perf and the in-process probes
# compiled in, in build-bench/.
# usage: tests/bench/run-bench.sh [livebridge-bench options, e.g. --calls 10000 --long-calls 90000]
#
# The three-way comparison (see tests/bench/compare_main.cpp): livebridge, a bridge on Google's
# official Node SDK and the MQTT floor, taking turns; plus a busy network, 500 declared tools and
# callgrind's instructions per call. Needs node (≥ 20), npm and valgrind; the Node bridge's
# pinned packages are installed with `npm ci` into build-bench/node-bridge/.
# usage: tests/bench/run-bench.sh three-way [livebridge-compare options, e.g. --rounds 1 --calls 300]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${LIVEBRIDGE_BENCH_BUILD_DIR:-build-bench}
mode=bench
if [[ ${1:-} == three-way ]]; then
  mode=three-way
  shift
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIVEBRIDGE_BUILD_TESTS=ON -DLIVEBRIDGE_PROBES=ON >/dev/null
if [[ $mode == bench ]]; then
  cmake --build "$build" -j2 --target livebridge livebridge-bench
else
  for tool in node npm valgrind callgrind_control; do
    command -v "$tool" >/dev/null || { echo "run-bench.sh three-way: $tool is missing" >&2; exit 1; }
  done
  cmake --build "$build" -j2 --target livebridge livebridge-sim livebridge-compare
  node_dir="$build/node-bridge"
  mkdir -p "$node_dir"
  cp tests/bench/node-bridge/package.json tests/bench/node-bridge/package-lock.json \
    tests/bench/node-bridge/bridge.mjs "$node_dir/"
  (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
  "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(. /etc/os-release && echo "$PRETTY_NAME");" \
  "mosquitto $(mosquitto -h 2>/dev/null | sed -n 's/^mosquitto version //p')"
echo "date: $(date -u +%Y-%m-%d)"
if [[ $mode == bench ]]; then
  exec "$build/tests/livebridge-bench" --binary "$build/daemon/livebridge" --json "$build/bench.json" "$@"
fi
exec "$build/tests/livebridge-compare" --binary "$build/daemon/livebridge" --sim "$build/tests/livebridge-sim" \
  --node-bridge "$node_dir/bridge.mjs" --json "$build/three-way.json" "$@"
