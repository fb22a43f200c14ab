set terminal pngcairo size 1200,720 font ',10'
set output 'mrc.png'
set multiplot layout 2,3
set logscale x 2
set format x '%g'
set xlabel 'cache size (MiB)'
set ylabel 'read hit ratio'
set yrange [0:1]
set key bottom right
set datafile separator '\t'
set title 'zipf, arc'
plot 'mrc.tsv' using ((strcol(1) eq "zipf" && strcol(2) eq "arc") ? $3 / 1048576 : NaN):4 with linespoints title 'exact', '' using ((strcol(1) eq "zipf" && strcol(2) eq "arc") ? $3 / 1048576 : NaN):5 with linespoints title 'live prediction'
set title 'zipf, 2q'
plot 'mrc.tsv' using ((strcol(1) eq "zipf" && strcol(2) eq "2q") ? $3 / 1048576 : NaN):4 with linespoints title 'exact', '' using ((strcol(1) eq "zipf" && strcol(2) eq "2q") ? $3 / 1048576 : NaN):5 with linespoints title 'live prediction'
set title 'zipf, lru'
plot 'mrc.tsv' using ((strcol(1) eq "zipf" && strcol(2) eq "lru") ? $3 / 1048576 : NaN):4 with linespoints title 'exact', '' using ((strcol(1) eq "zipf" && strcol(2) eq "lru") ? $3 / 1048576 : NaN):5 with linespoints title 'live prediction'
set title 'vm-mix, arc'
plot 'mrc.tsv' using ((strcol(1) eq "vm-mix" && strcol(2) eq "arc") ? $3 / 1048576 : NaN):4 with linespoints title 'exact', '' using ((strcol(1) eq "vm-mix" && strcol(2) eq "arc") ? $3 / 1048576 : NaN):5 with linespoints title 'live prediction'
set title 'vm-mix, 2q'
plot 'mrc.tsv' using ((strcol(1) eq "vm-mix" && strcol(2) eq "2q") ? $3 / 1048576 : NaN):4 with linespoints title 'exact', '' using ((strcol(1) eq "vm-mix" && strcol(2) eq "2q") ? $3 / 1048576 : NaN):5 with linespoints title 'live prediction'
set title 'vm-mix, lru'
plot 'mrc.tsv' using ((strcol(1) eq "vm-mix" && strcol(2) eq "lru") ? $3 / 1048576 : NaN):4 with linespoints title 'exact', '' using ((strcol(1) eq "vm-mix" && strcol(2) eq "lru") ? $3 / 1048576 : NaN):5 with linespoints title 'live prediction'
unset multiplot
