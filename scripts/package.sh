#!/usr/bin/env bash
# Build the Debian packages dist/sspr_<version>_<arch>.deb (amd64 and
# arm64, or the architectures given as arguments) from packaging/deb.
#
#   scripts/package.sh              both
#   scripts/package.sh amd64        one
#   VERSION=1.2.3 scripts/package.sh
#   DEB_COMPRESS=gzip scripts/package.sh amd64   faster, larger (default xz)
#   DIST=/tmp/out scripts/package.sh             elsewhere than dist/
#
# The version is VERSION, else the last tag (v1.2.3 -> 1.2.3, with
# +<commits>.g<hash> after it when the tree is past the tag), else
# 0.0.0+<commit date>.<short commit>. The binary is a static cross-build
# (CGO_ENABLED=0) stamped with that version and the commit.
#
# The .deb is made by dpkg-deb, the tool Debian itself builds every package
# with, present on any Debian system: no new dependency (no fpm, nfpm or
# debhelper), and --root-owner-group makes every file root's without
# fakeroot. The account and the directories owned by it are made by the
# maintainer scripts.
set -euo pipefail
cd "$(dirname "$0")/.."

archs=("$@")
[[ ${#archs[@]} -gt 0 ]] || archs=(amd64 arm64)

commit=$(git rev-parse HEAD)
short=$(git rev-parse --short=12 HEAD)
if ! git diff --quiet HEAD -- 2>/dev/null; then
	commit+=-dirty
fi
if [[ -z ${VERSION:-} ]]; then
	described=$(git describe --tags --always 2>/dev/null || true)
	# A tag looks like v1.2 or 1.2.3; a bare commit hash (no tag) does not.
	if [[ $described =~ ^v?([0-9]+\.[0-9][0-9A-Za-z.~+]*)(-([0-9]+)-g([0-9a-f]+))?$ ]]; then
		VERSION=${BASH_REMATCH[1]}
		[[ -z ${BASH_REMATCH[2]} ]] || VERSION+="+${BASH_REMATCH[3]}.g${BASH_REMATCH[4]}"
	else
		VERSION="0.0.0+$(git log -1 --format=%cd --date=format:%Y%m%d).$short"
	fi
fi
if ! [[ $VERSION =~ ^[0-9][0-9A-Za-z.+~]*$ ]]; then
	echo "package.sh: VERSION $VERSION is not a Debian version (a digit, then letters, digits and . + ~)" >&2
	exit 2
fi
# File dates, the man pages' date and the archive's come from the commit,
# so that building one commit twice gives the same package.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
maintainer=${DEB_MAINTAINER:-sspr maintainers <sspr@localhost>}

ldflags="-s -w -X main.version=$VERSION -X main.commit=$commit"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dist=${DIST:-dist}
mkdir -p "$dist"

# Completions and man pages come from a binary that runs here.
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$work/sspr-host" ./cmd/sspr
mkdir -p "$work/gen/man" "$work/gen/completions"
"$work/sspr-host" gen-man "$work/gen/man"
gzip -9n "$work/gen/man"/*.1
"$work/sspr-host" completion bash >"$work/gen/completions/sspr"
"$work/sspr-host" completion zsh >"$work/gen/completions/_sspr"
"$work/sspr-host" completion fish >"$work/gen/completions/sspr.fish"

# copyright: sspr's, then every module compiled into the binary with its
# license text.
copyright() {
	cat <<'HEAD'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: sspr
Comment: sspr is a static Go binary. The modules compiled into it are
 listed below, each with the license text it ships.

Files: *
Copyright: the sspr authors
License: see the source repository
HEAD
	go list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}} {{.Dir}}{{end}}{{end}}' ./cmd/sspr |
		sort -u | while read -r path ver dir; do
		[[ -n $path ]] || continue
		printf '\nFiles: compiled in from %s %s\n' "$path" "$ver"
		lic=$(find "$dir" -maxdepth 1 -type f \( -iname 'LICENSE*' -o -iname 'LICENCE*' -o -iname 'COPYING*' \) | sort | head -1)
		if [[ -n $lic ]]; then
			printf 'License: see below\n'
			sed -e 's/^[[:space:]]*$/./' -e 's/^/ /' "$lic"
		else
			printf 'License: none found in the module\n'
		fi
	done
}

for arch in "${archs[@]}"; do
	case $arch in
	amd64 | arm64) ;;
	*)
		echo "package.sh: unknown architecture $arch (amd64, arm64)" >&2
		exit 2
		;;
	esac
	root=$work/$arch
	doc=$root/usr/share/doc/sspr
	install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/etc/sspr" \
		"$root/usr/lib/systemd/system" "$root/usr/share/man/man1" \
		"$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
		"$root/usr/share/fish/vendor_completions.d" "$doc/docs" "$doc/examples"

	if [[ $arch == "$(go env GOARCH)" && $(go env GOOS) == linux ]]; then
		cp "$work/sspr-host" "$root/usr/bin/sspr" # the same build
	else
		CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags "$ldflags" -o "$root/usr/bin/sspr" ./cmd/sspr
	fi
	chmod 0755 "$root/usr/bin/sspr"
	install -m 0644 packaging/deb/sspr.yaml "$root/etc/sspr/sspr.yaml"
	install -m 0644 packaging/deb/sspr.service packaging/deb/sspr-kiosk@.service "$root/usr/lib/systemd/system/"
	install -m 0644 "$work/gen/man"/*.1.gz "$root/usr/share/man/man1/"
	install -m 0644 "$work/gen/completions/sspr" "$root/usr/share/bash-completion/completions/sspr"
	install -m 0644 "$work/gen/completions/_sspr" "$root/usr/share/zsh/vendor-completions/_sspr"
	install -m 0644 "$work/gen/completions/sspr.fish" "$root/usr/share/fish/vendor_completions.d/sspr.fish"
	# The docs keep the repository's layout, so their links still work.
	install -m 0644 README.md "$doc/"
	install -m 0644 docs/*.md "$doc/docs/"
	install -m 0644 examples/sspr.yaml "$doc/examples/"
	copyright >"$doc/copyright"
	chmod 0644 "$doc/copyright"

	install -m 0644 packaging/deb/conffiles "$root/DEBIAN/conffiles"
	install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$root/DEBIAN/"
	(cd "$root" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
	chmod 0644 "$root/DEBIAN/md5sums"
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
		-e "s/@MAINTAINER@/$maintainer/" packaging/deb/control >"$root/DEBIAN/control"
	chmod 0644 "$root/DEBIAN/control"

	find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	out=$dist/sspr_${VERSION}_${arch}.deb
	dpkg-deb -Z"${DEB_COMPRESS:-xz}" --build --root-owner-group "$root" "$out" >/dev/null
	echo "$out ($(du -h "$out" | cut -f1))"
done
