# Sourced by the bench scripts that time runs beside a reference run
# (eval-shards.sh, train-shards.sh), after they set OUT.
timed() { # name, command...: runs it under /usr/bin/time, prints "seconds peak_kib cpu_seconds"
  local name=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$OUT/$name.time" "$@" >"$OUT/$name.txt" 2>"$OUT/$name.log"
  awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$OUT/$name.time"
}
add() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
