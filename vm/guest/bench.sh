# shellcheck shell=sh
# The guest of vm/bench: fio's cold buffered 4k random reads of
# /dev/nullb0, RUNTIME seconds a job, at queue depth QD with libaio on
# syslets (fs.aio-syslet=1, then 2), on stock io_submit (0), with io_uring
# and with QD psync threads; PROCS processes at once on syslets and on
# io_uring; where the irqsoff tracer is built, the longest IRQs-off
# section while a leader with IDLE idle threads hands off, with syslets
# and without; where BFQ is built, the QD jobs on syslets and io_uring
# again on it.  Each job prints "job LABEL" and its fio terse line, the
# guest's /proc/stat CPU totals around it ("cpustat LABEL NCPU ...") and
# fio's own summary line ("fio LABEL: ..."), which vm/bench parses; the
# helper count is sampled while the syslet job runs.  Reads QD, PROCS,
# IDLE and RUNTIME (vm/bench).
run() { label=$1; shift; c0=$(head -n 1 /proc/stat)
	fio --name=cold --filename=/dev/nullb0 --rw=randread --bs=4k --size=1g --direct=0 \
		--invalidate=1 --norandommap --randrepeat=0 --time_based --runtime="$RUNTIME" \
		--group_reporting --output-format=normal,terse --terse-version=3 "$@" > /tmp/fio.out 2>&1
	c1=$(head -n 1 /proc/stat)
	printf 'job %s ' "$label"; grep '^3;' /tmp/fio.out | tail -n 1
	echo "cpustat $label $(grep -c '^cpu[0-9]' /proc/stat) $c0 $c1"
	printf 'fio %s: ' "$label"; grep -m 1 'read: IOPS=' /tmp/fio.out | sed 's/^ *//'; }
if [ -w /proc/sys/fs/aio-syslet ]; then
	echo 1 > /proc/sys/fs/aio-syslet
	# shellcheck disable=SC2012  # ls counts the entries of a /proc directory
	( peak=0; while :; do n=0; for p in /proc/[0-9]*; do
		[ "$(cat "$p/comm" 2>/dev/null)" = fio ] || continue
		t=$(ls "$p/task" | wc -l); [ "$t" -gt "$n" ] && n=$t; done
		[ "$n" -gt "$peak" ] && peak=$n && echo "$peak" > /tmp/peak; sleep 1; done ) &
	sampler=$!
	run libaio-syslet --ioengine=libaio --iodepth="$QD"
	kill $sampler
	echo "helpers-peak-threads $(cat /tmp/peak 2>/dev/null || echo 0)"
	# 2007's short counts: fio's libaio engine submits the rest itself.
	echo 2 > /proc/sys/fs/aio-syslet
	run libaio-syslet-2 --ioengine=libaio --iodepth="$QD"
	echo 0 > /proc/sys/fs/aio-syslet
else
	echo 'job libaio-syslet unavailable (no /proc/sys/fs/aio-syslet)'
	echo 'job libaio-syslet-2 unavailable (no /proc/sys/fs/aio-syslet)'
fi
run libaio-stock --ioengine=libaio --iodepth="$QD"
run io_uring --ioengine=io_uring --iodepth="$QD"
run psync-threads --ioengine=psync --numjobs="$QD" --thread
# P2: processes at once, each at the same depth, each in a GiB of its
# own (a page one process read is another's cache hit otherwise).
if [ -w /proc/sys/fs/aio-syslet ]; then
	echo 1 > /proc/sys/fs/aio-syslet
	ls=/proc/sys/kernel/lock_stat
	[ ! -w $ls ] || { echo 0 > /proc/lock_stat; echo 1 > $ls; }
	run "libaio-syslet-${PROCS}p" --ioengine=libaio --iodepth="$QD" --numjobs="$PROCS" --offset_increment=1g
	if [ -w $ls ]; then
		echo 0 > $ls
		# The header and the classes that a handoff takes.
		sed -n '1,5p' /proc/lock_stat | sed 's/^/lock_stat: /'
		grep -A 1 -E '^ *(tasklist_lock|cgroup_threadgroup_rwsem|&pool->lock|&sighand->siglock)[ .:-]' /proc/lock_stat |
			sed 's/^/lock_stat: /'
	fi
	echo 0 > /proc/sys/fs/aio-syslet
else
	echo "job libaio-syslet-${PROCS}p unavailable (no /proc/sys/fs/aio-syslet)"
fi
run "io_uring-${PROCS}p" --ioengine=io_uring --iodepth="$QD" --numjobs="$PROCS" --offset_increment=1g
t=/sys/kernel/tracing
mountpoint -q $t 2>/dev/null || mount -t tracefs none $t 2>/dev/null
if [ -w /proc/sys/fs/aio-syslet ] && grep -qw irqsoff $t/available_tracers 2>/dev/null; then
	for mode in 1 0; do
		echo $mode > /proc/sys/fs/aio-syslet
		echo irqsoff > $t/current_tracer
		echo 0 > $t/tracing_max_latency
		aio-syslet-stress --leader --idle-threads "$IDLE" -t 1 -d "$QD" -s 256m -T "$RUNTIME" -c --no-verify /dev/nullb0 > /tmp/leader.out 2>&1
		echo "irqsoff mode $mode: $(cat $t/tracing_max_latency) us; $(grep -m 1 '^ops' /tmp/leader.out)"
		grep -E '^# +(latency:|\| task:|=> +(started|ended) at:)' $t/trace | sed "s/^# */irqsoff mode $mode: /"
		echo nop > $t/current_tracer
	done
	echo 0 > /proc/sys/fs/aio-syslet
fi
sched=/sys/block/nullb0/queue/scheduler
echo "scheduler $(sed 's/.*\[\(.*\)\].*/\1/' $sched)"
if grep -qw bfq $sched; then
	old=$(sed 's/.*\[\(.*\)\].*/\1/' $sched)
	echo bfq > $sched
	if [ -w /proc/sys/fs/aio-syslet ]; then
		echo 1 > /proc/sys/fs/aio-syslet
		run libaio-syslet-bfq --ioengine=libaio --iodepth="$QD"
		echo 0 > /proc/sys/fs/aio-syslet
	fi
	run io_uring-bfq --ioengine=io_uring --iodepth="$QD"
	echo "$old" > $sched
fi
