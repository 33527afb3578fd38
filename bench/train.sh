#!/usr/bin/env bash
# Writes docs/results/train-bench.md (docs/eval.md, "Speed and memory"): one
# iALS epoch beside its floor (every observed pair's vector read once per
# side) and the whole profile build, at 100k and 1M groups (benchmarks
# BenchmarkALSEpoch and BenchmarkALSFloor in train, BenchmarkBuildProfiles in
# features; synthetic Zipf histories with fixed seeds). The iALS benchmarks
# run RUNS times, one process each, every epoch beside its floor in the same
# process; peak-RSS-MiB is the process's peak resident set (getrusage) when
# the size finished, sizes run smallest first, the input data included. A
# size whose memory /proc/meminfo says is not there is skipped. About 10
# minutes. Output: bench/out/train/*.txt and the Markdown file.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-2}
OUT=bench/out/train
rm -rf "$OUT"
mkdir -p "$OUT" docs/results
for i in $(seq "$RUNS"); do
  go test ./train -run '^$' -bench 'BenchmarkALS(Epoch|Floor)' -benchtime 3x -count 1 -timeout 60m | tee -a "$OUT/ials.txt"
done
go test ./features -run '^$' -bench BenchmarkBuildProfiles -benchtime 3x -timeout 60m | tee "$OUT/profiles.txt"
python3 bench/benchmd.py --command "bench/train.sh (RUNS=$RUNS)" \
  --ratio 'BenchmarkALSEpoch/groups=100k/items=20k/orders=3M:BenchmarkALSFloor/groups=100k/items=20k/orders=3M' \
  --ratio 'BenchmarkALSEpoch/groups=1000k/items=100k/orders=30M:BenchmarkALSFloor/groups=1000k/items=100k/orders=30M' \
  --note "One iALS epoch (64 factors, 3 CG steps per row, both cores; setup included: the transpose and the initial vectors) beside its floor, every observed pair's vector of the other side read once per side into a contiguous block on both cores and nothing else; the profile build (profiles and item statistics, 370 L2 categories). $(go env GOVERSION), $(nproc) cores." \
  "$OUT/ials.txt" "$OUT/profiles.txt" >docs/results/train-bench.md
cat docs/results/train-bench.md
