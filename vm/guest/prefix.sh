# shellcheck shell=sh
# The guest of patches/boot-prefixes, after handoffs.sh: fs.aio-syslet
# keeps the prefix's default (SYSLETS=default) or is set to 1 (SYSLETS=on)
# where it exists, and is printed as "# fs.aio-syslet: N|absent";
# handoffs are counted where the syslet_handoff trace event exists; then
# the runner, RUNNER, runs the stock-ABI cases, COLD_PASS_CASES (globs the
# runner matches), with cold reads, SUITE_CASE_TIMEOUT seconds each, as
# the suite pass "prefix".  Reads SYSLETS, RUNNER, COLD_PASS_CASES and
# SUITE_CASE_TIMEOUT; sets st=1 on a failure.
# shellcheck disable=SC2034,SC2154  # st: the guest's status, which its last line, exit $st, returns; tr, ev: handoffs.sh's
if [ -e /proc/sys/fs/aio-syslet ]; then
	if [ "$SYSLETS" = on ]; then
		echo 1 > /proc/sys/fs/aio-syslet || st=1
	fi
	echo "# fs.aio-syslet: $(cat /proc/sys/fs/aio-syslet)"
else
	echo '# fs.aio-syslet: absent'
fi
[ -e "$tr/trace" ] || mount -t tracefs nodev "$tr" 2>/dev/null
if [ -e "$ev" ]; then
	handoffs_start
else
	echo '# handoffs: prefix: no syslet_handoff trace event'
fi
echo '# suite pass: prefix'
set -f
# shellcheck disable=SC2086  # words, globs unexpanded
"$RUNNER" --tap --cold --timeout "$SUITE_CASE_TIMEOUT" $COLD_PASS_CASES || st=1
set +f
handoffs_report prefix
