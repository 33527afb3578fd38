#!/usr/bin/env bash
# Runs the Parquet benchmarks (write, full-row read, columnar scan of orders)
# six times and summarises them with benchstat. Output: bench/out/parquet.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
echo "machine: $(nproc) cores, $(go version)"
go test ./data/parquetio -run '^$' -bench 'BenchmarkWriteOrders|BenchmarkReadOrders' -count 6 | tee bench/out/parquet.txt >/dev/null
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da bench/out/parquet.txt
