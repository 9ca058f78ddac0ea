# shellcheck shell=sh
# The guest of vm/bench: the benchmark matrix of doc/design.md (section
# 5), every cell the same fio job for every engine, one after another in
# this one boot:
#   libaio on syslets (fs.aio-syslet=1; "syslet-2": the 2007 short counts),
#   libaio on stock io_submit ("stock", =0), io_uring, glibc POSIX AIO
#   (fio's posixaio) and psync threads (numjobs = QD).
# Devices: nullb0 (the kernel command line: L = LAT_MS, the device
# bound), nullbfast (L = FAST_LAT_US: the guest CPU is the bound) and
# nullbfs (L = LAT_MS, ext4 at /mnt/bench for the writes and the real
# clients), all memory backed.
# Each job prints one "result cell=... qd=... engine=... key=value..." line
# (parsed by vm/bench) and fio's own summary line ("fio CELL/QD/ENGINE: ...",
# quoted as it is).  Around each job: the guest's /proc/stat CPU totals
# (busy fraction, so CPU time per I/O), a sampler's peak of the job's
# tasks and of KernelStack + SUnreclaim (kB), and, where the kernel has
# them, the syslet_create and syslet_park trace events counted.
# Then the real clients (sysbench fileio, stress-ng --aiol and --aio:
# "client ..." lines) and aio-syslet-microbench ("microbench ..." lines).
# Reads BENCH (quick or full), RUNTIME, LAT_MS, FAST_LAT_US, HWQD, PROCS,
# IDLE, MICRO_ITERATIONS, MICRO_CACHED_ITERATIONS and PROFILE_SECONDS
# (vm/bench).  Exits 1 when a device, a filesystem or a job
# cannot be set up: the benchmark then has no figures to report.

fail() { echo "bench-error: $*"; exit 1; }
tr=/sys/kernel/tracing
mountpoint -q $tr 2>/dev/null || mount -t tracefs none $tr 2>/dev/null
mountpoint -q /sys/kernel/config 2>/dev/null || mount -t configfs none /sys/kernel/config ||
	fail "cannot mount configfs (null_blk devices are made there)"
syslet=0
[ -w /proc/sys/fs/aio-syslet ] && syslet=1
echo "bench-setup kernel=$(uname -r) syslet=$syslet ncpu=$(grep -c '^cpu[0-9]' /proc/stat) bench=$BENCH runtime=$RUNTIME"
# What one thread costs in slab, for the report's memory per helper.
for c in task_struct pid; do
	[ ! -r /sys/kernel/slab/$c/slab_size ] || echo "bench-setup slab-$c=$(cat /sys/kernel/slab/$c/slab_size)"
done

# mk_nullb NAME LATENCY_NS SIZE_MB: a null_blk device through configfs
# (its other settings are the module's, from the kernel command line).
mk_nullb() {
	d=/sys/kernel/config/nullb/$1
	if ! { mkdir "$d" && echo "$3" > "$d/size" && echo 2 > "$d/irqmode" &&
		echo "$2" > "$d/completion_nsec" && echo 1 > "$d/memory_backed" &&
		echo "$HWQD" > "$d/hw_queue_depth" && echo 1 > "$d/power"; }; then
		fail "cannot make null_blk device $1 through configfs"
	fi
	i=0
	while [ ! -b "/dev/$1" ] && [ $i -lt 10 ]; do sleep 1; i=$((i + 1)); done
	[ -b "/dev/$1" ] || fail "/dev/$1 did not appear"
}
[ -b /dev/nullb0 ] || fail "no /dev/nullb0 (CONFIG_BLK_DEV_NULL_BLK)"
mk_nullb nullbfast $((FAST_LAT_US * 1000)) 2048
mk_nullb nullbfs $((LAT_MS * 1000000)) 3072
mkdir -p /mnt/bench
# By its path: busybox's own mke2fs applet (no ext4) runs before PATH.
/sbin/mke2fs -q -t ext4 -E lazy_itable_init=0,lazy_journal_init=0,nodiscard /dev/nullbfs ||
	fail "mke2fs on /dev/nullbfs failed"
mount -t ext4 /dev/nullbfs /mnt/bench || fail "cannot mount ext4 on /dev/nullbfs"

# The real clients' page cache is capped (their files must not fit in it).
cg=''
if mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null || [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	echo +memory > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
	mkdir -p /sys/fs/cgroup/bench && echo 128M > /sys/fs/cgroup/bench/memory.max 2>/dev/null &&
		cg=/sys/fs/cgroup/bench
fi
if [ -n "$cg" ]; then cap=128M; else cap=none; fi  # none: no cgroup2 memory controller
echo "bench-setup client-memory-cap=$cap"

# The syslet events counted per job: helpers created, and parkings.
# Each handoff parks its former head once, so handoffs = parkings -
# helpers created (each new helper parks once too).  Not the
# syslet_handoff event: it walks the head's stack for its site at every
# handoff, which the measured job must not pay (the profile records it).
events=''
if [ -d $tr/events/syslet ]; then
	events='syslet_create syslet_park'
	echo 0 > $tr/options/record-cmd
	echo 8192 > $tr/buffer_size_kb
fi
ev_start() {
	[ -n "$events" ] || return 0
	echo 0 > $tr/tracing_on
	echo > $tr/trace
	for e in $events; do echo 1 > "$tr/events/syslet/$e/enable"; done
	echo 1 > $tr/tracing_on
}
# ev_stop: "helpers=N handoffs=N" (a count with + lost events to a full buffer).
ev_stop() {
	[ -n "$events" ] || { echo 'helpers=- handoffs=-'; return 0; }
	echo 0 > $tr/tracing_on
	for e in $events; do echo 0 > "$tr/events/syslet/$e/enable"; done
	lost=$(cat $tr/per_cpu/cpu*/stats 2>/dev/null | awk '/^overrun:/ { n += $2 } END { print n + 0 }')
	m=''; [ "$lost" = 0 ] || m=+
	created=$(grep -c ' syslet_create:' $tr/trace)
	parked=$(grep -c ' syslet_park:' $tr/trace)
	handoffs=$((parked - created))
	[ $handoffs -ge 0 ] || handoffs=0
	echo "helpers=$created$m handoffs=$handoffs$m"
}

# handoff_sites CELL QD ENGINE: where the handoffs in the trace blocked
# (the syslet_handoff event's site), the three commonest, for the report.
handoff_sites() {
	[ -n "$events" ] || return 0
	grep ' syslet_handoff:' $tr/trace | sed -n 's/.* site=\([^ ]*\).*/\1/p' | sort | uniq -c | sort -rn | head -n 3 |
		while read -r count site; do
			echo "handoff-site cell=$1 qd=$2 engine=$3 count=$count site=$site"
		done
}

kmem() { awk '/^(KernelStack|SUnreclaim):/ { s += $2 } END { print s }' /proc/meminfo; }
# sampler_start COMM: every second, the peak of the tasks of the
# processes named COMM and of kmem, in /tmp/peak ("TASKS KB").
sampler_start() {
	echo "0 $(kmem)" > /tmp/peak
	( pt=0 pm=0
	while :; do
		t=0
		for p in /proc/[0-9]*; do
			read -r c 2>/dev/null < "$p/comm" || continue
			[ "$c" = "$1" ] || continue
			# shellcheck disable=SC2012  # ls counts the entries of a /proc directory
			t=$((t + $(ls "$p/task" 2>/dev/null | wc -l)))
		done
		m=$(kmem)
		[ "$t" -gt "$pt" ] && pt=$t
		[ "$m" -gt "$pm" ] && pm=$m
		echo "$pt $pm" > /tmp/peak.new && mv /tmp/peak.new /tmp/peak
		sleep 1
	done ) &
	sampler=$!
}
sampler_stop() { kill "$sampler"; wait "$sampler" 2>/dev/null; read -r peak_tasks peak_kmem < /tmp/peak; }

# set_mode ENGINE: fs.aio-syslet for ENGINE; 1 if ENGINE cannot run here.
set_mode() {
	case $1 in
	syslet) mode=1 ;;
	syslet-2) mode=2 ;;
	*) mode=0 ;;
	esac
	if [ $syslet = 1 ]; then
		echo $mode > /proc/sys/fs/aio-syslet
	elif [ $mode != 0 ]; then
		return 1
	fi
}

# job CELL QD ENGINE FIO-ARGS...: one fio job of CELL at depth QD.
job() {
	cell=$1 qd=$2 engine=$3
	shift 3
	set_mode "$engine" || { echo "result cell=$cell qd=$qd engine=$engine unavailable=no-/proc/sys/fs/aio-syslet"; return 0; }
	case $engine in
	syslet|syslet-2|stock) eng="--ioengine=libaio --iodepth=$qd" ;;
	io_uring) eng="--ioengine=io_uring --iodepth=$qd" ;;
	posixaio) eng="--ioengine=posixaio --iodepth=$qd" ;;
	psync) eng="--ioengine=psync --numjobs=$qd --thread" ;;
	*) fail "unknown engine $engine" ;;
	esac
	base=$(kmem)
	ev_start
	sampler_start fio
	c0=$(head -n 1 /proc/stat)
	# shellcheck disable=SC2086  # $eng: the engine's options, split
	fio --name="$cell" --bs=4k --norandommap --randrepeat=0 --time_based --runtime="$RUNTIME" \
		--group_reporting --output-format=normal,terse --terse-version=3 $eng "$@" > /tmp/fio.out 2>&1
	fst=$?
	c1=$(head -n 1 /proc/stat)
	sampler_stop
	ev=$(ev_stop)
	terse=$(grep '^3;' /tmp/fio.out | tail -n 1)
	if [ $fst != 0 ] || [ -z "$terse" ]; then
		sed 's/^/fio-output: /' /tmp/fio.out
		fail "fio job $cell/$qd/$engine failed (status $fst)"
	fi
	# terse v3: read IOPS 8, clat percentiles 18-37 (us), total latency
	# mean 40 (us); write IOPS 49, percentiles 59-78, mean 81.  The
	# latencies are those of the reads, of the writes where there are none.
	echo "$terse" | awk -F';' -v cell="$cell" -v qd="$qd" -v engine="$engine" -v ev="$ev" \
		-v c0="$c0" -v c1="$c1" -v ncpu="$(grep -c '^cpu[0-9]' /proc/stat)" \
		-v tasks="$peak_tasks" -v base="$base" -v peak="$peak_kmem" '
		function p99(from,   i) {
			for (i = from; i < from + 20; i++)
				if ($i ~ /^99\.000000%=/) { sub(/^[^=]*=/, "", $i); return $i }
			return "-"
		}
		BEGIN { }
		{
			r = ($8 > 0) ? 1 : 0
			split(c0, a, " "); split(c1, b, " ")
			t0 = a[2] + a[3] + a[4] + a[5] + a[6] + a[7] + a[8] + a[9]
			t1 = b[2] + b[3] + b[4] + b[5] + b[6] + b[7] + b[8] + b[9]
			busy = (t1 > t0) ? 1 - ((b[5] + b[6]) - (a[5] + a[6])) / (t1 - t0) : 0
			printf "result cell=%s qd=%s engine=%s iops=%d read_iops=%d write_iops=%d lat_mean_us=%.1f p99_us=%s busy=%.3f ncpu=%d tasks=%d kmem_base_kb=%d kmem_peak_kb=%d %s\n",
				cell, qd, engine, $8 + $49, $8, $49, r ? $40 : $81, r ? p99(18) : p99(59),
				busy, ncpu, tasks, base, peak, ev
		}'
	printf 'fio %s/%s/%s: ' "$cell" "$qd" "$engine"
	grep -E '^ *(read|write): IOPS=' /tmp/fio.out | sed 's/^ *//' | tr '\n' ' '
	echo
}

# run_cell ORDER NAME QD FIO-ARGS...: NAME's job for each engine of ORDER.
run_cell() {
	order=$1 name=$2 qd=$3
	shift 3
	for engine in $order; do
		case $name in
		cached) cat "$CACHED_FILE" > /dev/null ;;
		*) sync; echo 3 > /proc/sys/vm/drop_caches ;;
		esac
		job "$name" "$qd" "$engine" "$@"
	done
}
# cell NAME QD FIO-ARGS...: NAME's job for every engine of the run.
cell() { run_cell "$ENGINES" "$@"; }
# cell_abba NAME QD FIO-ARGS...: the same, then once more in the reverse
# order; the report takes each engine's mean, so that a drift of the
# emulation over the cell cancels out.
cell_abba() {
	reversed=''
	for engine in $ENGINES; do reversed="$engine $reversed"; done
	run_cell "$ENGINES $reversed" "$@"
}

if [ "$BENCH" = quick ]; then
	ENGINES='syslet stock io_uring psync'
	COLD_QDS=32 CPU_QDS='' EXTRA=''
else
	ENGINES='syslet syslet-2 stock io_uring posixaio psync'
	COLD_QDS='1 8 32 128' CPU_QDS='1 8 32 128' EXTRA=1
fi
# The cached cell reads a file: a block device's page cache is dropped
# at its last close (kill_bdev()), so a device read beforehand by another
# program is cold again for fio.
CACHED_FILE=/mnt/bench/cached.dat
{ dd if=/dev/zero of=$CACHED_FILE bs=1M count=64 2>/dev/null && sync; } || fail "cannot write $CACHED_FILE"
for qd in $COLD_QDS; do
	cell cold-dev "$qd" --filename=/dev/nullb0 --rw=randread --size=1g --direct=0 --invalidate=1
done
for qd in $CPU_QDS; do
	cell cold-cpu "$qd" --filename=/dev/nullbfast --rw=randread --size=1g --direct=0 --invalidate=1
done
# The fast path's cells: their targets ask for 2% and 3%, closer than
# one job's noise under emulation, so two rounds in turn (ABBA).
cell_abba cached 32 --filename="$CACHED_FILE" --rw=randread --size=64m --direct=0 --invalidate=0
cell_abba direct 32 --filename=/dev/nullbfast --rw=randread --size=1g --direct=1
if [ -n "$EXTRA" ]; then
	# fio lays the files out once, before the first engine's job.
	cell write-fsync 32 --filename=/mnt/bench/write.dat --rw=randwrite --size=256m --direct=0 --fdatasync=32
	cell mixed 32 --filename=/mnt/bench/mixed.dat --rw=randrw --rwmixread=70 --size=512m --direct=0 --invalidate=1
fi

# Where a handoff's time goes (vm/guest/handoff-profile.sh): on the
# device-bound nullb0, QD 32, as in the cold-dev cell.
[ $syslet = 0 ] || handoff_profile /dev/nullb0 "$PROFILE_SECONDS"

# client NAME VARIANT COMMAND...: a real program, in the capped cgroup,
# with fs.aio-syslet for VARIANT; its output is kept in /tmp/client.out.
client() {
	name=$1 variant=$2
	shift 2
	set_mode "$variant" || { echo "client name=$name variant=$variant unavailable=no-/proc/sys/fs/aio-syslet"; return 1; }
	sync; echo 3 > /proc/sys/vm/drop_caches
	# sh -c: its $$ is the process that joins the cgroup, then execs.
	sh -c '[ -z "$0" ] || echo $$ > "$0/cgroup.procs" || exit 125; exec "$@"' "$cg" "$@" > /tmp/client.out 2>&1 ||
		{ sed 's/^/client-output: /' /tmp/client.out; fail "$name ($variant) failed"; }
}
# stress-ng's bogo-ops of STRESSOR from its --metrics-brief table.
bogo() { awk -v s="$1" '{ for (i = 1; i < NF; i++) if ($i ~ /^\[[0-9]+\]$/ && $(i + 1) == s && $(i + 2) ~ /^[0-9]+$/) print $(i + 2) }' /tmp/client.out | tail -n 1; }
# sysbench's operations per second (reads + writes) and latencies (ms).
sysbench_line() {
	awk '/reads\/s:/ { r = $2 } /writes\/s:/ { w = $2 } /avg:/ { avg = $2 } /95th percentile:/ { p95 = $3 }
		END { printf "ops_s=%.1f read_s=%.1f write_s=%.1f lat_mean_ms=%s p95_ms=%s\n", r + w, r, w, avg, p95 }' /tmp/client.out
}

# stress-ng --aiol: one 15 s run a mode swung from 0.72x to 1.05x stock
# from boot to boot (its workers' random offsets, TCG), and four rounds
# a mode in one boot from 0.94x to 1.09x each: the modes take turns for
# SN_ROUNDS rounds (the order reversed every other round) and each
# reports the mean ("rounds=" lists them).  Mode 2 (2007's short counts,
# which stress-ng does not resubmit) once: it stalls whatever the rounds.
SN_ROUNDS=4
[ -n "$EXTRA" ] || SN_ROUNDS=2
sn_order='syslet stock' sn_syslet='' sn_stock=''
r=1
while [ $r -le $SN_ROUNDS ]; do
	for v in $sn_order; do
		client stress-ng-aiol "$v" stress-ng --aiol 2 --aiol-requests 32 -t "$RUNTIME" \
			--temp-path /mnt/bench --metrics-brief || break 2
		case $v in
		syslet) sn_syslet=${sn_syslet:+$sn_syslet,}$(bogo aiol) ;;
		stock) sn_stock=${sn_stock:+$sn_stock,}$(bogo aiol) ;;
		esac
	done
	case $sn_order in 'syslet stock') sn_order='stock syslet' ;; *) sn_order='syslet stock' ;; esac
	r=$((r + 1))
done
for v in syslet:"$sn_syslet" stock:"$sn_stock"; do
	rounds=${v#*:}
	[ -n "$rounds" ] || continue
	echo "client name=stress-ng-aiol variant=${v%%:*} bogo_ops=$(echo "$rounds" | tr ',' '\n' | awk '{ s += $1; n++ } END { printf "%d", s / n }') rounds=$rounds"
done
if [ -n "$EXTRA" ]; then
	client stress-ng-aiol syslet-2 stress-ng --aiol 2 --aiol-requests 32 -t "$RUNTIME" \
		--temp-path /mnt/bench --metrics-brief &&
		echo "client name=stress-ng-aiol variant=syslet-2 bogo_ops=$(bogo aiol)"
fi
if [ -n "$EXTRA" ]; then
	for v in syslet stock; do
		client stress-ng-aio "$v" stress-ng --aio 2 --aio-requests 32 -t "$RUNTIME" \
			--temp-path /mnt/bench --metrics-brief &&
			echo "client name=stress-ng-aio variant=$v bogo_ops=$(bogo aio)"
	done
	mkdir -p /mnt/bench/sysbench
	( cd /mnt/bench/sysbench && sysbench fileio --file-total-size=1G --file-num=8 prepare > /tmp/client.out 2>&1 ) ||
		{ sed 's/^/client-output: /' /tmp/client.out; fail "sysbench fileio prepare failed"; }
	for t in rndrd rndrw; do
		for v in syslet syslet-2 stock; do
			client "sysbench-$t" "$v" sh -c "cd /mnt/bench/sysbench && exec sysbench fileio --file-total-size=1G --file-num=8 --file-test-mode=$t --file-io-mode=async --file-async-backlog=32 --threads=1 --time=$RUNTIME run" &&
				echo "client name=sysbench-$t variant=$v $(sysbench_line)"
		done
		client "sysbench-$t" psync sh -c "cd /mnt/bench/sysbench && exec sysbench fileio --file-total-size=1G --file-num=8 --file-test-mode=$t --file-io-mode=sync --threads=32 --time=$RUNTIME run" &&
			echo "client name=sysbench-$t variant=psync $(sysbench_line)"
	done
fi

# The handoff microbenchmark: cold reads of nullb0, both modes alternated.
sync; echo 3 > /proc/sys/vm/drop_caches
if [ $syslet = 1 ]; then modes=0,1; else modes=current; fi
# The cached reads are of ext4's page cache, not of tmpfs (the guest's /tmp).
dd if=/dev/zero of=/mnt/bench/micro-cached bs=1M count=1 2>/dev/null || fail "cannot write /mnt/bench/micro-cached"
# The cached round trip first, on its own and long (MICRO_CACHED_ITERATIONS
# in 40 rounds of the modes): 100 reads of 16 us right after the handoff
# measurement's helpers measured what those left running, 1.25-1.33 times
# stock's in two boots where 80000 alone gave 1.01.
aio-syslet-microbench -n "$MICRO_CACHED_ITERATIONS" --rounds 40 --modes "$modes" --only cached \
	-c /mnt/bench/micro-cached > /tmp/micro-cached.out 2>&1 ||
	{ sed 's/^/microbench-output: /' /tmp/micro-cached.out; fail "aio-syslet-microbench (cached) failed"; }
aio-syslet-microbench -n "$MICRO_ITERATIONS" --modes "$modes" -f /dev/nullb0 --stride 1048576 \
	--only handoff,pipe,wakeup,memory > /tmp/micro.out 2>&1 ||
	{ sed 's/^/microbench-output: /' /tmp/micro.out; fail "aio-syslet-microbench failed"; }
grep -h '^microbench ' /tmp/micro-cached.out /tmp/micro.out
sed -n 's/^# /microbench-note: /p' /tmp/micro-cached.out /tmp/micro.out | sort -u

[ -n "$EXTRA" ] || exit 0
# Review finding P2 (global locks per handoff): PROCS processes at once,
# each at QD 32 in a GiB of its own.  On a kernel with lock statistics
# (vm-perf), the contention of the locks a handoff takes.
ls=/proc/sys/kernel/lock_stat
for engine in syslet io_uring; do
	[ "$engine" != syslet ] || [ ! -w $ls ] || { echo 0 > /proc/lock_stat; echo 1 > $ls; }
	sync; echo 3 > /proc/sys/vm/drop_caches
	job "cold-dev-${PROCS}p" 32 "$engine" --filename=/dev/nullb0 --rw=randread --size=1g --direct=0 \
		--invalidate=1 --numjobs="$PROCS" --offset_increment=1g
	if [ "$engine" = syslet ] && [ -w $ls ]; then
		echo 0 > $ls
		sed -n '1,5p' /proc/lock_stat | sed 's/^/lock_stat: /'
		grep -A 1 -E '^ *(tasklist_lock|cgroup_threadgroup_rwsem|&pool->lock|&sighand->siglock)[ .:-]' /proc/lock_stat |
			sed 's/^/lock_stat: /'
	fi
done
# Where the irqsoff tracer is built (vm-perf): the longest IRQs-off
# section while a leader with IDLE idle threads hands off.
if [ $syslet = 1 ] && grep -qw irqsoff $tr/available_tracers 2>/dev/null; then
	for mode in 1 0; do
		echo $mode > /proc/sys/fs/aio-syslet
		echo irqsoff > $tr/current_tracer
		echo 0 > $tr/tracing_max_latency
		aio-syslet-stress --leader --idle-threads "$IDLE" -t 1 -d 32 -s 256m -T "$RUNTIME" -c --no-verify /dev/nullb0 > /tmp/leader.out 2>&1
		echo "irqsoff mode $mode: $(cat $tr/tracing_max_latency) us; $(grep -m 1 '^ops' /tmp/leader.out)"
		grep -E '^# +(latency:|\| task:|=> +(started|ended) at:)' $tr/trace | sed "s/^# */irqsoff mode $mode: /"
		echo nop > $tr/current_tracer
	done
fi
# Review finding P4 (io_context): where BFQ is built, QD 32 on BFQ.
sched=/sys/block/nullb0/queue/scheduler
if grep -qw bfq $sched; then
	old=$(sed 's/.*\[\(.*\)\].*/\1/' $sched)
	echo bfq > $sched
	for engine in syslet io_uring; do
		sync; echo 3 > /proc/sys/vm/drop_caches
		job cold-dev-bfq 32 "$engine" --filename=/dev/nullb0 --rw=randread --size=1g --direct=0 --invalidate=1
	done
	echo "$old" > $sched
fi
exit 0
