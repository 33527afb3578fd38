#!/usr/bin/env bash
# Picks under load with the server and the load generator on cores of their
# own (docs/serving.md): the service pinned to core 1, vegeta (bench/load)
# pinned to core 0, uniform random groups (no group asked for again more
# than chance, so the candidate cache hardly helps), the driver's usual mix
# otherwise (5% unknown groups, 10% explained, k = 20). At each rate of RATES
# it attacks the service for DURATION, then, at the same rate and on the same
# core, a gin handler returning the service's response for group 1 (a
# process of its own, `loadgen -serve-fixed`), and reads both processes' CPU
# time from /proc around each attack. Writes docs/results/load-$NAME.md.
#
#   WORLD   the world (default bench/out/world-100k-30d: made here when absent,
#           gen --groups 100000 --products 20000 --days 30 --seed 1)
#   MODEL   a trained artefact of it (default: trained here, --seed 1)
#   RATES   requests/s (default "250 500 1000 1250 1500 2000"); SWAP_RATE the swaps' (500)
#   EVENT_RATES  event batches/s (default "30 60")
#   DURATION  each attack (default 20s); WARMUP before the first (default 10s)
#   NAME    the results file's name (default 100k)
set -euo pipefail
cd "$(dirname "$0")/.."
WORLD=${WORLD:-bench/out/world-100k-30d}
RATES=${RATES:-250 500 1000 1250 1500 2000}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-10s}
NAME=${NAME:-100k}
out=bench/out/load-pinned-$NAME
mkdir -p "$out"
[ "$(nproc)" -ge 2 ] || { echo "load-pinned: needs 2 cores" >&2; exit 1; }
go build -o bench/out/grouprank ./cmd/grouprank
(cd bench/load && go build -o ../out/loadgen .)
gr=bench/out/grouprank
if [ ! -f "$WORLD/world.json" ]; then
  $gr gen --groups 100000 --products 20000 --days 30 --seed 1 --out "$WORLD" --log-format json 2>"$out/gen.log"
fi
MODEL=${MODEL:-}
if [ -z "$MODEL" ]; then
  MODEL=$out/models/m1
  [ -f "$MODEL/manifest.json" ] || { rm -rf "$out/models"
    $gr train --world "$WORLD" --out "$out/models" --version m1 --seed 1 --ope-k 0 --log-format json >/dev/null 2>"$out/train.log"; }
fi
rm -rf "$out/snapshots" "$out/live"
/usr/bin/time -f "%e %M" -o "$out/publish.time" $gr publish "$MODEL" --root "$out/snapshots" --log-format json >/dev/null 2>"$out/publish.log"
ngroups=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['params']['groups'])" "$WORLD/world.json")

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# load URL SEED FLAGS...: the driver on core 0.
load() { taskset -c 0 bench/out/loadgen -groups "$ngroups" -seed "$2" "${@:3}" -target "$1"; }
# start FLAGS...: the service on core 1, with a fresh live store.
start() {
  rm -rf "$out/live"
  GROUPRANK_SERVE_ADMIN_TOKEN=load-test-token taskset -c 1 $gr serve --root "$out/snapshots" --live "$out/live" \
    --addr 127.0.0.1:18081 --log-level warn "$@" >>"$out/serve.txt" 2>&1 &
  spid=$!
  for _ in $(seq 1 300); do curl -sf http://127.0.0.1:18081/readyz >/dev/null && break; sleep 0.2; done
  curl -sf http://127.0.0.1:18081/readyz >/dev/null
}
# measure WHO PID URL RATE SEED FLAGS...: one attack, with the CPU the process took.
measure() {
  local who=$1 pid=$2 url=$3 rate=$4 seed=$5
  shift 5
  local t0 t1
  t0=$(ticks "$pid")
  load "$url" "$seed" -rate "$rate" -duration "$DURATION" "$@" >"$out/$who-$rate.txt"
  t1=$(ticks "$pid")
  echo "$who rate=$rate ticks=$((t1 - t0)) hz=$(getconf CLK_TCK) rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$pid/status") :: $(head -1 "$out/$who-$rate.txt")" | tee -a "$out/runs.txt"
}
: >"$out/runs.txt" && : >"$out/serve.txt"
trap 'kill ${spid:-} ${fpid:-} ${swapper:-} 2>/dev/null || true' EXIT

# Uniform groups with the candidate cache off: every request does all its
# work, beside the fixed handler.
start --candidate-cache 0
taskset -c 1 bench/out/loadgen -serve-fixed 127.0.0.1:18082 -target http://127.0.0.1:18081 >"$out/fixed.txt" 2>&1 &
fpid=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null http://127.0.0.1:18082/v1/groups/1/picks && break; sleep 0.1; done
load http://127.0.0.1:18081 99 -uniform -rate 500 -duration "$WARMUP" >"$out/warmup.txt"
load http://127.0.0.1:18082 99 -uniform -rate 500 -duration "$WARMUP" >>"$out/warmup.txt"
for rate in $RATES; do
  measure uniform $spid http://127.0.0.1:18081 "$rate" "$rate" -uniform
  measure fixed $fpid http://127.0.0.1:18082 "$rate" "$rate" -uniform
done
kill $spid $fpid; wait $spid $fpid 2>/dev/null || true

# Zipf groups (exponent 1.1) with the service as it runs by default (the
# candidate cache on), after a warm-up with another seed.
start
load http://127.0.0.1:18081 99 -rate 500 -duration "$WARMUP" >>"$out/warmup.txt"
for rate in $RATES; do
  measure zipf $spid http://127.0.0.1:18081 "$rate" "$rate"
done
# Models swapped in under load: the admin reload route opens the snapshot
# again, warms it and swaps it in every 2 seconds of an attack at SWAP_RATE.
SWAP_RATE=${SWAP_RATE:-500}
( while sleep 2; do
    if curl -sf -X POST -H 'Authorization: Bearer load-test-token' http://127.0.0.1:18081/v1/admin/models/reload >/dev/null
    then echo swapped; else echo failed; fi
  done ) >"$out/swaps.txt" &
swapper=$!
load http://127.0.0.1:18081 3 -rate "$SWAP_RATE" -duration "$DURATION" >"$out/swap.txt"
kill $swapper
echo "swap rate=$SWAP_RATE swapped=$(grep -c swapped "$out/swaps.txt" || true) failed=$(grep -c failed "$out/swaps.txt" || true) :: $(head -1 "$out/swap.txt")" | tee -a "$out/runs.txt"
# Durable event ingest: batches of 1,000 push and order events (3 to 1) at
# each of EVENT_RATES batches/s, each acknowledged once synced.
for rate in ${EVENT_RATES:-30 60}; do
  t0=$(ticks $spid)
  load http://127.0.0.1:18081 "$rate" -events 1000 -rate "$rate" -duration "$DURATION" >"$out/events-$rate.txt"
  t1=$(ticks $spid)
  echo "events rate=$rate ticks=$((t1 - t0)) hz=$(getconf CLK_TCK) :: $(head -1 "$out/events-$rate.txt") :: $(grep '^events:' "$out/events-$rate.txt")" | tee -a "$out/runs.txt"
done
sizes=$(head -1 "$out/fixed.txt")
python3 bench/loadmd.py "$out/runs.txt" "docs/results/load-$NAME.md" "$WORLD" "$MODEL" "$ngroups" "$DURATION" "$sizes" "$RATES" "$NAME" "$SWAP_RATE" "$out/publish.time"
cat "docs/results/load-$NAME.md"
