#!/usr/bin/env bash
# Durable event ingest through HTTP on loopback (see docs/serving.md): serves
# the snapshot of bench/experiment.sh (100k groups x 20k items; run that
# first) with a fresh live store and posts batches of EVENTS (default 1000)
# push and order events to POST /v1/events at each of RATES batches per
# second for DURATION, with the vegeta driver of bench/load. Every batch is
# acknowledged only once synced. Prints the acknowledged events per second
# and the server's CPU. Output: bench/out/ingest-http.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${ROOT:-bench/out/experiment/snapshots}
EVENTS=${EVENTS:-1000}
RATES=${RATES:-30 60}
DURATION=${DURATION:-20s}
go build -o bench/out/grouprank ./cmd/grouprank
(cd bench/load && go build -o ../out/loadgen .)
live=$(mktemp -d)
bench/out/grouprank serve --root "$ROOT" --live "$live" --addr 127.0.0.1:18085 --log-level warn > bench/out/ingest-serve.txt 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$live"' EXIT
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18085/readyz >/dev/null && break; sleep 0.2; done
: > bench/out/ingest-http.txt
for r in $RATES; do
  t0=$(awk '{print $14 + $15}' /proc/$pid/stat)
  bench/out/loadgen -target http://127.0.0.1:18085 -events "$EVENTS" -rate "$r" -duration "$DURATION" -groups 100000 \
    -skus 10000001-10018000 -seed "$r" | tee -a bench/out/ingest-http.txt
  t1=$(awk '{print $14 + $15}' /proc/$pid/stat)
  echo "server CPU: $(( (t1 - t0) * 1000 / $(getconf CLK_TCK) )) ms" | tee -a bench/out/ingest-http.txt
done
