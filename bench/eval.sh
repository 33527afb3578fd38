#!/usr/bin/env bash
# Reproduces the synthetic-world tables of docs/eval.md: three seeds and one
# altered world, 100k groups x 20k products x 30 days, last 7 days as test.
# Each world takes about 20 s to generate and 2 minutes to evaluate here.
# Output: bench/out/eval-<world>.md (and .json).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/worlds.sh
for w in s1 s2 s3 alt; do
  echo "== world-$w"
  bench/out/grouprank eval --world bench/out/world-$w --test-days 7 --seed 1 \
    --markdown bench/out/eval-$w.md --json bench/out/eval-$w.json --log-format json 2>/dev/null
done
