# gnuplot -e "datafile='plot.dat'; outfile='latest.png'" bench/plot.gp
set terminal pngcairo size 1100,560 noenhanced font ",10"
set output outfile
set title "eidhub benchmarks: rates per second (log scale; baselines converted to logins/s)"
set style fill solid 0.7 border -1
set boxwidth 0.6
set logscale y
set yrange [1:*]
set ylabel "per second"
set grid ytics
set bmargin 5
unset key
plot datafile using 1:3:xtic(2) with boxes lc rgb "#3b6ea8", \
     '' using 1:3:(sprintf("%.0f", $3)) with labels offset 0,1
