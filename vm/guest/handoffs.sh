# shellcheck shell=sh
# Guest shell functions that count the syslet_handoff trace events between
# handoffs_start and "handoffs_report LABEL", which prints
# "# handoffs: LABEL: N"; without the event, handoffs_start prints an error
# line and sets st=1.  Sets tr (the tracefs directory) and ev (the event's
# enable file), which prefix.sh reads too.  Reads no host value.
# Shared by suite.sh (vm/lib.sh's guest_command) and prefix.sh
# (patches/boot-prefixes).
# shellcheck disable=SC2034  # st: the guest's status, which its last line, exit $st, returns
tr=/sys/kernel/tracing
ev=$tr/events/syslet/syslet_handoff/enable
handoffs_start() {
	[ -e "$tr/trace" ] || mount -t tracefs nodev "$tr" 2>/dev/null
	if [ ! -e "$ev" ]; then
		echo "# error: no syslet_handoff trace event ($ev): handoffs cannot be counted"
		st=1
		return
	fi
	echo 0 > "$tr/tracing_on"
	echo 0 > "$tr/events/enable"
	# No sched_switch probe for command lines: no patching of __schedule().
	echo 0 > "$tr/options/record-cmd"
	echo > "$tr/trace"
	echo 1 > "$ev"
	echo 1 > "$tr/tracing_on"
}
handoffs_report() {
	[ -e "$ev" ] || return
	echo 0 > "$tr/tracing_on"
	echo 0 > "$ev"
	# Only this event is on: what was written is what is kept plus what was overwritten.
	echo "# handoffs: $1: $(cat "$tr"/per_cpu/cpu*/stats | awk '/^(entries|overrun):/ { n += $2 } END { print n + 0 }')"
}
