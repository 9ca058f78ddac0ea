# shellcheck shell=sh
# The torture part (issue 18), for TORTURE_SECONDS, all at once: processes
# with reads handed off killed, exec'd, forked and signalled
# (aio-syslet-torture --faults: each victim process, its helpers included,
# under failslab and fail_page_alloc at 1%, and reading a null_blk of its
# own whose bad blocks fail with EIO), the differential fuzzer on the
# second null_blk, verified stress on the first and on ext4, flips of
# fs.aio-syslet between 1 and 0 and of the helper bound, cgroup
# freeze/thaw of the torture, and CPU 1 taken off line and back.  Then a
# kmemleak scan and a count of the helper threads left.  Everything is
# reported as "# torture:" lines, the status last; fs.aio-syslet is left
# at 1.  Reads TORTURE_SECONDS (vm/lib.sh) and AIO_TEST_DIR (the guest's
# init); sets st=1 on a failure.
# shellcheck disable=SC2034  # st: the guest's status, which its last line, exit $st, returns
[ ! -e /proc/sys/fs/aio-syslet ] || echo 1 > /proc/sys/fs/aio-syslet
echo "# torture: $TORTURE_SECONDS s"
ts=0
grep -qs ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug
[ -e /sys/fs/cgroup/cgroup.controllers ] || mount -t cgroup2 none /sys/fs/cgroup
grep -qs ' /sys/kernel/config ' /proc/mounts || mount -t configfs none /sys/kernel/config
kml=/sys/kernel/debug/kmemleak
[ ! -e $kml ] || echo clear > $kml
# The judge takes the allocation failure reports between these marks as
# injected (kernel-splat.patterns).
echo "aio-syslet-torture: fault injection on" > /dev/kmsg
for f in failslab fail_page_alloc; do
	d=/sys/kernel/debug/$f
	[ -d "$d" ] || continue
	echo 1 > "$d/probability"; echo 1 > "$d/interval"; echo -1 > "$d/times"
	echo 0 > "$d/verbose"; echo Y > "$d/task-filter"
	[ ! -e "$d/ignore-gfp-wait" ] || echo N > "$d/ignore-gfp-wait"
done
end=$(($(cut -d. -f1 /proc/uptime) + TORTURE_SECONDS))
mkdir -p /sys/fs/cgroup/torture
# shellcheck disable=SC2016  # expanded by the sh -c: its own PID, TORTURE_SECONDS as $1
sh -c 'echo $$ > /sys/fs/cgroup/torture/cgroup.procs; exec aio-syslet-torture --faults --eio-nullb torture_eio -T "$1" -p 4 -t 3' sh "$TORTURE_SECONDS" > /tmp/torture.log 2>&1 &
tp=$!
aio-syslet-fuzz --seed 2 --batches 100000 --time "$TORTURE_SECONDS" --device /dev/nullb1 --independent --dir "${AIO_TEST_DIR:-/tmp}" > /tmp/torture-fuzz.log 2>&1 &
fp=$!
aio-syslet-stress -t 4 -w 30 -s 32m -d 16 -T "$TORTURE_SECONDS" /dev/nullb0 "${AIO_TEST_DIR:-/tmp}/torture.img" > /tmp/torture-stress.log 2>&1 &
sp=$!
flips=0 freezes=0 hotplugs=0
while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
	echo $((flips % 2)) > /proc/sys/fs/aio-syslet
	echo $(( (flips % 3) ? 256 : 4 )) > /proc/sys/fs/aio-syslet-max-threads
	flips=$((flips + 1))
	echo 1 > /sys/fs/cgroup/torture/cgroup.freeze; sleep 0.2
	echo 0 > /sys/fs/cgroup/torture/cgroup.freeze; freezes=$((freezes + 1))
	if [ -w /sys/devices/system/cpu/cpu1/online ]; then
		echo 0 > /sys/devices/system/cpu/cpu1/online && sleep 0.3 &&
			echo 1 > /sys/devices/system/cpu/cpu1/online && hotplugs=$((hotplugs + 1))
	fi
	sleep 1
done
echo 1 > /proc/sys/fs/aio-syslet; echo 256 > /proc/sys/fs/aio-syslet-max-threads
wait $tp || ts=1
wait $fp || ts=1
wait $sp || ts=1
rm -f "${AIO_TEST_DIR:-/tmp}/torture.img"
for f in failslab fail_page_alloc; do [ ! -d "/sys/kernel/debug/$f" ] || echo 0 > "/sys/kernel/debug/$f/probability"; done
echo "aio-syslet-torture: fault injection off" > /dev/kmsg
sed 's/^/# torture: /' /tmp/torture.log
{ grep -m 1 -A 30 '^aio-syslet-fuzz: DIFFERENCE' /tmp/torture-fuzz.log; tail -n 1 /tmp/torture-fuzz.log; } | sed 's/^/# torture: /'
grep -E '^(errors|io_submit)' /tmp/torture-stress.log | sed 's/^/# torture: stress: /'
echo "# torture: $flips sysctl flips, $freezes freeze/thaw cycles, $hotplugs CPU hotplugs"
left=0
sleep 11
for c in /proc/[0-9]*/task/*/comm; do [ "$(cat "$c" 2>/dev/null)" != aio-syslet ] || left=$((left + 1)); done
echo "# torture: helper threads left: $left"
[ $left = 0 ] || ts=1
leaks=none
if [ -e $kml ]; then
	echo scan > $kml; sleep 5; echo scan > $kml
	leaks=$(grep -c '^unreferenced object' $kml)
	[ "$leaks" = 0 ] || { head -n 40 $kml | sed 's/^/# torture: kmemleak: /'; ts=1; }
fi
echo "# torture: kmemleak: $leaks leaks"
rmdir /sys/fs/cgroup/torture 2>/dev/null
echo "# torture: status $ts"
[ $ts = 0 ] || st=1
