#!/usr/bin/env bash
# Reproduces docs/model.md: on three seeds and one altered world (100k groups
# x 20k products x 30 days, the worlds of bench/eval.sh), times train +
# publish, prints the conversion model's report (calibration, off-policy
# estimates) and the true business value per push of every objective's top 10.
# Output: bench/out/model-<world>.txt (train report, timings) and
# bench/out/business-<world>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/worlds.sh
for w in ${WORLDS:-s1 s2 s3 alt}; do
  echo "== world-$w"
  out=bench/out/model-$w
  rm -rf "$out"
  start=$(date +%s.%N)
  bench/out/grouprank train --world bench/out/world-$w --out "$out/artefacts" --version m1 --seed 1 \
    --log-format json > bench/out/model-$w.txt 2> bench/out/model-$w.log
  mid=$(date +%s.%N)
  bench/out/grouprank publish "$out/artefacts/m1" --root "$out/snapshots" --log-format json >/dev/null 2>>bench/out/model-$w.log
  end=$(date +%s.%N)
  printf 'train %.1f s, publish %.1f s, train + publish %.1f s; train peak RSS %s MiB\n' \
    "$(echo "$mid - $start" | bc)" "$(echo "$end - $mid" | bc)" "$(echo "$end - $start" | bc)" \
    "$(grep -o '"peak_rss_mb":[0-9]*' bench/out/model-$w.log | tail -1 | cut -d: -f2)" | tee -a bench/out/model-$w.txt
  bench/out/grouprank eval business --world bench/out/world-$w --model "$out/artefacts/m1" --seed 1 --ceilings --blend 0,1,0,0 \
    --markdown bench/out/business-$w.md --json bench/out/business-$w.json --log-format json >/dev/null 2>&1
  cat bench/out/business-$w.md
done
