#!/usr/bin/env bash
# Reproduces the synthetic-world tables of docs/eval.md: three seeds and one
# altered world, 100k groups x 20k products x 30 days, last 7 days as test.
# Each world takes about 20 s to generate and 2 minutes to evaluate here.
# Output: bench/out/eval-<world>.md (and .json).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
go build -o bench/out/grouprank ./cmd/grouprank
gen() { bench/out/grouprank gen --groups 100000 --products 20000 --days 30 "$@" --log-format json >/dev/null 2>&1; }
for s in 1 2 3; do
  [ -f bench/out/world-s$s/world.json ] || gen --seed $s --out bench/out/world-s$s
done
[ -f bench/out/world-alt/world.json ] || gen --seed 1 --taste-concentration 1.6 --price-sensitivity 0.5 --out bench/out/world-alt
for w in s1 s2 s3 alt; do
  echo "== world-$w"
  bench/out/grouprank eval --world bench/out/world-$w --test-days 7 --seed 1 \
    --markdown bench/out/eval-$w.md --json bench/out/eval-$w.json --log-format json 2>/dev/null
done
