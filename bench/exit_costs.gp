# Instructions per exit round trip by exit kind, one bar per hypervisor
# and vendor: a clustered bar chart on a log scale. bench/report.py writes
# the data and runs this:
#
#   gnuplot -e "datafile='D'; outfile='O.svg'; nseries=N; subtitle='S';
#               note='M'; notelines=L; colours='#rrggbb ...'; nkinds=K;
#               term='svg'" \
#           bench/exit_costs.gp
#
# datafile: a header row (kind, then each series' title in quotes), then
# one row per exit kind; "?" where a series has no figure for that kind.
# term: svg (default) or png.

if (!exists("term")) term = "svg"
if (!exists("subtitle")) subtitle = ""
if (!exists("note")) note = ""
if (term eq "png") {
    set terminal pngcairo size 900,500 noenhanced font "sans,10" background "white"
} else {
    set terminal svg size 900,500 dynamic noenhanced font "sans,11" background "white"
}
set output outfile

set datafile missing "?"
set key autotitle columnhead   # the header row is no data, in every plot
set title "Instructions per exit round trip (guest, hypervisor and back)\n" . subtitle
set ylabel "instructions (log scale)"
set xlabel "exit kind"
set logscale y
set yrange [10:*]
set grid ytics mytics lc rgb "#dddddd"
set key top left horizontal reverse Left samplen 2
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.95 relative
set xtics nomirror
if (exists("nkinds")) set xrange [-0.6:nkinds - 0.4]
set ytics nomirror
if (!exists("notelines")) notelines = 1
if (strlen(note) > 0) {
    set label 1 note at character 1, character notelines + 0.5 left font ",9" tc rgb "#555555"
    set bmargin 4 + notelines
}
# One colour per series, the same for a series whichever others are there.
if (!exists("colours")) colours = "#1f77b4 #2ca02c #ff7f0e #d62728"
# Each bar's centre in its cluster: gnuplot gives a cluster of nseries
# bars and a gap of 1 bar one unit of x.
xbar(j) = $0 + (j - (nseries - 1) / 2.0) / (nseries + 1.0)

plot for [i=1:nseries] datafile using (column(i + 1)):xtic(1) \
         title columnheader(i + 1) lc rgb word(colours, (i - 1) % words(colours) + 1), \
     for [i=1:nseries] datafile using (xbar(i - 1)):(column(i + 1)): \
         (sprintf("%.0f", column(i + 1))) with labels offset 0,0.6 \
         font ",8" notitle
