#!/usr/bin/env bash
# Takes the screenshots of docs/SCREENS.md: the demo walked in a real
# terminal emulator (xterm under a virtual display, DejaVu Sans Mono), on a
# dark and on a light background, at 80x24 and for a few screens at
# 160x48. The PNGs go to docs/screens/. Installs what it needs when
# missing (Debian/Ubuntu): xvfb, xterm, x11-apps (xwd), imagemagick,
# xdotool, fonts-dejavu.
#
#   scripts/screenshots.sh            every screen, dark and light
#   SCREENS_ONLY=dark scripts/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v Xvfb >/dev/null || need+=(xvfb)
command -v xterm >/dev/null || need+=(xterm)
command -v xwd >/dev/null || need+=(x11-apps)
[[ -x /usr/bin/convert ]] || need+=(imagemagick)
command -v xdotool >/dev/null || need+=(xdotool)
fc-list 2>/dev/null | grep -q "DejaVu Sans Mono" || need+=(fonts-dejavu-core)
if ((${#need[@]})); then
	echo "installing ${need[*]} for the screenshots" >&2
	sudo=""
	[[ $(id -u) == 0 ]] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

out=docs/screens
mkdir -p "$out"
work=$(mktemp -d)
pids=()
term_pid=""
cleanup() {
	if [[ -n $term_pid ]]; then kill "$term_pid" 2>/dev/null || true; fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
	return 0
}
trap cleanup EXIT

go build -o "$work/sspr" ./cmd/sspr
bin=$work/sspr

# A private display.
display=:$((90 + RANDOM % 100))
Xvfb "$display" -screen 0 1920x1200x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
export DISPLAY=$display
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break || sleep 0.1; done

# A configuration past the CAPTCHA (the first screen is shot from the
# configless demo, CAPTCHA and all), with one demo user.
data=$work/data
mkdir -p "$data"
cfg=$work/sspr.yaml
cat >"$cfg" <<EOF
demo: true
data_dir: $data
captcha:
  enabled: false
signin_url: https://myapps.example.com
EOF
chmod 600 "$cfg"
printf 'Copper-Violin-3907\n' | "$bin" --config "$cfg" users add bob --name "Bob Example" --mobile "+1 212 555 0102" >/dev/null

wid=""
# start runs the command in a fresh xterm of cols x rows on a dark or
# light background, and waits for its window.
start() { # mode cols rows command...
	local mode=$1 cols=$2 rows=$3
	shift 3
	local fg=white bg=black
	if [[ $mode == light ]]; then fg=black bg=white; fi
	local try
	for try in 1 2 3; do
		xterm -tn xterm-256color -fa "DejaVu Sans Mono" -fs 11 -geometry "${cols}x${rows}+0+0" -fg "$fg" -bg "$bg" -b 8 \
			-xrm "XTerm*cursorBlink: false" -e "$@" 2>>"$work/xterm.log" &
		term_pid=$!
		wid=$(timeout 10 xdotool search --sync --onlyvisible --pid "$term_pid" 2>/dev/null | head -1) || true
		if [[ -n $wid ]]; then
			# Keys go in through XTEST to the focused window: events sent to
			# a window would need allowSendEvents, which turns off xterm's
			# answer to the background colour query.
			xdotool windowfocus --sync "$wid" 2>/dev/null || true
			sleep 1.5
			return
		fi
		stop
		sleep 1
	done
	echo "xterm did not start: $(tail -3 "$work/xterm.log")" >&2
	exit 1
}

stop() {
	kill "$term_pid" 2>/dev/null || true
	wait "$term_pid" 2>/dev/null || true
}

keys() { xdotool key --delay 40 "$@" 2>/dev/null; sleep 0.6; }
typ() { xdotool type --delay 40 -- "$1" 2>/dev/null; sleep 0.6; }

# shot saves the window as docs/screens/<name>-<mode>.png, in few colours.
shot() { # name mode
	sleep 0.8
	xwd -silent -id "$wid" | /usr/bin/convert xwd:- -colors 32 -strip "PNG8:$out/$1-$2.png"
	echo "$out/$1-$2.png"
}

code() { grep -o 'code is [0-9]*' "$data/outbox.log" | tail -1 | cut -d' ' -f3; }

modes=(dark light)
[[ -n ${SCREENS_ONLY:-} ]] && modes=("$SCREENS_ONLY")

for mode in "${modes[@]}"; do
	for size in 80x24 160x48; do
		cols=${size%x*}
		rows=${size#*x}
		suffix=""
		[[ $size == 160x48 ]] && suffix=-wide

		# The first screen of the configless demo, with its CAPTCHA.
		start "$mode" "$cols" "$rows" "$bin"
		shot "identify$suffix" "$mode"
		stop

		rm -f "$data/outbox.log"
		start "$mode" "$cols" "$rows" "$bin" --config "$cfg"
		typ bob
		keys Return
		if [[ -z $suffix ]]; then shot methods "$mode"; fi
		keys Return # text my mobile phone
		typ "(212) 555-0199"
		keys Return
		if [[ -z $suffix ]]; then shot number-wrong "$mode"; fi
		keys ctrl+u
		typ "(212) 555-0102"
		keys Return
		shot "code$suffix" "$mode"
		if [[ -z $suffix ]]; then
			keys ctrl+r
			shot code-cooldown "$mode"
			keys Escape
			shot code-esc "$mode"
			keys n
		fi
		typ "$(code)"
		keys Return
		typ "Brand-New"
		if [[ -z $suffix ]]; then shot password "$mode"; fi
		typ "-Passw0rd-77"
		keys Return
		typ "Brand-New-Passw0rd-77"
		keys Return
		sleep 3 # the directory hashes the new password
		shot "done$suffix" "$mode"
		stop
		# The next walk resets bob's password again: put the old one back.
		printf 'Copper-Violin-3907\n' | "$bin" --config "$cfg" users passwd bob >/dev/null 2>&1 || true
	done
done
ls -la "$out"
