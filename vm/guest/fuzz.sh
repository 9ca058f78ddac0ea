# shellcheck shell=sh
# The fuzz part: the differential fuzzer, a fixed budget (FUZZ_ARGS,
# vm/lib.sh): the same seeded batches with fs.aio-syslet=1 and 0 must give
# the same returns, events and file contents.  Its output, shortened, is
# quoted as "# aio-syslet-fuzz:" lines; fs.aio-syslet is left at 1.
# Reads FUZZ_ARGS (words) and AIO_TEST_DIR (the guest's init); sets st=1
# on a failure.
# shellcheck disable=SC2034  # st: the guest's status, which its last line, exit $st, returns
echo "# aio-syslet-fuzz: $FUZZ_ARGS"
# shellcheck disable=SC2086  # FUZZ_ARGS: words
aio-syslet-fuzz $FUZZ_ARGS --dir "${AIO_TEST_DIR:-/tmp}" > /tmp/fuzz.log 2>&1 || st=1
[ ! -e /proc/sys/fs/aio-syslet ] || echo 1 > /proc/sys/fs/aio-syslet
# The first difference in full, the rest by their replay lines, the summary.
{ head -n 40 /tmp/fuzz.log; tail -n +41 /tmp/fuzz.log | grep -E '^aio-syslet-fuzz: DIFFERENCE|^ *replay:' | head -n 40; tail -n 1 /tmp/fuzz.log; } |
	sed 's/^/# aio-syslet-fuzz: /'
