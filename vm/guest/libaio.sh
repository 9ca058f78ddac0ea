# shellcheck shell=sh
# The libaio part: libaio's own harness against the patched libaio, once
# per run of LIBAIO_RUNS (vm/lib.sh's libaio_runs): each fs.aio-syslet=MODE
# run sets that mode first (2 first, whose short counts the patched
# io_submit() must finish), a "stock" run sets none.  Each run prints its
# harness's failures and summary and its status as "# libaio harness:
# RUN:" lines.  With syslets (SYSLET=1) fs.aio-syslet is left at 1.
# Reads LIBAIO_RUNS, SYSLET and AIO_TEST_DIR (the guest's init); sets st=1
# on a failure, exits 1 when a mode cannot be set.
# shellcheck disable=SC2034  # st: the guest's status, which its last line, exit $st, returns
for run in $LIBAIO_RUNS; do
	if [ "$run" != stock ]; then
		echo "${run#fs.aio-syslet=}" > /proc/sys/fs/aio-syslet || exit 1
	fi
	hs=0
	/usr/libexec/libaio-harness/run-harness "$AIO_TEST_DIR/libaio-harness" > /tmp/harness.log 2>&1 || { hs=$?; st=1; }
	grep -E 'FAILED|^Pass:' /tmp/harness.log | sed "s/^/# libaio harness: $run: /"
	echo "# libaio harness: $run: status $hs"
done
[ "$SYSLET" != 1 ] || echo 1 > /proc/sys/fs/aio-syslet
