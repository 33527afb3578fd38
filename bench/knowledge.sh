#!/usr/bin/env bash
# What knowing more about each group is worth to the expected-commission
# objective, on each world's truth (docs/model.md, "Where the commission
# shortfall comes from"): data/synth's TestValueOfGroupKnowledge, which reads
# the truth and so is an evaluator's tool. Output: bench/out/knowledge-<world>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/worlds.sh
for w in ${WORLDS:-s1 s2 s3 alt}; do
  GROUPRANK_WORLD="$PWD/bench/out/world-$w" go test ./data/synth -run '^TestValueOfGroupKnowledge$' -count 1 -v -timeout 30m |
    grep -v '^=== \|^--- \|^PASS\|^ok ' | tee bench/out/knowledge-$w.md
done
