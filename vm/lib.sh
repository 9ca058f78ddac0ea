# Shared by the VM harness scripts: messages, the cache layout, and the
# kernel source location.  Sourced, not run.

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Everything downloaded or built lives outside the checkout, so that clean
# clones reuse it and `git status` stays clean.
VM_CACHE=${VM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/linux-syslet}
KSRC_PKG=${KSRC_PKG:-linux-source-6.12}
KSRC_TARBALL=${KSRC_TARBALL:-/usr/src/$KSRC_PKG.tar.xz}

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
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$1" >&2 ||
		die "apt-get install $1 failed"
}

# series_patches FILE: the patch names a series file lists, in order
# (quilt's format: one per line, '#' starts a comment).
series_patches() {
	sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$1"
}
