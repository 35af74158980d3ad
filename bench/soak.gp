# gnuplot -e "datafile='soak.dat'; faultfile='soak.faults.dat'; outfile='soak.png'" bench/soak.gp
# Three panels over the run's minutes: logins per second (ok, failed), nginx
# workers' RSS (node A summed, node B), Redis keys (and the projection of the
# drain). Fault windows are shaded.
set terminal pngcairo size 1100,900 noenhanced font ",10"
set output outfile
set multiplot layout 3,1 title "eidhub soak run (fault windows shaded)"
set grid
set xlabel "minutes"
set key top left
# each fault window as a shaded rectangle, from the fault file's rows "start end label"
windows = system(sprintf("awk 'NF >= 2 {print $1 \":\" $2}' '%s'", faultfile))
i = 0
do for [w in windows] {
  i = i + 1
  c = strstrt(w, ":")
  set object i rect from real(substr(w, 1, c - 1)), graph 0 to real(substr(w, c + 1, strlen(w))), graph 1 fc rgb "#f6d5d5" fs solid 1.0 noborder behind
}
set ylabel "logins/s"
plot datafile using 1:2 with lines lw 2 lc rgb "#2ca02c" title "ok", \
     '' using 1:3 with impulses lw 2 lc rgb "#d62728" title "failed"
set ylabel "MiB"
plot datafile using 1:4 with lines lw 2 lc rgb "#3b6ea8" title "node A workers RSS (sum)", \
     '' using 1:5 with lines lw 1 lc rgb "#9467bd" title "node B worker RSS", \
     '' using 1:9 with lines lw 1 dt 2 lc rgb "#7f7f7f" title "Redis used_memory"
set ylabel "keys"
plot datafile using 1:6 with linespoints pt 7 ps 0.4 lc rgb "#ff7f0e" title "Redis db0 keys (A)", \
     '' using 1:7 with lines lc rgb "#8c564b" title "db1 keys (B)", \
     '' using 1:8 with lines dt 2 lw 2 lc rgb "#000000" title "projected from the TTLs"
unset multiplot
