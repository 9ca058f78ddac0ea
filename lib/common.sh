# Shared by every script of the project (the kernel build, the packaging,
# the VM harness, the series' checks): messages, the cache layout,
# flavours/defines, apt.  Sourced, not run.
# shellcheck shell=bash

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Everything downloaded or built lives outside the checkout, so that clean
# clones reuse it and `git status` stays clean.
VM_CACHE=${VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/linux-syslet}

# The checkout this library belongs to.
LIB_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# defines_field KEY: the value of "KEY:" in flavours/defines.
defines_field() {
	local v
	v=$(sed -n "s/^$1:[[:space:]]*//p" "$LIB_TOP/flavours/defines")
	[ -n "$v" ] || die "flavours/defines has no '$1:' line"
	echo "$v"
}

# The kernel source and configuration packages (flavours/defines).
KSRC_PKG=${KSRC_PKG:-$(defines_field source-package)}
KCFG_PKG=${KCFG_PKG:-$(defines_field config-package)}
KSRC_TARBALL=${KSRC_TARBALL:-/usr/src/$KSRC_PKG.tar.xz}

# packaged_flavours: the flavours the packages carry, in debian/control's
# order (flavours/defines; debian/bin/gencontrol, a sh script, reads the
# same line).
packaged_flavours() { defines_field packaged; }

# changelog_ksrc_version: the $KSRC_PKG version debian/changelog's
# packages are built from (its version less +syslet<N>[+deb13]).
changelog_ksrc_version() {
	(cd "$LIB_TOP" && dpkg-parsechangelog -S Version) | sed -E 's/\+syslet[0-9]+(\+deb[0-9]+)?$//'
}

# changelog_abi: the ABI number of the kernels debian/changelog builds:
# its syslet revision N (+syslet<N>), in every packaged flavour's
# uname -r (6.12.118-syslet<N>-FLAVOUR; the flavours' "{abi}").  A new
# series or kernel packaging is a new revision (debian/bin/new-revision),
# so a published kernel is never replaced in place.
changelog_abi() {
	local v
	v=$(cd "$LIB_TOP" && dpkg-parsechangelog -S Version)
	case $v in *+syslet[0-9]*) ;; *) die "debian/changelog's version $v has no +syslet<N>" ;; esac
	sed -E 's/.*\+syslet([0-9]+)(\+deb[0-9]+)?$/\1/' <<<"$v"
}

# ccache_count Hits|Misses: that statistic of the ccache in $CCACHE_DIR so
# far (Kbuild prints CC for a hit too: the misses are the compiles).
ccache_count() {
	ccache -s 2>/dev/null | sed -n "s/^ *$1: *\([0-9]*\).*/\1/p" | head -n 1
}

# need_cmd CMD PACKAGE: fail early, naming the Debian package to install.
need_cmd() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found: install the Debian package '$2' (or run ./setup)"
}

# Installs PACKAGE with apt when we are root and it is missing.
ensure_pkg() {
	dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' &&
		return 0
	[ "$(id -u)" = 0 ] || die "Debian package '$1' is missing; as root: apt-get install $1"
	say "installing $1 with apt"
	# Waits for another install (CI builds packages beside a test run).
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y \
		--no-install-recommends "$1" >&2 ||
		die "apt-get install $1 failed"
}

# apt_versions PACKAGE: the versions of PACKAGE in apt's lists, a line
# each, in any suite (bookworm's security archive carries the kernel
# source).
apt_versions() {
	apt-cache madison "$1" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }'
}

# apt_newest PACKAGE: the highest of apt_versions; nothing when apt knows
# none.
apt_newest() {
	local best='' v
	for v in $(apt_versions "$1"); do
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
	done
	echo "$best"
}

# series_patches FILE: the patch names a series file lists, in order
# (quilt's format: one per line, '#' starts a comment).
series_patches() {
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$1"
}

# secure_boot_key: the PEM file (private key, then certificate) that signs
# the packaged kernels for Secure Boot (sbsign) and their modules
# (CONFIG_MODULE_SIG_KEY): the project's, LINUX_SYSLET_SIGNING_KEY, which
# never enters the tree; without it an ephemeral key, made once for this
# cache ($VM_CACHE/secure-boot) and said so: only machines that enrolled
# that key boot what it signed.
secure_boot_key() {
	local d f
	if [ -n "${LINUX_SYSLET_SIGNING_KEY:-}" ]; then
		f=$LINUX_SYSLET_SIGNING_KEY
		[ -r "$f" ] || die "LINUX_SYSLET_SIGNING_KEY: '$f' is not a readable file"
		grep -q -- '-----BEGIN \([A-Z]* \)\{0,1\}PRIVATE KEY-----' "$f" && grep -q -- '-----BEGIN CERTIFICATE-----' "$f" ||
			die "LINUX_SYSLET_SIGNING_KEY: '$f' must hold the private key and its X.509 certificate, both PEM"
		echo "$f"
		return
	fi
	need_cmd openssl openssl
	d=$VM_CACHE/secure-boot
	f=$d/linux-syslet-signing.pem
	mkdir -p "$d"
	chmod 700 "$d"
	# Builds run side by side (CI's repository beside vm-check): one key.
	(
		flock -x 7
		[ -s "$f" ] && exit 0
		say "making this cache's ephemeral Secure Boot signing key in $f (LINUX_SYSLET_SIGNING_KEY unset)"
		# The extensions of the kernel's own certs/default_x509.genkey.
		openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -batch -utf8 \
			-subj "/O=linux-syslet/CN=linux-syslet ephemeral Secure Boot key ($(hostname 2>/dev/null || echo build machine), $(date -u +%Y-%m-%d))" \
			-addext 'basicConstraints=critical,CA:FALSE' -addext 'keyUsage=digitalSignature' \
			-addext 'subjectKeyIdentifier=hash' -addext 'authorityKeyIdentifier=keyid' \
			-keyout "$f.key" -out "$f.crt" 2>/dev/null || die "openssl req failed to make $f"
		cat "$f.key" "$f.crt" > "$f.tmp"
		rm -f "$f.key" "$f.crt"
		chmod 600 "$f.tmp"
		mv "$f.tmp" "$f"
	) 7>"$d/lock" || exit 1
	say "Secure Boot: signing with this cache's ephemeral key $f, not the project's (LINUX_SYSLET_SIGNING_KEY unset): for this machine's tests, not for users"
	echo "$f"
}

# secure_boot_cert KEYFILE OUT: KEYFILE's certificate, DER, in OUT (what
# mokutil enrols and the image's preinst checks).
secure_boot_cert() {
	openssl x509 -in "$1" -outform DER -out "$2" || die "no X.509 certificate in $1"
}
