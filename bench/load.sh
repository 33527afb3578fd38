#!/usr/bin/env bash
# HTTP load test on loopback (see docs/serving.md). Trains and publishes a
# model of WORLD (default bench/out/world-s1, 100k groups x 20k items; make it
# with bench/eval.sh or bench/model.sh), serves it on 127.0.0.1, and runs the
# vegeta driver of bench/load (Zipf groups, 5% unknown, 10% explained) at
# RATE requests/s for DURATION, then a fixed-response gin handler of the same
# size at the same rate. Prints latencies and the server's CPU-ms per request
# and peak RSS. With SWAP=1 the model is swapped in (admin reload: the
# snapshot is opened again and replaces the one in service) every 2 seconds
# during the attack, to check that no request is dropped. CPU per request
# counts the measured attack only.
# OUT (default bench/out/load) holds the model, snapshots and live store.
# Output: bench/out/load-<rate>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
WORLD=${WORLD:-bench/out/world-s1}
RATE=${RATE:-1000}
DURATION=${DURATION:-60s}
NGROUPS=${NGROUPS:-100000}
out=${OUT:-bench/out/load}
mkdir -p "$out"
go build -o bench/out/grouprank ./cmd/grouprank
(cd bench/load && go build -o ../out/loadgen .)
if [ ! -d "$out/snapshots/snapshots/m1" ]; then
  rm -rf "$out/models" "$out/snapshots"
  bench/out/grouprank train --world "$WORLD" --out "$out/models" --version m1 --ope-k 0 --log-format json >/dev/null 2>&1
  bench/out/grouprank publish "$out/models/m1" --root "$out/snapshots" --log-format json >/dev/null 2>&1
fi
rm -rf "$out/live"
GROUPRANK_SERVE_ADMIN_TOKEN=load-test-token bench/out/grouprank serve --root "$out/snapshots" --live "$out/live" \
  --addr 127.0.0.1:18080 --log-level warn > "$out/serve.txt" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18080/readyz >/dev/null && break; sleep 0.2; done
ticks() { awk '{print $14 + $15}' /proc/$pid/stat; }
# WARMUP (default 30s, 0 to skip): the same attack first, reported apart, so
# the measured minute runs on a warm service (its candidate cache filled;
# a cold service computes every group's dot products once).
WARMUP=${WARMUP:-30s}
if [ "$WARMUP" != 0 ]; then
  echo "warm-up ($WARMUP):" | tee "bench/out/$(basename "$out")-$RATE.txt"
  bench/out/loadgen -target http://127.0.0.1:18080 -rate "$RATE" -duration "$WARMUP" -groups "$NGROUPS" -seed 99 \
    | tee -a "bench/out/$(basename "$out")-$RATE.txt"
  echo "measured:" | tee -a "bench/out/$(basename "$out")-$RATE.txt"
else
  : > "bench/out/$(basename "$out")-$RATE.txt"
fi
t0=$(ticks)
if [ "${SWAP:-0}" = 1 ]; then
  : > "$out/swaps.txt"
  ( for _ in $(seq 1 200); do sleep 2
      if curl -sf -X POST -H 'Authorization: Bearer load-test-token' http://127.0.0.1:18080/v1/admin/models/reload >/dev/null; then
        echo swapped >> "$out/swaps.txt"; else echo "swap failed"; fi
    done ) &
  swapper=$!
  trap 'kill $pid $swapper 2>/dev/null || true' EXIT
fi
bench/out/loadgen -target http://127.0.0.1:18080 -rate "$RATE" -duration "$DURATION" -groups "$NGROUPS" $([ "${SWAP:-0}" = 1 ] || echo -fixed) | tee -a "bench/out/$(basename "$out")-$RATE.txt"
t1=$(ticks)
hz=$(getconf CLK_TCK)
reqs=$(grep -o '^grouprank: [0-9]*' "bench/out/$(basename "$out")-$RATE.txt" | tail -1 | awk '{print $2}')
printf 'server CPU: %.3f ms per request; peak RSS %s\n' "$(echo "($t1 - $t0) * 1000 / $hz / $reqs" | bc -l)" \
  "$(grep VmHWM /proc/$pid/status | awk '{print $2, $3}')" | tee -a "bench/out/$(basename "$out")-$RATE.txt"
if [ "${SWAP:-0}" = 1 ]; then
  kill "$swapper" 2>/dev/null || true
  echo "models swapped in during the attack: $(wc -l < "$out/swaps.txt")" | tee -a "bench/out/$(basename "$out")-$RATE.txt"
fi
