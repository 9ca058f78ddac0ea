# Shared by the packaging scripts.  Sourced, not run.
# shellcheck shell=bash
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# fetch_source PACKAGE RELEASE DIR: `apt-get source --download-only` of
# RELEASE's PACKAGE into DIR, through a private deb-src list in the cache,
# so the host's apt configuration stays as it is.  Fails if the mirror
# does not have it.
fetch_source() {
	local apt=$VM_CACHE/apt-src/$2
	local opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o APT::Sandbox::User=root)
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$3"
	# One apt at a time on this list: CI builds libaio for vm-check and
	# for the packages at once, and apt-get update fails on a held lock.
	(
		flock 7
		echo "deb-src ${DEBIAN_MIRROR:-http://deb.debian.org/debian} $2 main" > "$apt/sources.list"
		apt-get -q "${opts[@]}" update >&2 || die "apt-get update of $2's deb-src index failed"
		cd "$3" && apt-get -q "${opts[@]}" source --download-only "$1" >&2
	) 7>"$apt.lock"
}

# quilt_apply SRC PATCH...: appends each PATCH (as syslet-NAME) to the
# debian/patches series of the unpacked source package SRC, whose own
# patches dpkg-source -x applied, and applies them the same way, with no
# fuzz.
quilt_apply() {
	local src=$1 p name
	shift
	for p in "$@"; do
		name=syslet-$(basename "$p")
		cp "$p" "$src/debian/patches/$name"
		echo "$name" >> "$src/debian/patches/series"
	done
	(cd "$src" && QUILT_PATCHES=debian/patches quilt --quiltrc /dev/null push -a --fuzz=0 -q >&2)
}

# libaio_patches: the paths of patches/libaio's series, in order.
libaio_patches() {
	local top p
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	for p in $(series_patches "$top/patches/libaio/series"); do
		echo "$top/patches/libaio/$p"
	done
}

# inputs_hash WORD... -- PATH...: a hash of the WORDs and of the content of
# the project's files under each PATH (tracked and new files, as git sees
# them), naming a build by what went into it.
inputs_hash() {
	local top words=()
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	while [ $# -gt 0 ] && [ "$1" != -- ]; do words+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	{
		printf '%s\n' "${words[@]}"
		(cd "$top" && git ls-files -z -co --exclude-standard -- "$@" | sort -z |
			xargs -0 -r sha256sum)
	} | sha256sum | cut -c1-16
}

# ABI_INPUTS: what the kernel packages are built from.  A change to any of
# them is a new revision, with a new ABI number in uname -r
# (debian/bin/new-revision): debian/abi-inputs records their hash for
# debian/changelog's revision, and make lint fails when they moved on
# without one.
# shellcheck disable=SC2034  # read by the scripts that source this file
ABI_INPUTS=(patches/linux flavours kernel/build-kernel debian/rules debian/bin/install-kernel
	debian/bin/gencontrol debian/templates)

# abi_inputs_hash: inputs_hash of ABI_INPUTS (the files under them, as
# find sees them where the tree is not a git checkout: a dist tarball).
abi_inputs_hash() {
	local top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		inputs_hash -- "${ABI_INPUTS[@]}"
	else
		# The same lines as inputs_hash's (its empty WORD line first).
		{
			echo
			(cd "$top" && find "${ABI_INPUTS[@]}" -type f -print0 | sort -z | xargs -0 -r sha256sum)
		} | sha256sum | cut -c1-16
	fi
}

# abi_record: the "syslet<N> <hash>" line debian/abi-inputs holds for the
# tree as it is.
abi_record() {
	echo "syslet$(changelog_abi) $(abi_inputs_hash)"
}

# abi_record_write: debian/abi-inputs for the tree as it is.
abi_record_write() {
	local top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	{
		echo "# What debian/changelog's revision of the kernel packages is built from:"
		echo "# syslet<N> and the hash of packaging/lib.sh's ABI_INPUTS.  Written by"
		echo "# debian/bin/new-revision and packaging/rebase; make lint fails when the"
		echo "# inputs moved on without a new revision (a new uname -r)."
		abi_record
	} > "$top/debian/abi-inputs"
}

# new_kernel_entry VERSION UPSTREAM ABI DATE CHANGE...: the kernel
# packages' next entry, written to copies first (a failure changes
# nothing): debian/changelog VERSION, rpm/kernel-syslet.spec's Version
# UPSTREAM, abi ABI and %changelog, each CHANGE a line of both; then
# debian/control and debian/abi-inputs.  DATE: RFC 2822, or empty for now.
# For packaging/rebase and debian/bin/new-revision.
new_kernel_entry() {
	local version=$1 upstream=$2 abi=$3 when=${4:-$(date -u -R)} top spec work c
	shift 4
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	spec=$top/rpm/kernel-syslet.spec
	date -d "$when" >/dev/null 2>&1 || die "--date '$when' is not a date"
	grep -q '^Version:' "$spec" && grep -q '^%global abi ' "$spec" && grep -q '^%changelog$' "$spec" ||
		die "rpm/kernel-syslet.spec lacks its Version:, '%global abi' or %changelog line"
	for c; do [ -n "$c" ] || die "an empty CHANGE"; done
	work=$(mktemp -d "${TMPDIR:-/tmp}/kernel-entry.XXXXXX")
	{
		printf 'linux-syslet (%s) bookworm; urgency=medium\n\n' "$version"
		for c; do printf '%s\n' "$c" | fmt -w 74 | sed '1s/^/  * /; 2,$s/^/    /'; done
		printf '\n -- linux-syslet <linux-syslet@users.invalid>  %s\n\n' "$(date -u -R -d "$when")"
		cat "$top/debian/changelog"
	} > "$work/changelog"
	mkdir "$work/debian"
	cp "$work/changelog" "$work/debian/"
	(cd "$work" && dpkg-parsechangelog -S Version >/dev/null) ||
		{ rm -rf "$work"; die "the new debian/changelog entry does not parse"; }
	awk -v ver="$upstream" -v abi="$abi" -v d="$(LC_ALL=C date -u -d "$when" '+%a %b %d %Y')" \
		-v lines="$(printf '%s\n' "$@")" '
		/^Version:/ { sub(/[^[:space:]]+$/, ver) }
		/^%global abi / { $0 = "%global abi " abi }
		{ print }
		/^%changelog$/ {
			printf "* %s linux-syslet <linux-syslet@users.invalid> - %s-1.syslet%s\n", d, ver, abi
			n = split(lines, l, "\n")
			for (i = 1; i <= n; i++) if (l[i] != "") printf "- %s\n", l[i]
			printf "\n"
		}' "$spec" > "$work/spec"
	cp "$work/changelog" "$top/debian/changelog"
	cp "$work/spec" "$spec"
	rm -rf "$work"
	"$top/debian/bin/gencontrol"
	abi_record_write
}

# key_info KEYFILE: "DATE FINGERPRINT TAIL" of an exported OpenPGP public
# key: its creation date (2026.12.07), fingerprint, and the fingerprint's
# last 8 hex digits in lower case.  The keyring and release packages are
# versioned by their key (DATE and TAIL).
key_info() {
	local info created fpr
	info=$(gpg --batch --with-colons --show-keys "$1" 2>/dev/null) || true
	created=$(awk -F: '$1 == "pub" { print $6; exit }' <<<"$info")
	fpr=$(awk -F: '$1 == "fpr" { print $10; exit }' <<<"$info")
	[ -n "$created" ] && [ -n "$fpr" ] || die "$1 is not an OpenPGP public key"
	echo "$(date -u -d "@$created" +%Y.%m.%d) $fpr $(tr '[:upper:]' '[:lower:]' <<<"${fpr: -8}")"
}

# sb_cert_info CERT: "DATE FINGERPRINT TAIL" of the Secure Boot
# certificate CERT (DER), as key_info: its notBefore date, SHA-256
# fingerprint (hex, no colons), and its last 8 digits in lower case.
sb_cert_info() {
	local start fpr
	start=$(openssl x509 -inform DER -in "$1" -noout -startdate 2>/dev/null | sed 's/^notBefore=//') || true
	fpr=$(openssl x509 -inform DER -in "$1" -noout -fingerprint -sha256 2>/dev/null |
		sed 's/^.*=//; s/://g') || true
	[ -n "$start" ] && [ -n "$fpr" ] || die "$1 is not an X.509 certificate (DER)"
	echo "$(date -u -d "$start" +%Y.%m.%d) $fpr $(tr '[:upper:]' '[:lower:]' <<<"${fpr: -8}")"
}

# keys_version KEYFILE CERT: "DATE TAILS" that version the packages
# carrying the repository key KEYFILE and the Secure Boot certificate
# CERT (linux-syslet-archive-keyring, linux-syslet-release): the later of
# the two keys' dates, then each fingerprint's tail (KTAIL.SBTAIL), so
# that a new key of either kind sorts higher.
keys_version() {
	local kdate ktail sbdate sbtail
	read -r kdate _ ktail <<<"$(key_info "$1")"
	read -r sbdate _ sbtail <<<"$(sb_cert_info "$2")"
	[[ "$sbdate" > "$kdate" ]] || sbdate=$kdate
	echo "$sbdate $ktail.$sbtail"
}

# SUITE_INPUTS: what a build of the suite (aio-syslet-tests) reads, for
# inputs_hash: its sources and the build system around them.
# shellcheck disable=SC2034  # read by the scripts that source this file
SUITE_INPUTS=(userspace configure.ac Makefile.am bootstrap m4 COPYING README.md
	vm/Makemodule.am packaging/Makemodule.am)

# in_build_cache NAME HASH: succeeds when a build NAME of inputs HASH is
# in the cache.
in_build_cache() {
	[ -f "$VM_CACHE/built/$1/$2/.complete" ]
}

# from_build_cache NAME HASH OUT: when a build NAME of inputs HASH is in
# the cache, copies it to OUT (replacing it) and succeeds.
from_build_cache() {
	local c=$VM_CACHE/built/$1/$2
	in_build_cache "$1" "$2" || return 1
	rm -rf "$3.new"
	mkdir -p "$(dirname "$3")"
	cp -a "$c" "$3.new"
	rm -f "$3.new/.complete"
	rm -rf "$3"
	mv "$3.new" "$3"
	say "$1: inputs unchanged since a build in $c: reusing it"
}

# to_build_cache NAME HASH DIR: keeps DIR as the build NAME of inputs HASH
# (the last few of each NAME).
to_build_cache() {
	local base=$VM_CACHE/built/$1 c=$VM_CACHE/built/$1/$2
	mkdir -p "$base"
	rm -rf "$c.tmp" "$c"
	cp -a "$3" "$c.tmp"
	touch "$c.tmp/.complete"
	mv "$c.tmp" "$c"
	# shellcheck disable=SC2012
	ls -1dt "$base"/*/ 2>/dev/null | tail -n +4 | xargs -r rm -rf
}
