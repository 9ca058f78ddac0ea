# Shared by the VM harness scripts (and make e2e's, which boots VMs too):
# the guest's command, the judging of its results.  Sourced, not run.
# shellcheck shell=bash
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# The one list of kernel log lines that mean a kernel bug (the runner
# has it built in); kernel_splats LOG prints LOG's such lines, numbered.
# The reports of allocations failed by the torture's fault injection
# (its "injected" lines, up to the end of their stack dump or 60 lines)
# are left out between the torture's marks (vm/guest/torture.sh).
KERNEL_SPLAT_PATTERNS=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/userspace/runner/kernel-splat.patterns
kernel_splats() {
	[ -r "$KERNEL_SPLAT_PATTERNS" ] || die "$KERNEL_SPLAT_PATTERNS is missing"
	awk -v injected="$(sed -n 's/^injected //p' "$KERNEL_SPLAT_PATTERNS" | paste -sd'|')" '
		{ sub(/\r$/, "") }	# a serial console ends its lines with CR LF
		/aio-syslet-torture: fault injection on$/ { on = 1 }
		/aio-syslet-torture: fault injection off$/ { on = 0 }
		on && !skip && injected != "" && $0 ~ injected { skip = 60 }
		!skip { print NR ":" $0; next }
		/<\/TASK>/ || --skip == 0 { skip = 0 }' "$1" |
		grep -E -f <(sed -n 's/^match //p' "$KERNEL_SPLAT_PATTERNS") |
		grep -vE -f <(sed -n 's/^ignore //p' "$KERNEL_SPLAT_PATTERNS") || true
}

# The suite passes a guest makes on a kernel with syslets, in order:
# fs.aio-syslet=1 with every data file dropped from the page cache before
# it is read (-cold: the stock-ABI cases, COLD_PASS_CASES, then hand off,
# and the pass counts the handoffs, which must not be 0), mode 1 again
# with cached files and every case, mode 2 (2007's short counts), then 0
# (stock behaviour).  vm-check and e2e demand exactly these (make
# mutation-check only fs.aio-syslet=1).  Labels have no spaces.
SYSLET_SUITE_PASSES=${SYSLET_SUITE_PASSES:-"fs.aio-syslet=1-cold fs.aio-syslet=1 fs.aio-syslet=2 fs.aio-syslet=0"}
# The cases of a cold pass: every case but the syslet-* ones, which make
# their own blocking (pipes, null_blk, dropped pages) and run in the
# other passes.  They took 515 s of the cold pass's 651 on the debug
# flavour: the time CI's torture part needs.  The judge checks that these
# globs name exactly the other passes' non-syslet cases.
COLD_PASS_CASES=${COLD_PASS_CASES:-"aio-* io-* libaio-*"}
# The cases of the other passes: empty for every case.  make e2e names a
# short list (the judge then checks that the full passes ran exactly it).
SUITE_CASES=${SUITE_CASES:-}
# Seconds before the runner kills a case in the guest.
SUITE_CASE_TIMEOUT=${SUITE_CASE_TIMEOUT:-600}

# make_test_disk FILE: a fresh 2 GiB ext4 image, the guest's /dev/vda
# (the files the cases create: the initramfs's tmpfs would exercise no
# block filesystem).
make_test_disk() {
	rm -f "$1"
	truncate -s 2G "$1"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$1"
}

# The guest's shell code: the POSIX sh files of vm/guest (busybox sh runs
# them in the harness's initramfs, dash in the installed root of make
# e2e), after a header that assigns them the host's values.

# sh_quote WORD: WORD single-quoted for sh.
sh_quote() {
	local q="'\\''"
	printf "'%s'" "${1//\'/$q}"
}

# guest_vars NAME=VALUE...: a guest script's header, one "NAME='VALUE'"
# a line, each NAME once (the first VALUE).
guest_vars() {
	local a seen=' '
	for a; do
		case $seen in *" ${a%%=*} "*) continue ;; esac
		seen+="${a%%=*} "
		printf '%s=%s\n' "${a%%=*}" "$(sh_quote "${a#*=}")"
	done
}

# guest_parts NAME...: the files vm/guest/NAME.sh, one after another.
guest_parts() {
	local p
	for p; do
		[ -r "$LIB_TOP/vm/guest/$p.sh" ] || die "$LIB_TOP/vm/guest/$p.sh is missing"
		cat "$LIB_TOP/vm/guest/$p.sh"
	done
}

# guest_command PARTS RUNNER SYSLET: the shell command a test VM runs,
# part by part (comma-separated: suite, stress, fuzz, identity, torture,
# libaio; see vm/vm-check --help); RUNNER is the aio-syslet-tests path in
# the guest.  SYSLET is 1 when the kernel is built with CONFIG_AIO_SYSLET=y:
# then the suite runs in required-syslet mode once per pass of
# SYSLET_SUITE_PASSES, and a kernel without the sysctl fails at once; with
# 0, one pass ("stock").  Any failure makes the command's status 1.  The
# command is st=0, the values the parts read, the parts' files of
# vm/guest in a fixed order, and, its last line, exit $st (make e2e puts
# lines of its own before it).  Shared by vm-check and the packages' e2e
# test.
guest_command() {
	local parts=$1 runner=$2 syslet=${3:?guest_command: SYSLET (0 or 1) missing} p part_files=() vars=()
	# Before the suite too: two of its cases read /dev/nullb0.
	case ",$parts," in *,suite,*|*,stress,*) part_files+=(null-blk) ;; esac
	[ "$syslet" != 1 ] || part_files+=(syslet-check)
	# Each part's file, after the values it reads (vm/guest/PART.sh says).
	for p in suite stress fuzz identity torture libaio; do
		case ",$parts," in *,"$p",*) ;; *) continue ;; esac
		case $p in
		suite)
			# A cold pass counts the syslet_handoff trace events it causes.
			[ "$syslet" != 1 ] || part_files+=(handoffs)
			vars+=(RUNNER="$runner" SYSLET="$syslet" SYSLET_SUITE_PASSES="$SYSLET_SUITE_PASSES"
				SUITE_CASES="$SUITE_CASES" COLD_PASS_CASES="$COLD_PASS_CASES"
				SUITE_CASE_TIMEOUT="$SUITE_CASE_TIMEOUT") ;;
		stress) vars+=(SYSLET="$syslet") ;;
		fuzz) vars+=(FUZZ_ARGS="$FUZZ_ARGS") ;;
		identity) vars+=(RUNNER="$runner" IDENTITY_STRESS_SECONDS="$IDENTITY_STRESS_SECONDS") ;;
		torture) vars+=(TORTURE_SECONDS="$TORTURE_SECONDS") ;;
		libaio) vars+=(SYSLET="$syslet" LIBAIO_RUNS="$(libaio_runs "$syslet")") ;;
		esac
		part_files+=("$p")
	done
	echo 'st=0'
	echo "# vm/lib.sh's guest_command: the host's values, then vm/guest/{$(IFS=,; echo "${part_files[*]}")}.sh"
	guest_vars "${vars[@]}"
	guest_parts "${part_files[@]}"
	# shellcheck disable=SC2016  # the guest's $st
	echo 'exit $st'
}

# libaio_runs SYSLET: the runs of libaio's harness in a guest, labelled:
# every mode of fs.aio-syslet with syslets (SYSLET 1), else one "stock".
libaio_runs() {
	if [ "$1" = 1 ]; then
		echo fs.aio-syslet=2 fs.aio-syslet=1 fs.aio-syslet=0
	else
		echo stock
	fi
}

# The fuzz part's budget: fixed, so that a run can be replayed.
# Batches whose iocbs share files and fds, so that the order of a later
# iocb after a handed-off one is fuzzed too (kernel 0023, and 0072's
# byte ranges): before 0023, seed 1 found 7 differences in 200 batches
# (a read that overtook the write before it); with 0072, none.
# --time 150 bounds it within CI's 75 minutes on a fresh machine (the
# suite passes take 2030 s of guest time on the debug flavour): no batch
# starts once the time is up, and every batch that ran is compared.
FUZZ_ARGS=${FUZZ_ARGS:-"--seed 1 --batches 200 --time 150 --device /dev/nullb0"}

# Seconds of the identity part's stress sub-test (make vm-identity-stress).
IDENTITY_STRESS_SECONDS=${IDENTITY_STRESS_SECONDS:-600}

# Seconds of the torture part (make vm-torture DURATION=...).
TORTURE_SECONDS=${TORTURE_SECONDS:-600}

# The syslet kernels of vm-check boot with syslets off by the boot
# parameter, which guest_command checks; each pass sets its mode.
# shellcheck disable=SC2034  # the kernel command line of vm-check
SYSLET_BOOT_KOPT="aio_syslet=0"
# The null_blk the stress part reads: 20 ms completions, memory backed.
# shellcheck disable=SC2034  # the kernel command line of vm-check and e2e
NULL_BLK_KOPT="null_blk.irqmode=2 null_blk.completion_nsec=20000000 null_blk.memory_backed=1 null_blk.nr_devices=2"

# suite_table RESULTS: one line per case result of each suite pass in a
# guest's TAP results: "PASS<TAB>VERDICT<TAB>CASE<TAB>SUBTEST-SKIPS<TAB>WHY",
# VERDICT ok, fail or skip; a pass's summary line as
# "PASS<TAB>counts<TAB>P F S"; a sub-test skip as
# "PASS<TAB>subskip<TAB>CASE<TAB>SUBTEST<TAB>REASON".
suite_table() {
	awk -F'\n' '
	/^# suite pass: / { pass = substr($0, 15); nsub = 0; next }
	pass == "" { next }
	/^    ok [0-9]+ - .* # SKIP / {
		line = substr($0, 5); sub(/^ok [0-9]+ - /, "", line)
		i = index(line, " # SKIP "); subs[++nsub] = substr(line, 1, i - 1) "\t" substr(line, i + 8); next }
	/^(not )?ok [0-9]+ - / {
		v = /^not ok/ ? "fail" : "ok"; line = $0; sub(/^(not )?ok [0-9]+ - /, "", line)
		why = ""; i = index(line, " # ")
		if (i) { why = substr(line, i + 3); line = substr(line, 1, i - 1) }
		if (v == "ok" && why ~ /^SKIP/) { v = "skip"; sub(/^SKIP ?/, "", why) }
		printf "%s\t%s\t%s\t%d\t%s\n", pass, v, line, nsub, why
		for (j = 1; j <= nsub; j++) { split(subs[j], s, "\t"); printf "%s\tsubskip\t%s\t%s\t%s\n", pass, line, s[1], s[2] }
		nsub = 0; next }
	/^# [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { split($0, w, " "); printf "%s\tcounts\t%s %s %s\n", pass, w[2], w[4], w[6]; next }
	/^# aio-syslet-stress: |^# libaio harness: |^vm-exit-status: / { pass = "" }
	' "$1"
}

# pass_cases TABLE PASS: the cases that pass PASS of suite_table's TABLE
# ran (passed, failed or skipped), sorted, on one line, each once (a pass
# repeated, for a repro, runs the same cases again).
pass_cases() {
	awk -F'\t' -v p="$2" '$1 == p && ($2 == "ok" || $2 == "fail" || $2 == "skip") { print $3 }' <<<"$1" | sort -u | paste -sd' '
}

# judge_run CONSOLE RESULTS RC PARTS TIMEOUT [PASSES]: judges a test VM's
# run (vm/run exit status RC) and prints what it found: any kernel splat
# in the console log (quoted), each suite pass's summary and sub-test
# skips, the libaio and stress results.  PASSES (SYSLET_SUITE_PASSES for
# a syslet kernel) are the suite passes the guest must have made, in
# order: with syslets on no case may skip, with fs.aio-syslet=0 exactly
# the syslet-* cases skip, and each pass runs the same cases (a -cold
# pass those of them not named syslet-*: COLD_PASS_CASES).  Sets
# JUDGED_SPLATS and JUDGED_SUMMARY (the total); returns 1 when the run
# failed.
judge_run() {
	local console=$1 results=$2 rc=$3 parts=$4 timeout=$5 want_passes=${6:-} verdict=0
	local table got_passes p cases all_cases cold_cases want partial errline
	JUDGED_SPLATS=$(kernel_splats "$console")
	if [ -n "$JUDGED_SPLATS" ]; then
		say "kernel splat in the console log ($console):"
		printf '%s\n' "$JUDGED_SPLATS" | head -n 40 | sed 's/^/    /' >&2
		verdict=1
	fi
	case $rc in
	0) ;;
	124|125)
		if [ "$rc" = 124 ]; then
			say "the VM timed out or stalled (limit ${timeout}s)"
		else
			say "the guest died without reporting a status"
		fi
		# The runner marks each case's start in the kernel log.
		local last
		last=$(sed -n 's/.*aio-syslet-tests [0-9a-z.]*: start \(.*\)$/\1/p' "$console" | tail -n 1)
		[ -z "$last" ] || say "the last case started: $last"
		verdict=1 ;;
	*) say "the tests in the VM exited with status $rc"; verdict=1 ;;
	esac
	errline=$(grep -E '^# error: |^Bail out!' "$results" || true)
	if [ -n "$errline" ]; then
		printf '%s\n' "$errline" | sed "s/^/${0##*/}: guest: /"
		verdict=1
	fi
	JUDGED_SUMMARY=
	case ",$parts," in *,suite,*)
		table=$(suite_table "$results")
		got_passes=$(sed -n 's/^# suite pass: //p' "$results" | paste -sd' ')
		if [ -n "$want_passes" ] && [ "$got_passes" != "$want_passes" ]; then
			say "the suite passes were '${got_passes:-none}', not '$want_passes'"
			verdict=1
		elif [ -z "$got_passes" ]; then
			say "no suite pass in $results"
			verdict=1
		fi
		# The cases every pass runs: those of the first full (not -cold)
		# pass; a -cold pass, those of them not named syslet-*.
		all_cases=$(pass_cases "$table" "$(tr ' ' '\n' <<<"$got_passes" | grep -v -- '-cold$' | head -n 1 || true)")
		cold_cases=$(tr ' ' '\n' <<<"$all_cases" | grep -v '^syslet-' | paste -sd' ' || true)
		# A named selection (SUITE_CASES without globs) is run whole.
		case $SUITE_CASES in *[\*\?\[]*|'') ;; *)
			want=$(tr ' ' '\n' <<<"$SUITE_CASES" | grep . | sort | paste -sd' ')
			if [ "$all_cases" != "$want" ]; then
				say "the full passes ran '${all_cases:-no case}', not the selection SUITE_CASES '$want'"
				verdict=1
			fi ;;
		esac
		while IFS= read -r p; do
			[ -n "$p" ] || continue
			local counts nfail bad
			counts=$(awk -F'\t' -v p="$p" '$1 == p && $2 == "counts" { print $3 }' <<<"$table" | tail -n 1)
			if [ -z "$counts" ]; then
				say "$p: no summary line (the pass did not finish)"
				verdict=1
				continue
			fi
			echo "${0##*/}: $p: $(awk '{ printf "%d passed, %d failed, %d skipped", $1, $2, $3 }' <<<"$counts")"
			case $p in *-cold)
				# The cold pass proves handoffs ran: count them.
				local handoffs
				handoffs=$(sed -n "s/^# handoffs: $p: \([0-9]*\)$/\1/p" "$results" | tail -n 1)
				if [ -z "$handoffs" ]; then
					say "$p: no handoff count (the syslet_handoff trace event)"
					verdict=1
				elif [ "$handoffs" = 0 ]; then
					say "$p: 0 handoffs: the cold pass never took the syslet path"
					verdict=1
				else
					echo "${0##*/}: $p: $handoffs handoffs"
				fi ;;
			esac
			cases=$(pass_cases "$table" "$p")
			case $p in
			*-cold) want=$cold_cases what="exactly the other passes' non-syslet ones (COLD_PASS_CASES, vm/lib.sh)" ;;
			*) want=$all_cases what="those of the first full pass" ;;
			esac
			if [ "$cases" != "$want" ]; then
				say "$p: the cases run are not $what"
				verdict=1
			fi
			nfail=$(awk -F'\t' -v p="$p" '$1 == p && $2 == "fail"' <<<"$table" | wc -l)
			if [ "$nfail" -gt 0 ]; then
				awk -F'\t' -v p="$p" '$1 == p && $2 == "fail" { print "    FAIL " $3 ": " $5 }' <<<"$table" >&2
				verdict=1
			fi
			awk -F'\t' -v p="$p" -v me="${0##*/}" '$1 == p && $2 == "subskip" { printf "%s: %s: sub-test skipped: %s: %s: %s\n", me, p, $3, $4, $5 }' <<<"$table"
			case $p in
			fs.aio-syslet=0*)
				# Stock behaviour: exactly the syslet-only cases skip.
				bad=$(awk -F'\t' -v p="$p" '$1 == p && (($2 == "skip") != ($3 ~ /^syslet-/)) && $2 != "fail" && $2 != "subskip" && $2 != "counts" { print "    " $3 ($2 == "skip" ? " skipped: " $5 : " ran instead of skipping") }' <<<"$table")
				if [ -n "$bad" ]; then
					say "$p: exactly the syslet-* cases must skip with syslets off:"
					printf '%s\n' "$bad" >&2
					verdict=1
				fi ;;
			fs.aio-syslet=*)
				# Syslets on: nothing skips, syslet-* sub-tests included,
				# except for want of hardware (T_SKIP_HARDWARE, tests/t.h).
				bad=$(awk -F'\t' -v p="$p" '
					function hw(r,   n, a, i) {
						if (r ~ /^needs hardware: /) return 1
						if (!sub(/^every subtest skipped: /, "", r)) return 0
						n = split(r, a, ";")
						for (i = 1; i <= n; i++) if (a[i] !~ /: needs hardware: /) return 0
						return 1
					}
					$1 == p && ($2 == "skip" || ($2 == "subskip" && $3 ~ /^syslet-/)) && !hw($5) { print "    " $3 ($2 == "skip" ? " skipped: " $5 : ": sub-test skipped: " $4 ": " $5) }' <<<"$table")
				if [ -n "$bad" ]; then
					say "$p: with syslets on no case and no syslet-* sub-test may skip:"
					printf '%s\n' "$bad" >&2
					verdict=1
				fi ;;
			esac
		done <<<"$(tr ' ' '\n' <<<"$got_passes")"
		JUDGED_SUMMARY=$(awk -F'\t' '$2 == "counts" { split($3, c, " "); p += c[1]; f += c[2]; s += c[3]; n++ }
			END { if (n) printf "%d passed, %d failed, %d skipped\n", p, f, s }' <<<"$table")
		if [ -z "$JUDGED_SUMMARY" ]; then
			verdict=1
			JUDGED_SUMMARY="0 passed, 0 failed (no summary from the guest)"
		fi ;;
	esac
	case ",$parts," in *,fuzz,*)
		if grep -qE '^# aio-syslet-fuzz: aio-syslet-fuzz: seed [0-9]+, [0-9]+ batches, [0-9]+ iocbs, 0 differences' "$results"; then
			grep -E '^# aio-syslet-fuzz: aio-syslet-fuzz: seed [0-9]+, ' "$results" | tail -n 1 |
				sed "s/^# aio-syslet-fuzz: /${0##*/}: /"
		else
			say "aio-syslet-fuzz did not finish clean:"
			grep '^# aio-syslet-fuzz: ' "$results" | tail -n 30 | sed 's/^# aio-syslet-fuzz: /    /' >&2
			verdict=1
		fi ;;
	esac
	case ",$parts," in *,libaio,*)
		local run hstatus
		grep -E '^# libaio harness: .*(Pass:|FAILED)' "$results" | sed "s/^# /${0##*/}: /"
		for run in $(libaio_runs "$([ -n "$want_passes" ] && echo 1 || echo 0)"); do
			hstatus=$(sed -n "s/^# libaio harness: $run: status \([0-9]*\)$/\1/p" "$results" | tail -n 1)
			if [ -z "$hstatus" ]; then
				say "libaio's harness: no result for $run"
				verdict=1
			elif [ "$hstatus" != 0 ]; then
				say "libaio's harness failed with $run (status $hstatus)"
				verdict=1
			fi
		done ;;
	esac
	case ",$parts," in *,identity,*)
		local istatus
		grep -E '^# identity stress: ( *# [0-9]+ reads|# [0-9]+ passed|(not )?ok [0-9])' "$results" |
			sed "s/^# /${0##*/}: /"
		istatus=$(sed -n 's/^# identity stress: status \([0-9]*\)$/\1/p' "$results" | tail -n 1)
		if [ -z "$istatus" ]; then
			say "identity stress: no result (the guest did not finish it)"
			verdict=1
		elif [ "$istatus" != 0 ]; then
			say "identity stress failed (status $istatus):"
			grep '^# identity stress: ' "$results" | tail -n 30 | sed 's/^# identity stress: /    /' >&2
			verdict=1
		fi ;;
	esac
	case ",$parts," in *,torture,*)
		local tstatus
		grep -E '^# torture: ' "$results" | grep -v '^# torture: kmemleak: [^0-9]' |
			sed "s/^# /${0##*/}: /"
		tstatus=$(sed -n 's/^# torture: status \([0-9]*\)$/\1/p' "$results" | tail -n 1)
		if [ -z "$tstatus" ]; then
			say "torture: no result (the guest did not finish it)"
			verdict=1
		elif [ "$tstatus" != 0 ]; then
			say "torture failed (status $tstatus): see the '# torture:' lines above"
			verdict=1
		fi ;;
	esac
	case ",$parts," in *,stress,*)
		grep -E '^# aio-syslet-stress(-rw|-off)?: (fs\.aio-syslet|ops|iops|latency|io_submit|errors|first)' "$results" |
			sed "s/^# /${0##*/}: /"
		grep -q '^# aio-syslet-stress-rw: errors 0, verify failures 0$' "$results" ||
			{ say "no clean result from the aio-syslet-stress run with 4 threads and writes"; verdict=1; }
		if [ -n "$want_passes" ]; then
			grep -q '^# aio-syslet-stress-off: errors 0, verify failures 0$' "$results" ||
				{ say "no clean result from the aio-syslet-stress run with syslets off (fs.aio-syslet=0)"; verdict=1; }
			# Modes 1 and 0 return stock's counts: short only at an error.
			local label short
			for label in stress-rw stress-off; do
				short=$(sed -n "s/^# aio-syslet-$label: io_submit calls [0-9]*, partial submits \([0-9]*\),.*/\1/p" "$results")
				if [ -z "$short" ]; then
					say "aio-syslet-$label: no count of io_submit() calls"
					verdict=1
				elif [ "$short" != 0 ]; then
					say "aio-syslet-$label: $short short io_submit() counts where stock's were due"
					verdict=1
				fi
			done
		fi
		partial=$(sed -n 's/^# aio-syslet-stress: io_submit calls [0-9]*, partial submits \([0-9]*\),.*/\1/p' "$results")
		if [ -z "$partial" ]; then
			say "no result from aio-syslet-stress"
			verdict=1
		elif [ -n "$want_passes" ] && ! grep -q '^# aio-syslet-stress: fs.aio-syslet=2$' "$results"; then
			say "aio-syslet-stress did not run with syslets on in mode 2 (short counts)"
			verdict=1
		elif [ -n "$want_passes" ] && [ "$partial" = 0 ]; then
			say "aio-syslet-stress saw no short io_submit() count with syslets on: no handoff happened"
			verdict=1
		fi ;;
	esac
	return $verdict
}
