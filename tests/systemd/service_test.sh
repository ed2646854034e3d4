#!/usr/bin/env bash
# The packaged service under a real systemd: boots systemd as PID 1 in a private PID+mount
# namespace whose /etc, /usr and /var are overlays (the host is never changed), installs the
# .deb there with dpkg, and checks what an operator would: readiness and status, a tool call
# through the hardened unit, reload with a broken and a good config, a watchdog restart, a clean
# stop that publishes offline, and a bad config failing fast without a restart loop.
#
# usage: tests/systemd/service_test.sh LIVEBRIDGE_DEB LIVEBRIDGE_BIN LIVEBRIDGE_SIM
set -uo pipefail
deb=$(realpath "$1"); host_bin=$(realpath "$2"); sim=$(realpath "$3")
work=$(mktemp -d /tmp/livebridge-systemd-XXXXXX)
chmod 755 "$work"
failures=0
pids=()
sd_pid=""

log() { printf '%s\n' "$*"; }
pass() { log "ok   - $*"; }
fail() { log "FAIL - $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
in_ns() { nsenter -t "$sd_pid" -m -p "$@"; }
prop() { in_ns systemctl show -P "$1" livebridge.service; }
wait_until() {  # wait_until SECONDS command...
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.2; done
}

cleanup() {
  if [ -n "$sd_pid" ] && kill -0 "$sd_pid" 2>/dev/null; then
    [ $failures -gt 0 ] && { log "---- journal ----"; in_ns journalctl --no-pager -u livebridge | tail -60; }
    in_ns systemctl poweroff >/dev/null 2>&1
    for _ in $(seq 50); do kill -0 "$sd_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$sd_pid" 2>/dev/null
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {  # a random high port nothing listens on
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# ---- the outside world: a broker, the Live simulator over TLS, a simulated light -----------------
mqtt_port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$mqtt_port" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=livebridge test CA" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
  -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial -days 2 \
  -extfile "$work/san.ext" -out "$work/server.crt" 2>/dev/null
chmod 644 "$work/ca.crt"

sleep 0.3
"$sim" --tls-cert "$work/server.crt" --tls-key "$work/server.key" --api-key systemd-test-key \
  --mqtt "tcp://127.0.0.1:$mqtt_port" --z2m-light living_room >"$work/sim.out" 2>&1 &
pids+=($!)
wait_until 10 grep -q '^url=' "$work/sim.out" || { log "simulator did not start"; exit 1; }
live_url=$(sed -n 's/^url=//p' "$work/sim.out")

mosquitto_sub -p "$mqtt_port" -t 'livebridge/#' -v >"$work/broker-saw.log" 2>&1 &
pids+=($!)

write_config() {  # write_config FILE [extra tool yaml]
  cat >"$1" <<YAML
live:
  url: $live_url
  model: models/gemini-live-2.5-flash-preview
  ca_file: /etc/livebridge/test-ca.crt
mqtt:
  url: mqtt://127.0.0.1:$mqtt_port
tools:
  - name: turn_on_the_lights
    publish: {topic: zigbee2mqtt/living_room/set, payload: {state: "ON"}}
    ack: {topic: zigbee2mqtt/living_room, match: {state: "ON"}, timeout: 5s}
  - name: turn_off_the_lights
    publish: {topic: zigbee2mqtt/living_room/set, payload: {state: "OFF"}}
    ack: {topic: zigbee2mqtt/living_room, match: {state: "OFF"}, timeout: 5s}
${2:-}
YAML
}

# ---- boot systemd in its own namespaces ----------------------------------------------------------
cat >"$work/boot.sh" <<'BOOT'
#!/bin/bash
# $1: the test's work directory, kept visible inside.
set -e
mount --make-rprivate /
mount -t tmpfs tmpfs /run
mkdir -p /run/overlay /run/work
for d in etc usr var; do
  mkdir -p /run/overlay/$d/upper /run/overlay/$d/work
  mount -t overlay overlay -o lowerdir=/$d,upperdir=/run/overlay/$d/upper,workdir=/run/overlay/$d/work /$d
done
# A private /tmp: systemd-tmpfiles empties /tmp at boot, and the host's must survive.
mount --bind "$1" /run/work
mount -t tmpfs tmpfs /tmp
mkdir -p "$1"
mount --bind /run/work "$1"
# systemd moves credential mounts in from a child namespace: propagation must be shared.
mount --make-rshared /
export container=livebridge-test
exec /lib/systemd/systemd --system --unit=multi-user.target >/run/systemd-console.log 2>&1
BOOT
chmod +x "$work/boot.sh"
unshare --pid --fork --mount --mount-proc "$work/boot.sh" "$work" </dev/null >"$work/unshare.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  sd_pid=$(pgrep -f -n '^/lib/systemd/systemd --system --unit=multi-user.target') && break
  sleep 0.1
done
[ -n "$sd_pid" ] || { log "systemd did not start"; exit 1; }
wait_until 30 bash -c "nsenter -t $sd_pid -m -p systemctl is-system-running 2>/dev/null | grep -qE 'running|degraded'"
log "# systemd $(in_ns systemctl --version | head -1 | cut -d' ' -f2) is PID 1 of the namespace (host pid $sd_pid)"

# ---- install the package ---------------------------------------------------------------------------
in_ns env DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$work/dpkg.log" 2>&1
check "dpkg installs the package" grep -q "Setting up livebridge" "$work/dpkg.log"
check "the unit is enabled per Debian convention" test "$(in_ns systemctl is-enabled livebridge)" = enabled
check "the config is a conffile" bash -c "nsenter -t $sd_pid -m -p dpkg-query -W -f='\${Conffiles}' livebridge | grep -q /etc/livebridge/livebridge.yaml"
exposure=$(in_ns systemd-analyze security livebridge.service 2>/dev/null | sed -n 's/.*exposure level for livebridge.service: \([0-9.]*\).*/\1/p')
log "# systemd-analyze security: exposure $exposure"
check "exposure is 1.5 or lower" awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 1.5) }'

# ---- configure and start ---------------------------------------------------------------------------
cp "$work/ca.crt" "$work/test-ca.crt"
in_ns install -m 0644 "$work/test-ca.crt" /etc/livebridge/test-ca.crt
printf 'systemd-test-key\n' >"$work/key"
in_ns install -m 0600 "$work/key" /etc/livebridge/gemini-api-key
write_config "$work/good.yaml"
in_ns install -m 0644 "$work/good.yaml" /etc/livebridge/livebridge.yaml
mkdir -p "$work/dropin"
printf '[Service]\nWatchdogSec=3s\nRestartSec=1s\n' >"$work/dropin/test.conf"
in_ns mkdir -p /etc/systemd/system/livebridge.service.d
in_ns cp "$work/dropin/test.conf" /etc/systemd/system/livebridge.service.d/test.conf
in_ns systemctl daemon-reload
in_ns systemctl reset-failed livebridge >/dev/null 2>&1

in_ns systemctl restart livebridge
check "systemctl start returns with the unit active" test "$(in_ns systemctl is-active livebridge)" = active
# Type=notify: active is entered only through READY=1, which carries the first STATUS=.
check "it became active by READY=1 (StatusText set on arrival)" test -n "$(prop StatusText)"
check "the service runs as a dynamic user" test "$(in_ns stat -c %U /proc/$(prop MainPID))" != root
wait_until 10 bash -c "nsenter -t $sd_pid -m -p systemctl show -P StatusText livebridge | grep -q 'live: connected · mqtt: connected'"
check "systemctl status shows the STATUS= text" bash -c \
  "nsenter -t $sd_pid -m -p systemctl status livebridge --no-pager | grep -q 'Status: \"live: connected · mqtt: connected · 2 tools'"

# ---- a tool call end to end through the hardened unit -----------------------------------------------
write_config "$work/host.yaml"
GEMINI_API_KEY=unused "$host_bin" ask --timeout 20s --config "$work/host.yaml" "Turn on the lights" >"$work/ask.out" 2>&1
check "a prompt becomes a confirmed tool call and a reply" grep -q "turn_on_the_lights({}) -> ok" "$work/ask.out"
check "the model's answer comes back" grep -q "OK, I've turned on the lights." "$work/ask.out"
wait_until 5 bash -c "nsenter -t $sd_pid -m -p systemctl show -P StatusText livebridge | grep -q 'last call turn_on_the_lights ok'"
check "the status names the last call" bash -c "nsenter -t $sd_pid -m -p systemctl show -P StatusText livebridge | grep -q 'last call turn_on_the_lights ok'"
check "the API key is not in the journal" bash -c "! nsenter -t $sd_pid -m -p journalctl -u livebridge --no-pager | grep -q systemd-test-key"

# ---- reload ------------------------------------------------------------------------------------------
pid_before=$(prop MainPID)
printf 'live:\n  model: m\n  response_modality: VIDEO\n' >"$work/broken.yaml"
in_ns install -m 0644 "$work/broken.yaml" /etc/livebridge/livebridge.yaml
in_ns systemctl reload livebridge
check "reload with a broken config keeps it active" test "$(in_ns systemctl is-active livebridge)" = active
check "... in the same process" test "$(prop MainPID)" = "$pid_before"
check "... and the journal names the defect" bash -c \
  "nsenter -t $sd_pid -m -p journalctl -u livebridge --no-pager | grep -q 'livebridge.yaml:3:22: live.response_modality'"
write_config "$work/more.yaml" '  - name: ring_the_chime
    publish: {topic: chime/ring, payload: ring}'
in_ns install -m 0644 "$work/more.yaml" /etc/livebridge/livebridge.yaml
in_ns systemctl reload livebridge
wait_until 10 bash -c "nsenter -t $sd_pid -m -p journalctl -u livebridge --no-pager | grep -q 'config.reloaded tools=3'"
check "reload with a good config applies it" bash -c "nsenter -t $sd_pid -m -p journalctl -u livebridge --no-pager | grep -q 'config.reloaded tools=3 session=renewed'"
wait_until 10 bash -c "nsenter -t $sd_pid -m -p systemctl show -P StatusText livebridge | grep -q '3 tools'"
check "... and the status counts the new tool" bash -c "nsenter -t $sd_pid -m -p systemctl show -P StatusText livebridge | grep -q '3 tools'"

# ---- watchdog ----------------------------------------------------------------------------------------
restarts_before=$(prop NRestarts)
pid_before=$(prop MainPID)
in_ns kill -STOP "$pid_before"
wait_until 20 bash -c "[ \"\$(nsenter -t $sd_pid -m -p systemctl show -P NRestarts livebridge)\" -gt $restarts_before ]"
check "a stopped event loop is restarted by the watchdog" test "$(prop NRestarts)" -gt "$restarts_before"
wait_until 15 bash -c "[ \"\$(nsenter -t $sd_pid -m -p systemctl is-active livebridge)\" = active ]"
check "... and comes back active with a new process" bash -c "[ \"$(prop MainPID)\" != \"$pid_before\" ] && [ \"\$(nsenter -t $sd_pid -m -p systemctl is-active livebridge)\" = active ]"

# ---- stop --------------------------------------------------------------------------------------------
wait_until 10 grep -q "livebridge/availability online" "$work/broker-saw.log"
: >"$work/broker-saw.log"
in_ns systemctl stop livebridge
check "systemctl stop ends with exit status 0" test "$(prop ExecMainStatus)" = 0
check "... and the unit is inactive, not failed" test "$(in_ns systemctl is-active livebridge)" = inactive
wait_until 5 grep -q "livebridge/availability offline" "$work/broker-saw.log"
check "... after publishing offline" grep -q "livebridge/availability offline" "$work/broker-saw.log"

# ---- a bad config fails fast, without a restart loop ------------------------------------------------
in_ns install -m 0644 "$work/broken.yaml" /etc/livebridge/livebridge.yaml
in_ns systemctl reset-failed livebridge >/dev/null 2>&1
restarts_before=$(prop NRestarts)
started=$SECONDS
in_ns systemctl start livebridge >/dev/null 2>&1
check "starting with a bad config fails" test "$(in_ns systemctl is-active livebridge)" = failed
check "... fast" test $((SECONDS - started)) -le 5
sleep 3
check "... and is not restarted" test "$(prop NRestarts)" = "$restarts_before"

# ---- purge -------------------------------------------------------------------------------------------
in_ns rm -f /etc/livebridge/test-ca.crt  # the test's own file; an operator's would keep the directory
in_ns env DEBIAN_FRONTEND=noninteractive dpkg --purge livebridge >>"$work/dpkg.log" 2>&1
check "purge removes the unit, the config, the key and /etc/livebridge" bash -c \
  "! nsenter -t $sd_pid -m -p test -e /lib/systemd/system/livebridge.service && ! nsenter -t $sd_pid -m -p test -e /etc/livebridge"

log "# $failures failure(s)"
[ $failures -eq 0 ]
