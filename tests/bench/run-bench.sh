#!/usr/bin/env bash
# The benchmark: tool round trip against the MQTT floor, in-process breakdown, throughput, memory,
# idle CPU and start-up of the real livebridge binary (see tests/bench/bench_main.cpp).
# It builds livebridge as the .deb does (-O2), with symbols for perf and the in-process probes
# compiled in, in build-bench/.
# usage: tests/bench/run-bench.sh [livebridge-bench options, e.g. --calls 10000 --long-calls 90000]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${LIVEBRIDGE_BENCH_BUILD_DIR:-build-bench}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLIVEBRIDGE_BUILD_TESTS=ON -DLIVEBRIDGE_PROBES=ON >/dev/null
cmake --build "$build" -j2 --target livebridge livebridge-bench
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
  "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(. /etc/os-release && echo "$PRETTY_NAME");" \
  "mosquitto $(mosquitto -h 2>/dev/null | sed -n 's/^mosquitto version //p')"
echo "date: $(date -u +%Y-%m-%d)"
exec "$build/tests/livebridge-bench" --binary "$build/daemon/livebridge" --json "$build/bench.json" "$@"
