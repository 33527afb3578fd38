#!/usr/bin/env bash
# Reproduces the dashboard's size figures of docs/dashboard.md on this
# machine: the demo service on 127.0.0.1:$PORT, then the bytes each page
# loads (gzip, as a browser asks) and the time to answer each JSON endpoint.
# Output: a table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8097}"
DIR="${DIR:-bench/out/dashboard-demo}"
go build -o bench/out/grouprank ./cmd/grouprank
bench/out/grouprank demo --dir "$DIR" --addr "127.0.0.1:$PORT" --admin-token bench >bench/out/dashboard-demo.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do curl -fs "127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
base="http://127.0.0.1:$PORT"
printf "%-36s %12s %12s\n" "static file" "bytes" "gzip bytes"
total=0; totalgz=0
for f in index.html app.js style.css vendor/echarts.min.js; do
  raw=$(curl -fs "$base/ui/$f" | wc -c)
  gz=$(curl -fs -H 'Accept-Encoding: gzip' "$base/ui/$f" | wc -c)
  total=$((total + raw)); totalgz=$((totalgz + gz))
  printf "%-36s %12d %12d\n" "/ui/$f" "$raw" "$gz"
done
printf "%-36s %12d %12d\n" "total (first visit; later visits revalidate: 304)" "$total" "$totalgz"
echo
printf "%-52s %10s %12s\n" "JSON endpoint (demo world)" "bytes" "seconds"
for p in /v1/status /v1/experiments /v1/experiments/commission-vs-practice/report /v1/models /v1/groups/44 "/v1/groups/44/picks?k=10&explain=true&preview=true&objective=commission"; do
  out=$(curl -fs -o /dev/null -w '%{size_download} %{time_total}' "$base$p")
  printf "%-52s %10s %12s\n" "$p" ${out}
done
