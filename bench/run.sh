#!/usr/bin/env bash
# Benchmarks: the floor (bench/floor, a bare wish + Bubble Tea server),
# `sspr serve`, and OpenSSH sshd with `ForceCommand sspr run`, each driven
# by cmd/sspr-load at several sizes on loopback; docs/BENCHMARKS.md
# explains every figure.
#
#   bench/run.sh            the full run (100, 1000 and more sessions):
#                           bench/results.json and .md
#   bench/run.sh --quick    the same figures at smaller sizes, a few
#                           minutes: bench/results-quick.json and .md
#
# Needs Go; installs openssh-server with apt-get when sshd is missing (as
# root), and skips sshd when it cannot.
set -euo pipefail

QUICK=0
case "${1:-}" in
--quick) QUICK=1 ;;
"") ;;
*) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/sspr-bench.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}" ${SERVER_PID:-}; do kill "$p" 2>/dev/null || true; done
	if [[ -f $T/sshd.pid ]]; then kill "$(cat "$T/sshd.pid")" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

FLOOR_ADDR=${FLOOR_ADDR:-127.0.0.1:22301}
SSPR_ADDR=${SSPR_ADDR:-127.0.0.1:22302}
SSHD_ADDR=${SSHD_ADDR:-127.0.0.1:22303}
FLOOR_DEBUG=${FLOOR_DEBUG:-127.0.0.1:22311}
SSPR_DEBUG=${SSPR_DEBUG:-127.0.0.1:22312}

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

LOAD_START=$(cat /proc/loadavg)
log "building into $T (load: $LOAD_START)"
(cd "$ROOT" && go build -o "$T/sspr" ./cmd/sspr && go build -o "$T/sspr-load" ./cmd/sspr-load &&
	go build -o "$T/floor" ./bench/floor && go build -o "$T/report" ./bench/report)

# PEOPLE walk resets at once, each on an account of its own (so that no
# account's send gap holds anyone back), until RESETS are done; FF_N
# sessions are opened FF_DIALS at a time for the time to the first frame;
# HS_N handshakes per key exchange; KEYS_N sessions type KEYS keys each
# for the CPU per key press; HASHES argon2id hashes.
OUT=results
if ((QUICK)); then
	OUT=results-quick
	SIZES=(20 100)
	SSHD_SIZES=(20 100)
	HOLD=1500ms
	PEOPLE=20
	RESETS=60
	SSHD_PEOPLE=4
	SSHD_RESETS=12
	FF_N=60
	HS_N=100
	KEYS_N=10
	KEYS=40
	HASHES=5
	WINDOW_N=50
else
	SIZES=(100 1000 2000 5000 7500 10000)
	SSHD_SIZES=(100 300)
	HOLD=5s
	PEOPLE=100
	RESETS=200
	SSHD_PEOPLE=16
	SSHD_RESETS=48
	FF_N=200
	HS_N=400
	KEYS_N=20
	KEYS=100
	HASHES=20
	WINDOW_N=200
fi
FF_DIALS=20
ACCOUNTS=$PEOPLE # besides bob
KEXES=(mlkem768x25519-sha256 curve25519-sha256)
# sshd + sspr run holds tens of MiB per session: keep its sizes within
# half the available memory at 60 MiB a session.
avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
SSHD_MAX=$((avail_kb / 2 / 61440))

# --- the sspr data: bob plus a few accounts of the same kind, so resets
# are not bounded by one account's send gap.
mkdir -p "$T/data" "$T/data-run"
write_config() { # data_dir listen
	cat <<YAML
data_dir: $1
demo: true
captcha:
  enabled: false
debug:
  listen: $SSPR_DEBUG
ssh:
  listen: $2
  max_sessions: 12000
  max_per_source: 0
  max_per_prefix: 0
  new_per_source: 0
  login_grace: 60s
limits:
  trusted_sources: [127.0.0.1/32]
  trusted_sessions_per_source: 1000000/1s
  trusted_identify_per_source: 1000000/1s
  identify_floor: 100ms
  identify_jitter: 1ms
  send_floor: 50ms
  send_jitter: 1ms
  send_gap: 1s
  sends_per_account: [1000000/1s]
  sends_per_destination: [1000000/1s]
  sends_global: 1000000/1s
  failures: 100
YAML
}
write_config "$T/data" "$SSPR_ADDR" >"$T/sspr.yaml"
write_config "$T/data-run" "$SSPR_ADDR" >"$T/sspr-run.yaml"
LOGINS=bob
PHONES="+1 212 555 0102"
echo 'Copper-Violin-3907' | "$T/sspr" --config "$T/sspr.yaml" users add bob --mobile "+1 212 555 0102" >/dev/null
echo "Bench-Start-Pass-Xy-1" | "$T/sspr" --config "$T/sspr.yaml" users add bench1 --mobile "+1 212 555 1001" >/dev/null
LOGINS+=",bench1"
PHONES+=",+1 212 555 1001"
# The other accounts share bench1's starting password: its hash is copied
# rather than computed again, a third of a second of CPU each.
hash=$(sed -n '/login: bench1$/,/password:/s/.*password: //p' "$T/data/users.yaml")
for i in $(seq 2 "$ACCOUNTS"); do
	printf '  - login: bench%d\n    mobile: "+1212555%04d"\n    password: %s\n' "$i" $((1000 + i)) "$hash" >>"$T/data/users.yaml"
	LOGINS+=",bench$i"
	PHONES+=",+1 212 555 $((1000 + i))"
done
cp "$T/data/users.yaml" "$T/data-run/users.yaml"

wait_port() { # host:port
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "nothing listens on $1" >&2
	return 1
}

load() { # name out-file sspr-load flags...
	local name=$1 out=$2
	shift 2
	log "$name: sspr-load $*"
	"$T/sspr-load" "$@" >"$out" 2>>"$T/load.log" || log "$name: sspr-load exited $? (see the JSON)"
}

# A server runs only while it is measured: each size gets a fresh process,
# so that memory the Go runtime kept from a larger size before does not
# hide in the baseline. start_<name> starts it and sets SERVER_PID.
SERVER_PID=""
start_floor() {
	"$T/floor" -listen "$FLOOR_ADDR" -host-key "$T/floor_host_key" -debug "$FLOOR_DEBUG" 2>>"$T/floor.log" &
	SERVER_PID=$!
	wait_port "$FLOOR_ADDR"
}
start_floor_fullscreen() {
	"$T/floor" -fullscreen -listen "$FLOOR_ADDR" -host-key "$T/floor_host_key" -debug "$FLOOR_DEBUG" 2>>"$T/floor-fullscreen.log" &
	SERVER_PID=$!
	wait_port "$FLOOR_ADDR"
}
start_sspr() {
	"$T/sspr" --config "$T/sspr.yaml" serve 2>>"$T/sspr.log" &
	SERVER_PID=$!
	wait_port "$SSPR_ADDR"
}
stop_server() {
	if [[ -n $SERVER_PID ]]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=""
	fi
}

# drive name addr wait sizes... : idle runs at each size, each on a fresh
# server, while p99 < 100 ms. sshd is started once (its sessions are
# processes of their own) and passes its pid in SSHD_PID.
drive() {
	local name=$1 addr=$2 wait=$3
	shift 3
	local extra=()
	[[ $name == sshd ]] && extra=(-user root -key "$T/client_key")
	[[ $name == floor* ]] && extra=(-debug "http://$FLOOR_DEBUG")
	[[ $name == sspr ]] && extra=(-debug "http://$SSPR_DEBUG")
	for n in "$@"; do
		local pid
		if [[ $name == sshd ]]; then
			pid=$SSHD_PID
		else
			"start_$name"
			pid=$SERVER_PID
			sleep 1 # let the start-up settle before the baseline
		fi
		load "$name" "$T/res-$name-idle-$n.json" -addr "$addr" -mode idle -n "$n" -wait "$wait" -hold "$HOLD" \
			-pid "$pid" -duration 120s "${extra[@]}"
		[[ $name == sshd ]] || stop_server
		if ! ((QUICK)); then
			p99=$(sed -n '/"keystroke"/,/}/s/.*"p99_ms": \([0-9.]*\).*/\1/p' "$T/res-$name-idle-$n.json")
			if [[ -z $p99 ]] || awk -v p="$p99" 'BEGIN {exit !(p >= 100)}'; then
				log "$name: p99 keystroke ${p99:-?} ms at $n sessions: stopping here"
				break
			fi
		fi
	done
}

# costs name addr wait pid extra... : on a running server, the time to
# the first frame at FF_DIALS dials at once, the CPU per handshake for each
# key exchange, and the CPU per key press.
costs() {
	local name=$1 addr=$2 wait=$3 pid=$4
	shift 4
	load "$name" "$T/res-$name-firstframe.json" -addr "$addr" -mode idle -n "$FF_N" -parallel "$FF_DIALS" \
		-wait "$wait" -hold 0 -sample 1 -keys 1 -duration 120s "$@"
	for kex in "${KEXES[@]}"; do
		load "$name" "$T/res-$name-handshake-$kex.json" -addr "$addr" -mode handshake -n "$HS_N" -parallel 4 \
			-kex "$kex" -pid "$pid" -duration 120s "$@"
	done
	load "$name" "$T/res-$name-keys.json" -addr "$addr" -mode keys -n "$KEYS_N" -keys "$KEYS" -wait "$wait" \
		-pid "$pid" -duration 120s "$@"
}

drive floor "$FLOOR_ADDR" "sspr-floor>" "${SIZES[@]}"
start_floor
costs floor "$FLOOR_ADDR" "sspr-floor>" "$SERVER_PID"
stop_server
drive floor_fullscreen "$FLOOR_ADDR" "sspr-floor>" "${SIZES[@]}"
drive sspr "$SSPR_ADDR" "Who are you?" "${SIZES[@]}"

# sspr's memory with a large window and with one of the wizard's size.
for size in 200x60 100x30; do
	start_sspr
	sleep 1
	load sspr "$T/res-sspr-window-$size.json" -addr "$SSPR_ADDR" -mode idle -n "$WINDOW_N" -size "$size" \
		-wait "Who are you?" -hold "$HOLD" -pid "$SERVER_PID" -duration 120s -debug "http://$SSPR_DEBUG"
	stop_server
done

start_sspr
costs sspr "$SSPR_ADDR" "Who are you?" "$SERVER_PID"
stop_server

# The physical floor of a reset's CPU: one argon2id hash at the embedded
# directory's parameters.
log "hash: floor -hash $HASHES"
"$T/floor" -hash "$HASHES" >"$T/res-hash.json"

# Resets at saturation: PEOPLE at once, each on an account of its own,
# until RESETS are done, the server's CPU measured over all of them.
start_sspr
load sspr "$T/res-sspr-reset.json" -addr "$SSPR_ADDR" -mode reset -n "$PEOPLE" -resets "$RESETS" -duration 600s \
	-outbox "$T/data/outbox.log" -login "$LOGINS" -phone "$PHONES" -keys 3 -pid "$SERVER_PID"
stop_server

# --- OpenSSH sshd with ForceCommand sspr run
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [[ ! -x $SSHD ]] && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
	log "installing openssh-server"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server >"$T/apt.log" 2>&1 ||
		(apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server >"$T/apt.log" 2>&1) || true
	SSHD=/usr/sbin/sshd
fi
SSHD_VERSION=""
if [[ -x $SSHD ]] && [[ $(id -u) == 0 ]]; then
	SSHD_VERSION=$("$SSHD" -V 2>&1 | head -1 || true)
	mkdir -p /run/sshd && chmod 755 /run/sshd
	ssh-keygen -q -t ed25519 -N '' -f "$T/sshd_host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$T/client_key"
	cp "$T/client_key.pub" "$T/authorized_keys"
	cat >"$T/sshd_config" <<CONF
ListenAddress $SSHD_ADDR
HostKey $T/sshd_host_key
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
MaxStartups 10000
LoginGraceTime 60
PrintMotd no
PrintLastLog no
UseDNS no
AcceptEnv LANG LC_*
Subsystem sftp none
ForceCommand $T/sspr --config $T/sspr-run.yaml run
CONF
	"$SSHD" -f "$T/sshd_config" -E "$T/sshd.log"
	wait_port "$SSHD_ADDR"
	SSHD_PID=$(cat "$T/sshd.pid")
	sizes=()
	for n in "${SSHD_SIZES[@]}"; do ((n <= SSHD_MAX)) && sizes+=("$n"); done
	drive sshd "$SSHD_ADDR" "Who are you?" "${sizes[@]}"
	costs sshd "$SSHD_ADDR" "Who are you?" "$SSHD_PID" -user root -key "$T/client_key"
	load sshd "$T/res-sshd-reset.json" -addr "$SSHD_ADDR" -mode reset -n "$SSHD_PEOPLE" -resets "$SSHD_RESETS" -duration 600s \
		-outbox "$T/data-run/outbox.log" -login "$LOGINS" -phone "$PHONES" -keys 3 -user root -key "$T/client_key" -pid "$SSHD_PID"
	kill "$SSHD_PID"
	rm -f "$T/sshd.pid"
else
	log "sshd: not available (needs root and openssh-server): skipped"
fi

"$T/report" -dir "$T" -quick="$QUICK" -sshd-version "$SSHD_VERSION" -load "start $LOAD_START; end $(cat /proc/loadavg)" \
	-json "$ROOT/bench/$OUT.json" -md "$ROOT/bench/$OUT.md"
log "wrote bench/$OUT.json and bench/$OUT.md"
cat "$ROOT/bench/$OUT.md"
