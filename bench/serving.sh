#!/usr/bin/env bash
# Reproduces the benchmark figures of docs/serving.md on this machine:
# BenchmarkRank (one picks request, k = 20, one core) and BenchmarkExplore (one
# explored request) at 20k and 100k items,
# durable event ingest into the live store (synced batches) and reading
# events back (what an experiment report does first).
# Output: bench/out/rank.txt, bench/out/ingest.txt, bench/out/read-events.txt
# (benchstat prints the medians).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
go test ./recommend -run '^$' -bench 'BenchmarkRank|BenchmarkExplore' -benchtime 300x -cpu 1 -count 5 | tee bench/out/rank.txt
go test ./data/store -run '^$' -bench BenchmarkAppendEvents -benchtime 3s -count 3 | tee bench/out/ingest.txt
go test ./data/store -run '^$' -bench BenchmarkReadEvents -benchtime 10x -count 3 | tee bench/out/read-events.txt
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da bench/out/rank.txt bench/out/ingest.txt bench/out/read-events.txt
