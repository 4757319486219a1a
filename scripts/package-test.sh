#!/usr/bin/env bash
# The Debian package, installed for real (as root): build the amd64
# package, install it, check what it installed, that the shipped config
# refuses to start with what to set, that an administrator's config serves
# as the user sspr with the paths and permissions the package made, then
# remove (config and data kept) and purge (gone). It leaves the machine as
# it found it: the package purged, and the user sspr deleted when this test
# made it.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
	echo "package-test: FAIL: $*" >&2
	exit 1
}
[[ $(id -u) == 0 ]] || fail "run as root: it installs and purges the package"
[[ $(dpkg --print-architecture) == amd64 ]] || fail "the package test installs the amd64 package; this is $(dpkg --print-architecture)"
if dpkg-query -W -f '${db:Status-Status}' sspr 2>/dev/null | grep -qv '^not-installed$'; then
	fail "sspr is installed here already; this test installs and purges it: dpkg -P sspr first"
fi

start=$SECONDS
user_existed=no
getent passwd sspr >/dev/null && user_existed=yes
server=
dist=$(mktemp -d)
cleanup() {
	rm -rf "$dist"
	[[ -z $server ]] || kill -TERM "$server" 2>/dev/null || true
	dpkg -P sspr >/dev/null 2>&1 || true
	if [[ $user_existed == no ]] && getent passwd sspr >/dev/null; then
		deluser --system --quiet sspr >/dev/null 2>&1 || userdel sspr
	fi
	if [[ $user_existed == no ]] && getent group sspr >/dev/null; then
		delgroup --system --quiet sspr >/dev/null 2>&1 || groupdel sspr || true
	fi
}
trap cleanup EXIT

# gzip: a third of xz's time here, and the contents are the same.
deb=$(DIST=$dist DEB_COMPRESS=gzip scripts/package.sh amd64 | tail -1 | cut -d' ' -f1)
echo "package-test: built $deb ($((SECONDS - start))s)"
dpkg -i "$deb" >/dev/null

# What it installed, and who owns it.
sspr version | grep -q '^sspr [0-9]' || fail "sspr version: $(sspr version)"
want_version=$(dpkg-deb -f "$deb" Version)
sspr version | grep -qF "sspr $want_version (commit $(git rev-parse HEAD)" || fail "sspr version does not name $want_version and the commit: $(sspr version)"
for f in /usr/share/man/man1/sspr.1.gz /usr/share/bash-completion/completions/sspr \
	/usr/share/zsh/vendor-completions/_sspr /usr/share/fish/vendor_completions.d/sspr.fish \
	/usr/share/doc/sspr/copyright /usr/share/doc/sspr/README.md /usr/share/doc/sspr/docs/OPERATIONS.md \
	/usr/share/doc/sspr/examples/sspr.yaml /usr/lib/systemd/system/sspr.service \
	/usr/lib/systemd/system/sspr-kiosk@.service; do
	[[ -s $f ]] || fail "$f is missing"
done
zcat /usr/share/man/man1/sspr.1.gz | grep -q '^\.TH "SSPR" "1"' || fail "sspr.1 is not a man page"
getent passwd sspr | grep -q ':/var/lib/sspr:/usr/sbin/nologin$' || fail "user sspr: $(getent passwd sspr)"
[[ $(stat -c '%a %U %G' /var/lib/sspr) == '750 sspr sspr' ]] || fail "/var/lib/sspr is $(stat -c '%a %U %G' /var/lib/sspr)"
[[ $(stat -c '%a %U %G' /etc/sspr) == '750 root sspr' ]] || fail "/etc/sspr is $(stat -c '%a %U %G' /etc/sspr)"
[[ $(stat -c '%a %U %G' /etc/sspr/sspr.yaml) == '640 root sspr' ]] || fail "/etc/sspr/sspr.yaml is $(stat -c '%a %U %G' /etc/sspr/sspr.yaml)"

# The units.
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify /usr/lib/systemd/system/sspr.service
	# A template is verified through an instance of it.
	units=$(mktemp -d)
	cp /usr/lib/systemd/system/sspr-kiosk@.service "$units/sspr-kiosk@tty1.service"
	systemd-analyze verify "$units/sspr-kiosk@tty1.service"
	rm -rf "$units"
else
	echo "package-test: systemd-analyze is missing: the units are not verified"
fi

# As shipped, it refuses, and says which keys to set.
if out=$(sspr --config /etc/sspr/sspr.yaml check 2>&1); then
	fail "the shipped config passes check: $out"
fi
grep -q 'methods: is missing: name how each method is delivered' <<<"$out" || fail "check does not ask for methods: $out"
if out=$(runuser -u sspr -- sspr --config /etc/sspr/sspr.yaml serve 2>&1); then
	fail "the shipped config serves"
fi
grep -q 'methods: is missing' <<<"$out" || fail "serve does not ask for methods: $out"
# With methods named, the embedded directory's missing file says what to do.
cfg=/etc/sspr/package-test.yaml
{ cat /etc/sspr/sspr.yaml; printf '\ndemo: true\nmethods: {text: demo, call: demo, email: demo, push: demo}\n'; } >$cfg
chown root:sspr $cfg
chmod 0640 $cfg
if out=$(runuser -u sspr -- sspr --config $cfg check 2>&1); then
	fail "check passes without users: $out"
fi
grep -q 'users.yaml.*no such file.*users add LOGIN.*directory.ldap' <<<"$out" || fail "check does not say how to add people: $out"

# An administrator's config, served as sspr.
port=
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 20000))
	if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
		port=$p
		break
	fi
done
[[ -n $port ]] || fail "no free port"
printf 'ssh:\n  listen: 127.0.0.1:%s\n' "$port" >>$cfg
echo 'Copper-Violin-3907' | runuser -u sspr -- sspr --config $cfg users add bob --mobile '+1 212 555 0102' >/dev/null
runuser -u sspr -- sspr --config $cfg check >/dev/null || fail "check of the working config: $(runuser -u sspr -- sspr --config $cfg check 2>&1)"
log=$dist/serve.log
runuser -u sspr -- /usr/bin/sspr --config $cfg serve >/dev/null 2>"$log" &
server=$!
for _ in $(seq 100); do
	(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
	kill -0 "$server" 2>/dev/null || fail "serve ended: $(cat "$log")"
	sleep 0.1
done
banner=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; head -c 7 <&3") || true
[[ $banner == SSH-2.0 ]] || fail "no SSH server on 127.0.0.1:$port: $(cat "$log")"
# SIGTERM to sspr itself: runuser, signalled, would end it and exit 143
# whatever sspr did.
pid=$(pgrep -P "$server" -x sspr) || fail "no sspr process under runuser"
kill -TERM "$pid"
status=0
wait "$server" || status=$?
server=
[[ $status == 0 ]] || fail "serve exited $status on SIGTERM: $(cat "$log")"
for f in secret.key ssh_host_ed25519_key users.yaml audit.log; do
	[[ $(stat -c '%a %U' "/var/lib/sspr/$f") == '600 sspr' ]] || fail "/var/lib/sspr/$f is $(stat -c '%a %U' "/var/lib/sspr/$f")"
done

# Remove keeps the config and the data; purge deletes them.
dpkg -r sspr >/dev/null
[[ ! -e /usr/bin/sspr ]] || fail "/usr/bin/sspr is left after remove"
[[ -f /etc/sspr/sspr.yaml && -f /var/lib/sspr/users.yaml ]] || fail "remove deleted the config or the data"
dpkg -P sspr >/dev/null
[[ ! -e /etc/sspr && ! -e /var/lib/sspr ]] || fail "purge left /etc/sspr or /var/lib/sspr"
getent passwd sspr >/dev/null || fail "purge deleted the user sspr (it is kept on purge)"

echo "package-test: ok ($((SECONDS - start))s)"
