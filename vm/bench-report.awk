# vm/bench-report.awk: the tables, the ratios and the targets of make
# vm-bench, from the guest's lines (vm/guest/bench.sh): "bench-setup",
# "result", "handoff-site", "client", "microbench", "profile" and the quoted "fio", "lock_stat:" and
# "irqsoff" lines.  Writes the text report to stdout, and the JSON and
# the plot's data to the files named by -v json=FILE -v plot=PREFIX
# (PREFIX-cold-dev.dat and PREFIX-cold-cpu.dat: IOPS against QD, one
# block per engine; PREFIX-bars.dat: each QD 32 cell's IOPS relative to
# stock, one column per engine).
# Other values: -v lat=MS -v fast=US (the devices' latencies),
# -v elapsed=SECS (the boot's duration), -v mutant=NAME (a bench mutant's
# patch, said in the heading).  A target missed prints MISSED on
# its line (vm/bench colours it); a benchmark has no failing status.
#
# Usage: awk -f vm/bench-report.awk -v json=F -v plot=P -v lat=20 -v fast=100 \
#            -v elapsed=S vm-bench.log

function kv(line, arr,   n, i, f, k) {
	delete arr
	n = split(line, f, " ")
	for (i = 2; i <= n; i++) {
		k = index(f[i], "=")
		if (k)
			arr[substr(f[i], 1, k - 1)] = substr(f[i], k + 1)
	}
}
function num(v) { return (v ~ /^[0-9.]+\+?$/) ? v + 0 : -1 }
function jstr(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
function jval(v) { return (v ~ /^-?[0-9]+(\.[0-9]+)?$/) ? v : jstr(v) }
function ratio(a, b) { return (a > 0 && b > 0) ? sprintf("%.2fx", a / b) : "-" }
# target NAME VALUE OP GOAL SHOWN: one line of the targets table.
function target(name, value, op, goal, shown,   ok, mark) {
	nt++
	if (value == "") {
		printf "  %-44s %10s   %s %-6s  not measured in this run\n", name, "-", op, goal
		tj[nt] = sprintf("{\"name\": %s, \"op\": %s, \"target\": %s, \"value\": null, \"met\": null}",
			jstr(name), jstr(op), goal)
		return
	}
	# Numbers, not strings: "12.000" >= "5" is false as strings.
	ok = (op == ">=") ? value + 0 >= goal + 0 : (op == "<=") ? value + 0 <= goal + 0 : value + 0 == goal + 0
	mark = ok ? "ok" : "MISSED"
	printf "  %-44s %10s   %s %-6s  %s\n", name, shown, op, goal, mark
	tj[nt] = sprintf("{\"name\": %s, \"op\": %s, \"target\": %s, \"value\": %s, \"met\": %s}",
		jstr(name), jstr(op), goal, value, ok ? "true" : "false")
	missed += !ok
}
# rtarget NAME X Y OP GOAL: a target on the ratio X/Y.
function rtarget(name, x, y, op, goal) {
	target(name, (x > 0 && y > 0) ? sprintf("%.3f", x / y) : "", op, goal, ratio(x, y))
}
# mean X: X to 3 decimals, without the zeros after the point.
function mean(x,   s) { s = sprintf("%.3f", x); sub(/0+$/, "", s); sub(/\.$/, "", s); return s }
function iops(c, q, e) { return ((c, q, e) in R) ? R[c, q, e, "iops"] + 0 : 0 }

$1 == "bench-setup" { kv($0, a); for (k in a) setup[k] = a[k]; next }
$1 == "result" {
	kv($0, a)
	c = a["cell"]; q = a["qd"]; e = a["engine"]
	if (!((c, q) in seenq)) { seenq[c, q] = 1; nq[c]++; qs[c, nq[c]] = q }
	if (!(c in seenc)) { seenc[c] = 1; cells[++ncell] = c }
	if (!(e in seene)) { seene[e] = 1; engines[++neng] = e }
	# A cell run in rounds (the fast path's): each figure is the mean.
	n = ++R[c, q, e]
	for (k in a)
		if (n > 1 && a[k] ~ /^[0-9]+(\.[0-9]+)?$/ && R[c, q, e, k] ~ /^[0-9]+(\.[0-9]+)?$/)
			R[c, q, e, k] = mean(R[c, q, e, k] + (a[k] - R[c, q, e, k]) / n)
		else
			R[c, q, e, k] = a[k]
	if (n > rounds[c]) rounds[c] = n
	nres++; rj[nres] = ""
	for (k in a) rj[nres] = rj[nres] (rj[nres] == "" ? "" : ", ") jstr(k) ": " jval(a[k])
	next
}
$1 == "client" {
	kv($0, a)
	nc++; cj[nc] = ""
	for (k in a) cj[nc] = cj[nc] (cj[nc] == "" ? "" : ", ") jstr(k) ": " jval(a[k])
	if ("bogo_ops" in a) C[a["name"], a["variant"]] = a["bogo_ops"]
	else if ("ops_s" in a) C[a["name"], a["variant"]] = a["ops_s"]
	if (!(a["name"] in seencl)) { seencl[a["name"]] = 1; clients[++ncl] = a["name"] }
	CL[a["name"], a["variant"]] = $0
	next
}
$1 == "microbench" {
	micro[++nm] = $0
	if ($2 == "ratio" && $3 == "cached" && $4 ~ /^mode1\/mode0=/) { microcached = $4; sub(/.*=/, "", microcached) }
	if ($2 == "ratio") next
	kv($0, a)
	nmj++; mj[nmj] = "\"name\": " jstr($2)
	for (k in a) mj[nmj] = mj[nmj] ", " jstr(k) ": " jval(a[k])
	next
}
$1 == "handoff-site" {
	kv($0, a)
	k = a["cell"] SUBSEP a["qd"] SUBSEP a["engine"]
	sep = (k in S) ? ", " : ""
	S[k] = S[k] sep a["count"] " " a["site"]
	next
}
$1 == "profile" {
	prof[++np] = substr($0, 9)
	if ($2 ~ /^segment=/) {
		kv($0, a)
		npj++; pj[npj] = ""
		for (k in a) pj[npj] = pj[npj] (pj[npj] == "" ? "" : ", ") jstr(k) ": " jval(a[k])
	}
	next
}
$1 == "microbench-note:" || $1 == "lock_stat:" || $1 == "irqsoff" { extra[++nx] = $0; next }
$1 == "fio" { fioline[++nf] = $0; next }

END {
	title["cold-dev"] = sprintf("cold buffered 4k random reads of nullb0, device bound (L = %s ms: the limit is QD / L)", lat)
	title["cold-cpu"] = sprintf("cold buffered 4k random reads of nullbfast, CPU bound (L = %s us)", fast)
	title["cached"] = "cached 4k random reads of a 64 MiB ext4 file read beforehand: the no-block fast path"
	title["direct"] = sprintf("O_DIRECT 4k random reads of nullbfast (L = %s us)", fast)
	title["write-fsync"] = sprintf("buffered 4k random writes, fdatasync every 32, ext4 on nullbfs (L = %s ms)", lat)
	title["mixed"] = sprintf("buffered 70/30 random read/write, ext4 on nullbfs (L = %s ms)", lat)
	printf "linux-syslet vm-bench (%s): kernel %s, %s CPUs, fio jobs of %s s, the boot took %d min %d s\n",
		setup["bench"], setup["kernel"], setup["ncpu"], setup["runtime"], elapsed / 60, elapsed % 60
	if (mutant != "")
		printf "MUTANT: this kernel is the series plus %s (patches/bench-mutants/)\n", mutant
	printf "engines: syslet = libaio on fs.aio-syslet=1, syslet-2 = =2 (short counts), stock = =0, io_uring,\n"
	printf "posixaio = glibc POSIX AIO, psync = QD psync threads; latencies in us (fio: mean total, p99 completion)\n"
	if ("slab-task_struct" in setup)
		printf "a thread's slab objects: task_struct %s bytes, pid %s bytes, besides its kernel stack\n",
			setup["slab-task_struct"], ("slab-pid" in setup) ? setup["slab-pid"] : "-"
	for (i = 1; i <= ncell; i++) {
		c = cells[i]
		printf "\n%s: %s%s\n", c, (c in title) ? title[c] : c,
			(rounds[c] > 1) ? sprintf("; the mean of %d rounds, the engines in turn", rounds[c]) : ""
		printf "%4s %-9s %8s %7s %9s %9s %6s %8s %6s %8s %9s %11s\n", "QD", "engine", "IOPS", "limit",
			"mean lat", "p99 lat", "CPU", "CPU/IO", "tasks", "helpers", "handoffs", "kmem/block"
		for (j = 1; j <= nq[c]; j++) {
			q = qs[c, j]
			for (k = 1; k <= neng; k++) {
				e = engines[k]
				if (!((c, q, e) in R))
					continue
				if ((c, q, e, "unavailable") in R) {
					printf "%4s %-9s unavailable (%s)\n", q, e, R[c, q, e, "unavailable"]
					continue
				}
				v = R[c, q, e, "iops"] + 0
				lim = "-"
				if (c ~ /^cold-dev/ && lat > 0)
					lim = sprintf("%.0f%%", 100 * v / (q * 1000 / lat * (c ~ /-[0-9]+p$/ ? 8 : 1)))
				busy = R[c, q, e, "busy"]; ncpu = R[c, q, e, "ncpu"]
				cpu = (v > 0) ? sprintf("%.0f", busy * ncpu * 1e6 / v) : "-"
				h = R[c, q, e, "helpers"]
				# Kernel memory per blocked operation: the peak growth of
				# KernelStack + SUnreclaim over the QD operations blocked at
				# once (each with its thread: a psync thread, a syslet head).
				# Not over the helpers made: an idle timeout retires some,
				# and more are made, during a job.
				blk = (e == "psync" || num(h) > 0) ? q : 0
				dk = R[c, q, e, "kmem_peak_kb"] - R[c, q, e, "kmem_base_kb"]
				km = (blk > 0) ? sprintf("%.1f KiB", dk / blk) : "-"
				printf "%4s %-9s %8d %7s %9.0f %9s %5.0f%% %8s %6s %8s %9s %11s\n", q, e, v, lim,
					R[c, q, e, "lat_mean_us"], R[c, q, e, "p99_us"], 100 * busy, cpu,
					R[c, q, e, "tasks"], h, R[c, q, e, "handoffs"], km
			}
			for (k = 1; k <= neng; k++)
				if ((c, q, engines[k]) in S)
					printf "%4s %s blocked in: %s\n", q, engines[k], S[c, q, engines[k]]
			s = iops(c, q, "syslet")
			if (s > 0)
				printf "%4s ratios: syslet/stock %s, syslet/io_uring %s, syslet/psync %s, syslet/posixaio %s, syslet/syslet-2 %s\n",
					q, ratio(s, iops(c, q, "stock")), ratio(s, iops(c, q, "io_uring")),
					ratio(s, iops(c, q, "psync")), ratio(s, iops(c, q, "posixaio")),
					ratio(s, iops(c, q, "syslet-2"))
			if (c == "cold-cpu" && iops(c, q, "syslet") > 0 && iops(c, q, "io_uring") > 0)
				printf "%4s CPU per I/O, syslet/io_uring: %.2fx\n", q,
					(R[c, q, "syslet", "busy"] / iops(c, q, "syslet")) / (R[c, q, "io_uring", "busy"] / iops(c, q, "io_uring"))
		}
	}
	if (ncl) {
		printf "\nreal clients (capped page cache: %s)\n", setup["client-memory-cap"]
		for (i = 1; i <= ncl; i++) {
			n = clients[i]
			split("syslet syslet-2 stock psync", vs, " ")
			for (j = 1; j <= 4; j++)
				if ((n, vs[j]) in CL) {
					line = CL[n, vs[j]]; sub(/^client name=[^ ]* /, "", line)
					printf "  %-16s %s\n", n, line
				}
			if ((n, "syslet") in C && (n, "stock") in C)
				printf "  %-16s syslet/stock %s%s\n", n, ratio(C[n, "syslet"], C[n, "stock"]),
					((n, "psync") in C) ? ", syslet/psync threads " ratio(C[n, "syslet"], C[n, "psync"]) : ""
		}
	}
	if (nm) {
		printf "\nhandoff microbenchmark (aio-syslet-microbench)\n"
		for (i = 1; i <= nm; i++)
			printf "  %s\n", substr(micro[i], 12)
	}

	if (np) {
		printf "\nwhere a handoff's time goes (cold-dev QD 32, syslet; ftrace, vm/guest/handoff-profile.sh)\n"
		for (i = 1; i <= np; i++)
			printf "  %s\n", prof[i]
	}

	printf "\ntargets (doc/design.md, section 5)\n"
	s = iops("cold-dev", 32, "syslet")
	rtarget("cold-dev QD 32: syslet/io_uring", s, iops("cold-dev", 32, "io_uring"), ">=", "1.00")
	target("cold-dev QD 32: syslet, % of the device limit", s > 0 ? sprintf("%.1f", 100 * s / (32000 / lat)) : "", ">=", "90", s > 0 ? sprintf("%.1f%%", 100 * s / (32000 / lat)) : "")
	s = iops("cold-dev", 128, "syslet")
	rtarget("cold-dev QD 128: syslet/io_uring", s, iops("cold-dev", 128, "io_uring"), ">=", "0.95")
	# At peak: the job's tasks less fio's own (stock's, which has no helper).
	h = -1
	if (("cold-dev", 128, "syslet") in R && ("cold-dev", 128, "stock") in R)
		h = R["cold-dev", 128, "syslet", "tasks"] - R["cold-dev", 128, "stock", "tasks"]
	target("cold-dev QD 128: syslet helpers at peak", h >= 0 ? h : "", "<=", "132", h)
	s = iops("cached", 32, "syslet")
	rtarget("cached QD 32: syslet/stock", s, iops("cached", 32, "stock"), ">=", "0.98")
	# The same path read by read, the modes alternated: a time ratio, so 1/0.98.
	target("cached QD 1 (microbench): mode 1/mode 0 time", microcached, "<=", "1.02", microcached)
	s = iops("direct", 32, "syslet")
	rtarget("direct QD 32: syslet/stock", s, iops("direct", 32, "stock"), ">=", "0.97")
	h = ("direct", 32, "syslet") in R ? num(R["direct", 32, "syslet", "helpers"]) : -1
	target("direct QD 32: syslet helpers created", h >= 0 ? h : "", "==", "0", h)
	s = iops("write-fsync", 32, "syslet")
	rtarget("write-fsync QD 32: syslet/stock", s, iops("write-fsync", 32, "stock"), ">=", "5")
	s = C["sysbench-rndrd", "syslet"]
	rtarget("sysbench fileio async rndrd: syslet/stock", s, C["sysbench-rndrd", "stock"], ">=", "10")
	s = C["stress-ng-aiol", "syslet"]
	rtarget("stress-ng --aiol bogo-ops: syslet/stock", s, C["stress-ng-aiol", "stock"], ">=", "1.0")
	printf "%d of %d targets missed%s\n", missed, nt, missed ? " (MISSED above)" : ""

	if (nx) { printf "\n"; for (i = 1; i <= nx; i++) print extra[i] }
	if (nf) { printf "\nfio's own summaries\n"; for (i = 1; i <= nf; i++) print fioline[i] }

	if (json != "") {
		printf "{\n  \"kernel\": %s, \"mutant\": %s, \"bench\": %s, \"runtime_s\": %s, \"ncpu\": %s, \"elapsed_s\": %d,\n",
			jstr(setup["kernel"]), mutant == "" ? "null" : jstr(mutant), jstr(setup["bench"]), jval(setup["runtime"]),
			jval(setup["ncpu"]), elapsed > json
		printf "  \"latency_ms\": %s, \"fast_latency_us\": %s, \"client_memory_cap\": %s,\n", lat, fast,
			jstr(setup["client-memory-cap"]) > json
		printf "  \"results\": [\n" > json
		for (i = 1; i <= nres; i++) printf "    {%s}%s\n", rj[i], (i < nres ? "," : "") > json
		printf "  ],\n  \"clients\": [\n" > json
		for (i = 1; i <= nc; i++) printf "    {%s}%s\n", cj[i], (i < nc ? "," : "") > json
		printf "  ],\n  \"microbench\": [\n" > json
		for (i = 1; i <= nmj; i++) printf "    {%s}%s\n", mj[i], (i < nmj ? "," : "") > json
		printf "  ],\n  \"handoff_profile\": [\n" > json
		for (i = 1; i <= npj; i++) printf "    {%s}%s\n", pj[i], (i < npj ? "," : "") > json
		printf "  ],\n  \"targets\": [\n" > json
		for (i = 1; i <= nt; i++) printf "    %s%s\n", tj[i], (i < nt ? "," : "") > json
		printf "  ],\n  \"targets_missed\": %d\n}\n", missed > json
		close(json)
	}
	if (plot != "") {
		# One file a cold workload (a panel), one block an engine.
		for (i = 1; i <= ncell; i++) {
			c = cells[i]
			if (c != "cold-dev" && c != "cold-cpu")
				continue
			f = plot "-" c ".dat"
			printf "" > f
			for (k = 1; k <= neng; k++) {
				e = engines[k]
				printf "\"%s\"\n", e > f
				for (j = 1; j <= nq[c]; j++)
					if (iops(c, qs[c, j], e) > 0)
						printf "%s %d\n", qs[c, j], iops(c, qs[c, j], e) > f
				printf "\n\n" > f
			}
			close(f)
		}
		f = plot "-bars.dat"
		printf "cell" > f
		for (k = 1; k <= neng; k++) printf " %s", engines[k] > f
		printf "\n" > f
		split("cold-dev cold-cpu cached direct write-fsync mixed", bc, " ")
		for (i = 1; i <= 6; i++) {
			c = bc[i]
			if (iops(c, 32, "stock") <= 0)
				continue
			printf "%s", c > f
			for (k = 1; k <= neng; k++)
				if (iops(c, 32, engines[k]) > 0)
					printf " %.3f", iops(c, 32, engines[k]) / iops(c, 32, "stock") > f
				else
					printf " NaN" > f
			printf "\n" > f
		}
		close(f)
	}
}
