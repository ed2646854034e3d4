#!/usr/bin/env bash
# Sets everything up and runs livebridge's main job on this machine: a private mosquitto, a
# simulated zigbee2mqtt light, livebridge itself, and the seed notebook's prompts sent through it.
# With GEMINI_API_KEY set it talks to Google's Live API; without it, to the bundled local Live
# simulator. Everything it starts is stopped when it ends.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
packaging/install-build-deps
cmake -S . -B build -G Ninja -DLIVEBRIDGE_BUILD_TESTS=ON >/dev/null
cmake --build build -j2 --target livebridge livebridge-sim

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=18830
while ! port_free "$port"; do port=$((port + 1)); done

mosquitto -p "$port" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do port_free "$port" || break; sleep 0.1; done

build/tests/livebridge-sim --mqtt "tcp://127.0.0.1:$port" --z2m-light living_room >"$work/sim.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q '^url=' "$work/sim.out" && break; sleep 0.1; done
sim_url=$(sed -n 's/^url=//p' "$work/sim.out")

if [ -n "${GEMINI_API_KEY:-${GOOGLE_API_KEY:-}}" ]; then
  echo "== Using Google's Live API (the key comes from the environment)"
  live_url="wss://generativelanguage.googleapis.com/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
else
  echo "== GEMINI_API_KEY is not set: using the bundled local Live simulator at $sim_url"
  echo "   (set GEMINI_API_KEY to talk to Google instead)"
  live_url=$sim_url
fi

sed -e "s|^  url: mqtt://127.0.0.1:1883|  url: mqtt://127.0.0.1:$port|" \
    -e "s|^live:|live:\n  url: $live_url|" config/livebridge.yaml >"$work/livebridge.yaml"

build/daemon/livebridge --config "$work/livebridge.yaml" 2>"$work/livebridge.log" &
pids+=($!)
# Prompts are only heard once livebridge has subscribed: it says "online" (retained) then.
for _ in $(seq 100); do
  [ "$(mosquitto_sub -p "$port" -t livebridge/availability -C 1 -W 1 2>/dev/null)" = online ] && break
  sleep 0.1
done
echo "== livebridge is online (its log follows the answers)"

for prompt in "Hello?" "Turn on the lights" "Turn off the lights"; do
  echo
  build/daemon/livebridge ask --timeout 60s --config "$work/livebridge.yaml" "$prompt" || echo "(no answer: exit $?)"
done
echo
echo "== livebridge log"
cat "$work/livebridge.log"
