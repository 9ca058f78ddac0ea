# vm/bench-plot.gp: make vm-bench's plot, read at a glance: IOPS against
# queue depth per engine for each cold workload, and the QD 32 cells'
# IOPS relative to libaio on stock io_submit (1.0), one bar per engine.
# The data comes from vm/bench-report.awk.
#
# Usage: gnuplot -e "prefix='DIR/vm-bench'; out='DIR/vm-bench.png'; heading='...'" vm/bench-plot.gp
set terminal pngcairo size 1650,520 font "sans,10" noenhanced
set output out
set multiplot layout 1,3 title heading
set grid ytics
set key top left box opaque

panel(name, what) = sprintf("%s: %s", name, what)
do for [w in "cold-dev cold-cpu"] {
	f = prefix . "-" . w . ".dat"
	if (system("test -s '" . f . "' && echo 1") eq "1") {
		stats f using 1 nooutput
		n = STATS_blocks
		set title panel(w, w eq "cold-dev" ? "cold reads, device bound" : "cold reads, CPU bound")
		set logscale x 2
		set xlabel "queue depth"
		set ylabel "IOPS"
		set yrange [0:*]
		plot for [i = 0:n - 1] f index i using 1:2 with linespoints lw 2 pt 7 title columnheader(1)
		unset logscale x
	} else {
		set title panel(w, "not measured in this run")
		unset key
		plot [0:1] [0:1] NaN notitle
		set key top left box opaque
	}
}
f = prefix . "-bars.dat"
set title "QD 32 cells: IOPS relative to libaio stock (= 1)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xlabel ""
set ylabel "x stock (log scale)"
set logscale y
set yrange [*:*]
set xtics rotate by -20
plot for [col = 2:*] f using col:xtic(1) title columnheader(col)
unset multiplot
