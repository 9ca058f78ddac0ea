# shellcheck shell=sh
# The stress part.  Cold buffered reads of null_blk (20 ms each) over
# 64 MiB, more than 5 s of them can bring into the cache; in mode 2 (short
# counts), one system call per io_submit(), so the tool sees the count of
# each handoff.  Then 4 threads, 30% writes, every block read verified
# against its last write, on null_blk and on a file of the ext4 test disk:
# in mode 1 (stock's counts), and, on a kernel with syslets (SYSLET=1),
# the same with syslets off, where the kernel is stock; fs.aio-syslet is
# then left at 1.  Each run's output is quoted as "# aio-syslet-stress:",
# "# aio-syslet-stress-rw:" and "# aio-syslet-stress-off:" lines.
# Reads SYSLET and AIO_TEST_DIR (the guest's init); sets st=1 on a
# failure, exits 1 when syslets cannot be switched off.
# shellcheck disable=SC2034  # st: the guest's status, which its last line, exit $st, returns
[ ! -e /proc/sys/fs/aio-syslet ] || echo 2 > /proc/sys/fs/aio-syslet
echo "# aio-syslet-stress: fs.aio-syslet=$(cat /proc/sys/fs/aio-syslet 2>/dev/null || echo none)"
aio-syslet-stress --cold --submit-once -s 64m -d 32 -T 5 /dev/nullb0 > /tmp/stress.log 2>&1 || st=1
sed 's/^/# aio-syslet-stress: /' /tmp/stress.log
[ ! -e /proc/sys/fs/aio-syslet ] || echo 1 > /proc/sys/fs/aio-syslet
echo "# aio-syslet-stress-rw: fs.aio-syslet=$(cat /proc/sys/fs/aio-syslet 2>/dev/null || echo none)"
aio-syslet-stress --cold --submit-once -t 4 -w 30 -s 32m -d 16 -T 10 /dev/nullb0 "${AIO_TEST_DIR:-/tmp}/stress-rw.img" > /tmp/stress-rw.log 2>&1 || st=1
rm -f "${AIO_TEST_DIR:-/tmp}/stress-rw.img"
sed 's/^/# aio-syslet-stress-rw: /' /tmp/stress-rw.log
if [ "$SYSLET" = 1 ]; then
	echo 0 > /proc/sys/fs/aio-syslet || exit 1
	echo '# aio-syslet-stress-off: fs.aio-syslet=0'
	aio-syslet-stress --cold --submit-once -t 4 -w 30 -s 32m -d 16 -T 5 /dev/nullb0 "${AIO_TEST_DIR:-/tmp}/stress-off.img" > /tmp/stress-off.log 2>&1 || st=1
	rm -f "${AIO_TEST_DIR:-/tmp}/stress-off.img"
	sed 's/^/# aio-syslet-stress-off: /' /tmp/stress-off.log
	echo 1 > /proc/sys/fs/aio-syslet
fi
