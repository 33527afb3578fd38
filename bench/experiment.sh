#!/usr/bin/env bash
# The headline experiment of docs/experiments.md: the expected-commission
# arm against today's practice on the 100k-group world (seed 1, made by
# bench/worlds.sh), 14 simulated days, then the report. Trains and publishes
# a model of the world first (once). Output under bench/out/experiment/:
# simulate.txt (with the true lift from the counterfactual sample),
# report.txt and report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/worlds.sh
out=bench/out/experiment
mkdir -p "$out"
g=bench/out/grouprank
if [ ! -f "$out/snapshots/CURRENT" ]; then
  rm -rf "$out/models" "$out/snapshots"
  $g train --world bench/out/world-s1 --out "$out/models" --version m1 --ope-k 0 --log-format json > "$out/train.txt" 2> "$out/train.log"
  $g publish "$out/models/m1" --root "$out/snapshots" --log-format json >/dev/null 2>&1
fi
rm -rf "$out/live"
$g ab create --file docs/experiments/commission-vs-practice.json --live "$out/live" --root "$out/snapshots"
/usr/bin/time -f "simulate: %e s, peak RSS %M KB" $g simulate --world bench/out/world-s1 --root "$out/snapshots" --live "$out/live" \
  --experiment commission-vs-practice --days 14 --truth-out "$out/truth.json" --log-format json 2> "$out/simulate.log" | tee "$out/simulate.txt"
tail -1 "$out/simulate.log" | tee -a "$out/simulate.txt"
$g ab report commission-vs-practice --live "$out/live" --root "$out/snapshots" | tee "$out/report.txt"
$g ab report commission-vs-practice --live "$out/live" --root "$out/snapshots" --format json > "$out/report.json"
