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
