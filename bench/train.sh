#!/usr/bin/env bash
# Times one iALS epoch beside its floor (every observed pair's vector read once
# per side) and the whole profile build at 100k and 1M groups
# (benchmarks BenchmarkALSEpoch and BenchmarkALSFloor in train,
# BenchmarkBuildProfiles in features).
# Output: bench/out/train.txt. peak-RSS-MiB is the test process's peak
# resident set (getrusage) when the size finished; sizes run smallest first,
# so each figure is that size's peak (the input data included).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
echo "machine: $(nproc) cores, $(go version)"
{
  go test ./train -run '^$' -bench 'BenchmarkALS(Epoch|Floor)' -benchtime 3x -count 2 -timeout 60m
  go test ./features -run '^$' -bench BenchmarkBuildProfiles -benchtime 3x -timeout 60m
} | tee bench/out/train.txt
