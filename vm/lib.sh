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

# guest_command PARTS RUNNER: the shell command a test VM runs, part by
# part (comma-separated: suite, stress, libaio; see vm/vm-check --help);
# RUNNER is the aio-syslet-tests path in the guest.  Any failure makes the
# command's status 1.  Shared by vm-check and the packages' e2e test.
guest_command() {
	local parts=$1 runner=$2 cmd="st=0"
	case ",$parts," in *,suite,*)
		# Once per fs.aio-syslet mode the kernel has: on (1), then off (0,
		# stock behaviour), in one boot.
		cmd+="
r=$runner
if [ -w /proc/sys/fs/aio-syslet ]; then
	for mode in 1 0; do
		echo \"# suite pass: fs.aio-syslet=\$mode\"
		echo \$mode > /proc/sys/fs/aio-syslet || exit 1
		\$r --tap || st=1
	done
	echo 1 > /proc/sys/fs/aio-syslet
else
	\$r --tap || st=1
fi" ;;
	esac
	case ",$parts," in *,stress,*)
		# Cold buffered reads of null_blk (20 ms each) over 64 MiB, more than
		# 5 s of them can bring into the cache; one system call per
		# io_submit(), so the tool sees the kernel's short counts.  Where
		# null_blk is a module, its parameters come from the command line.
		cmd+="
[ -b /dev/nullb0 ] || modprobe null_blk || st=1
echo \"# aio-syslet-stress: fs.aio-syslet=\$(cat /proc/sys/fs/aio-syslet 2>/dev/null || echo none)\"
aio-syslet-stress --cold --submit-once -s 64m -d 32 -T 5 /dev/nullb0 > /tmp/stress.log 2>&1 || st=1
sed 's/^/# aio-syslet-stress: /' /tmp/stress.log" ;;
	esac
	case ",$parts," in *,libaio,*)
		cmd+="
echo \"# libaio harness: fs.aio-syslet=\$(cat /proc/sys/fs/aio-syslet 2>/dev/null || echo none)\"
/usr/libexec/libaio-harness/run-harness \$AIO_TEST_DIR/libaio-harness > /tmp/harness.log 2>&1 || st=1
grep -E 'FAILED|^Pass:|^Completed cases/' /tmp/harness.log | sed 's/^/# libaio harness: /'" ;;
	esac
	printf '%s\nexit $st\n' "$cmd"
}

# The null_blk the stress part reads: 20 ms completions, memory backed.
NULL_BLK_KOPT="null_blk.irqmode=2 null_blk.completion_nsec=20000000 null_blk.memory_backed=1"

# judge_run CONSOLE RESULTS RC PARTS TIMEOUT: judges a test VM's run (vm/run
# exit status RC) and prints what it found: any kernel splat in the
# console log (quoted), each suite pass's summary, the libaio and stress
# results.  Sets JUDGED_SPLATS and JUDGED_SUMMARY (the total); returns 1
# when the run failed.
judge_run() {
	local console=$1 results=$2 rc=$3 parts=$4 timeout=$5 verdict=0 passes partial
	# Any of these in the console is a kernel bug: quote it and fail.
	JUDGED_SPLATS=$(grep -nE 'WARNING:|BUG:|Oops|general protection fault|Kernel panic|KASAN|UBSAN:|possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked for more than|INFO: rcu_.* stall|soft lockup|Call Trace:' "$console" |
		grep -vE 'KernelAddressSanitizer initialized|Lock dependency validator' || true)
	if [ -n "$JUDGED_SPLATS" ]; then
		say "kernel splat in the console log ($console):"
		printf '%s\n' "$JUDGED_SPLATS" | head -n 40 | sed 's/^/    /' >&2
		verdict=1
	fi
	case $rc in
	0) ;;
	124) say "the VM timed out after ${timeout}s"; verdict=1 ;;
	125) say "the guest died without reporting a status"; verdict=1 ;;
	*) say "the tests in the VM exited with status $rc"; verdict=1 ;;
	esac
	# One summary line per suite pass; the total is JUDGED_SUMMARY.
	JUDGED_SUMMARY=$(sed -n 's/^# \([0-9]* passed, [0-9]* failed, [0-9]* skipped\)$/\1/p' "$results" |
		awk '{ p += $1; f += $3; s += $5; n++ } END { if (n) printf "%d passed, %d failed, %d skipped\n", p, f, s }')
	passes=$(grep -c '^# suite pass:' "$results" || true)
	if [ "$passes" -gt 1 ]; then
		paste -d' ' <(sed -n 's/^# suite pass: //p' "$results") \
			<(sed -n 's/^# \([0-9]* passed, [0-9]* failed, [0-9]* skipped\)$/\1/p' "$results") |
			sed "s/^/${0##*/}: /"
	fi
	case ",$parts," in *,libaio,*)
		grep -E '^# libaio harness: (Pass|.*FAILED)' "$results" | sed "s/^# /${0##*/}: /"
		grep -q '^# libaio harness: Pass:' "$results" ||
			{ say "no result from libaio's harness"; verdict=1; } ;;
	esac
	case ",$parts," in *,stress,*)
		grep -E '^# aio-syslet-stress: (ops|iops|latency|io_submit|errors|first)' "$results" |
			sed "s/^# /${0##*/}: /"
		partial=$(sed -n 's/^# aio-syslet-stress: io_submit calls [0-9]*, partial submits \([0-9]*\),.*/\1/p' "$results")
		if [ -z "$partial" ]; then
			say "no result from aio-syslet-stress"
			verdict=1
		elif grep -q '^# aio-syslet-stress: fs.aio-syslet=1$' "$results" && [ "$partial" = 0 ]; then
			say "aio-syslet-stress saw no short io_submit() count with syslets on: no handoff happened"
			verdict=1
		fi ;;
	esac
	case ",$parts," in *,suite,*)
		if [ -z "$JUDGED_SUMMARY" ]; then
			say "no summary line in $results"
			verdict=1
			JUDGED_SUMMARY="0 passed, 0 failed (no summary from the guest)"
		fi ;;
	esac
	return $verdict
}
