# shellcheck shell=sh
# The suite part: the runner, RUNNER, with SUITE_CASE_TIMEOUT seconds per
# case.  With syslets (SYSLET=1): in required-syslet mode once per pass of
# SYSLET_SUITE_PASSES, whose label fs.aio-syslet=MODE[-cold] says the mode
# to set; a -cold pass runs the cases COLD_PASS_CASES with cold reads and
# counts its handoffs (handoffs.sh, which comes first), the others run
# SUITE_CASES (empty: every case); then fs.aio-syslet is left at 1.
# Without (SYSLET=0): one pass, "stock", of SUITE_CASES.  The case lists
# are globs the runner matches: the shell splits them but does not expand
# them.  Each pass prints "# suite pass: LABEL" before the runner's TAP.
# Reads RUNNER, SYSLET, SYSLET_SUITE_PASSES, SUITE_CASES, COLD_PASS_CASES
# and SUITE_CASE_TIMEOUT (vm/lib.sh); sets st=1 on a failure, exits 1 when
# a mode cannot be set.
# shellcheck disable=SC2034  # st: the guest's status, which its last line, exit $st, returns
if [ "$SYSLET" = 1 ]; then
	for pass in $SYSLET_SUITE_PASSES; do
		mode=${pass#fs.aio-syslet=} cold='' cases=$SUITE_CASES
		case $mode in *-cold) mode=${mode%-cold} cold=--cold cases=$COLD_PASS_CASES ;; esac
		echo "# suite pass: $pass"
		echo "$mode" > /proc/sys/fs/aio-syslet || exit 1
		[ -z "$cold" ] || handoffs_start
		set -f
		# shellcheck disable=SC2086  # $cold: nothing or one word; $cases: words, globs unexpanded
		"$RUNNER" --tap --require-syslet $cold --timeout "$SUITE_CASE_TIMEOUT" $cases || st=1
		set +f
		[ -z "$cold" ] || handoffs_report "$pass"
	done
	echo 1 > /proc/sys/fs/aio-syslet
else
	echo '# suite pass: stock'
	set -f
	# shellcheck disable=SC2086  # words, globs unexpanded
	"$RUNNER" --tap --timeout "$SUITE_CASE_TIMEOUT" $SUITE_CASES || st=1
	set +f
fi
