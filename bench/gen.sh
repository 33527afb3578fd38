#!/usr/bin/env bash
# Times `grouprank gen` at the sizes docs/data.md quotes and prints the
# generator's own log line (took, peak_rss_mb) plus the world's summary.
# Usage: bench/gen.sh [small|100k|1m]   (default: 100k)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-100k}
case $size in
  small) args=(--groups 5000 --products 3000 --days 14) ;;
  100k)  args=(--groups 100000 --products 20000 --days 30) ;;
  1m)    args=(--groups 1000000 --products 100000 --days 30) ;;
  *) echo "usage: $0 [small|100k|1m]" >&2; exit 2 ;;
esac
out=${OUT:-bench/out/world-$size}
mkdir -p bench/out
go build -o bench/out/grouprank ./cmd/grouprank
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version)"
echo "command: grouprank gen ${args[*]} --seed 1 --out $out"
bench/out/grouprank gen "${args[@]}" --seed 1 --out "$out" --log-format json 2>&1 >/dev/null | grep '"world written"'
sed -n '/"rows"/,/}/p;/"summary"/,/}/p' "$out/world.json"
