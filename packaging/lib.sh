# Shared by the packaging scripts.  Sourced, not run.
. "$(dirname "${BASH_SOURCE[0]}")/../vm/lib.sh"

# fetch_source PACKAGE RELEASE DIR: `apt-get source --download-only` of
# RELEASE's PACKAGE into DIR, through a private deb-src list in the cache,
# so the host's apt configuration stays as it is.  Fails if the mirror
# does not have it.
fetch_source() {
	local apt=$VM_CACHE/apt-src/$2
	local opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" -o APT::Sandbox::User=root)
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$3"
	echo "deb-src ${DEBIAN_MIRROR:-http://deb.debian.org/debian} $2 main" > "$apt/sources.list"
	apt-get -q "${opts[@]}" update >&2 || die "apt-get update of $2's deb-src index failed"
	(cd "$3" && apt-get -q "${opts[@]}" source --download-only "$1" >&2)
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
