# shellcheck shell=sh
# The guest's handoff profile (vm/bench, before bench.sh): where a
# handoff's time goes, from ftrace's clock, without perf (TCG has no PMU).
# A syslet job at QD 32 on the device-bound nullb0 runs with the
# sched_waking, sched_switch and syslet_handoff events and kprobes on
# io_submit and io_getevents; handoff_profile_parse (an awk program, run
# on the host by vm/handoff-profile.test too) follows each handoff:
#   submit    the user context's io_submit() entry to the head waking a
#             parked helper (the submission path up to the block);
#   wake      the helper woken to the helper on a CPU (with the share
#             woken on another CPU than the head's);
#   takeover  the helper on a CPU to the syslet_handoff event (the user
#             context moved: credentials checked, identity and state
#             exchanged);
#   resume    syslet_handoff to the user context's next io_submit() or
#             io_getevents() entry (the rest of the syscall, the return
#             to user space, and fio's own work);
#   complete  the former head's CPU time from the wake-up that ends its
#             I/O to its parking (the completion and the park);
#   complete-delay  that wake-up to the former head on a CPU.
# Each prints "profile segment=NAME n= median_us= p90_us= mean_us=" and
# "profile cross_cpu_wakes=PERCENT".
#
# The pids of a handoff: the head blocks as pid T and wakes helper H; the
# helper takes T (the TID moves) and the head goes on as H.  So the
# helper is on a CPU as H, its syslet_handoff event says tid=T
# head_pid=H, and the head's later wake-up and parking are H's.

# handoff_profile_parse: ftrace's text (stdin) to "SEGMENT MICROSECONDS"
# lines, and "cross N" for each wake-up on another CPU.
handoff_profile_parse() {
	awk '
	function us(t0) { return sprintf("%.1f", (ts - t0) * 1000000) }
	{
		ts = ""; cpu = ""; pid = ""; ev = ""; split("", f)
		for (i = 1; i <= NF; i++) {
			if (ts == "" && $i ~ /^[0-9]+\.[0-9]+:$/) { ts = substr($i, 1, length($i) - 1); ev = $(i + 1); break }
			if (cpu == "" && $i ~ /^\[[0-9]+\]$/) { cpu = substr($i, 2, length($i) - 2) + 0; p = $(i - 1); sub(/.*-/, "", p); pid = p }
		}
		if (ts == "" || pid == "") next
		for (i = 1; i <= NF; i++) if ($i ~ /^[a-z_]+=/) { k = $i; sub(/=.*/, "", k); v = $i; sub(/^[^=]*=/, "", v); f[k] = v }
	}
	ev == "io_submit_entry:" || ev == "io_getevents_entry:" {
		if (pid in handed) { print "resume", us(handed[pid]); delete handed[pid] }
		if (ev == "io_submit_entry:") submit[pid] = ts
		next
	}
	ev == "sched_waking:" {
		if (f["comm"] == "aio-syslet" && (pid in submit)) {
			# A head at its block point wakes the parked helper.
			print "submit", us(submit[pid]); delete submit[pid]
			woken[f["pid"]] = ts; wakecpu[f["pid"]] = cpu
		} else if (f["pid"] in blocked) {
			# A former head woken: its I/O is done.
			done[f["pid"]] = ts; delete blocked[f["pid"]]
		}
		next
	}
	ev == "sched_switch:" {
		n = f["next_pid"]; o = f["prev_pid"]
		if (o in running) {
			# A former head between its I/O and its parking (S).
			oncpu[o] += (ts - running[o]) * 1000000; delete running[o]
			if (f["prev_state"] ~ /^S/) { print "complete", sprintf("%.1f", oncpu[o]); delete oncpu[o] }
		}
		if (n in oncpu) running[n] = ts
		if (n in woken) {
			print "wake", us(woken[n])
			if (cpu != wakecpu[n]) print "cross", 1
			else print "cross", 0
			helper[n] = ts; delete woken[n]
		}
		if (n in done) { print "complete-delay", us(done[n]); running[n] = ts; oncpu[n] = 0; delete done[n] }
		next
	}
	ev == "syslet_handoff:" {
		h = f["head_pid"]
		if (h in helper) { print "takeover", us(helper[h]); delete helper[h] }
		handed[f["tid"]] = ts
		blocked[h] = 1
		next
	}'
}

# handoff_profile_summary: the parser's lines (stdin) to the profile lines.
handoff_profile_summary() {
	segs=$(mktemp) || fail "mktemp failed"
	cat > "$segs"
	for seg in submit wake takeover resume complete complete-delay; do
		awk -v s="$seg" '$1 == s { print $2 }' "$segs" | sort -n |
			awk -v s="$seg" '{ v[NR] = $1; t += $1 }
				END {
					if (NR == 0) { printf "profile segment=%s n=0\n", s; exit }
					m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.9) > 0 ? int(NR * 0.9) : 1]
					printf "profile segment=%s n=%d median_us=%.1f p90_us=%.1f mean_us=%.1f\n", s, NR, m, p, t / NR
				}'
	done
	awk '$1 == "cross" { n++; c += $2 } END { if (n) printf "profile cross_cpu_wakes=%.0f%%\n", 100 * c / n }' "$segs"
	rm -f "$segs"
}

# handoff_profile DEVICE SECONDS: the profile of a syslet job at QD 32 on
# DEVICE (cold buffered 4k random reads); nothing where the kernel has no
# syslet events or kprobes (said on a "profile" line).
# Uses bench.sh's $tr (tracefs), fail and handoff_sites; the handoffs'
# sites go under the cold-dev QD 32 syslet row of the report.
handoff_profile() {
	# shellcheck disable=SC2154  # $tr: set by bench.sh, which runs this
	if [ ! -d "$tr/events/syslet" ] || [ ! -w "$tr/kprobe_events" ]; then
		echo "profile unavailable=no syslet trace events or kprobe_events in this kernel"
		return 0
	fi
	profiled='syslet/syslet_handoff sched/sched_waking sched/sched_switch syslet_bench/io_submit_entry
		syslet_bench/io_getevents_entry'
	echo 1 > /proc/sys/fs/aio-syslet
	echo 0 > $tr/tracing_on
	echo > $tr/trace
	if ! { echo 'p:syslet_bench/io_submit_entry __x64_sys_io_submit' >> $tr/kprobe_events &&
		echo 'p:syslet_bench/io_getevents_entry __x64_sys_io_getevents' >> $tr/kprobe_events; }; then
		echo "profile unavailable=cannot set kprobes on io_submit and io_getevents"
		return 0
	fi
	for e in $profiled; do
		echo 1 > "$tr/events/$e/enable"
	done
	sync; echo 3 > /proc/sys/vm/drop_caches
	echo 1 > $tr/tracing_on
	fio --name=profile --bs=4k --norandommap --randrepeat=0 --time_based --runtime="$2" --ioengine=libaio \
		--iodepth=32 --filename="$1" --rw=randread --size=1g --direct=0 --invalidate=1 > /tmp/fio.out 2>&1 ||
		{ sed 's/^/fio-output: /' /tmp/fio.out; fail "the profile's fio job failed"; }
	echo 0 > $tr/tracing_on
	for e in $profiled; do
		echo 0 > "$tr/events/$e/enable"
	done
	lost=$(cat $tr/per_cpu/cpu*/stats 2>/dev/null | awk '/^overrun:/ { n += $2 } END { print n + 0 }')
	echo "profile events_lost=$lost seconds=$2"
	handoff_profile_parse < $tr/trace | handoff_profile_summary
	handoff_sites cold-dev 32 syslet
	echo > $tr/trace
	echo '-:syslet_bench/io_submit_entry' >> $tr/kprobe_events
	echo '-:syslet_bench/io_getevents_entry' >> $tr/kprobe_events
}
