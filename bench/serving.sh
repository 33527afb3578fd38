#!/usr/bin/env bash
# Writes docs/results/serving-bench.md (docs/serving.md): BenchmarkRank (one
# picks request, k = 20, one core) at 20k and 100k items beside its floor
# (BenchmarkRankFloor: the group vector's dot product with every item vector,
# the same kernel), BenchmarkExplore (one explored request), durable event
# ingest into the live store (synced batches) and reading events back (what an
# experiment report does first), binary records beside JSON ones. Every
# benchmark runs once per process, RUNS processes one after the other, so the
# ratios pair runs made moments apart. About 5 minutes.
# Output: bench/out/serving/*.txt and the Markdown file.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
OUT=bench/out/serving
rm -rf "$OUT"
mkdir -p "$OUT" docs/results
for i in $(seq "$RUNS"); do
  go test ./recommend -run '^$' -bench 'BenchmarkRank|BenchmarkExplore' -benchtime 300x -cpu 1 -count 1 | tee -a "$OUT/rank.txt"
  go test ./data/store -run '^$' -bench BenchmarkAppendEvents -benchtime 3s -count 1 | tee -a "$OUT/ingest.txt"
  go test ./data/store -run '^$' -bench BenchmarkReadEvents -benchtime 10x -count 1 | tee -a "$OUT/read-events.txt"
done
python3 bench/benchmd.py --command "bench/serving.sh (RUNS=$RUNS)" \
  --ratio 'BenchmarkRank/items=20k:BenchmarkRankFloor/items=20k' \
  --ratio 'BenchmarkRank/items=100k:BenchmarkRankFloor/items=100k' \
  --ratio 'BenchmarkExplore/items=20k:BenchmarkRank/items=20k' \
  --ratio 'BenchmarkExplore/items=100k:BenchmarkRank/items=100k' \
  --ratio 'BenchmarkReadEvents/format=binary:BenchmarkReadEvents/format=json' \
  --note "A picks request (\`BenchmarkRank\`, k = 20, \`-cpu 1\`, 64 groups in turn, a synthetic catalogue and a model with random weights: \`recommend/rank_bench_test.go\`) beside its floor, the dot products alone (\`BenchmarkRankFloor\`); an explored request (\`BenchmarkExplore\`) beside a plain one; \`BenchmarkAppendEvents\` stores synced batches as \`POST /v1/events\` does; \`BenchmarkReadEvents\` rereads 100k stored events in time order, binary records beside the JSON ones older stores hold (read that as a ratio: run to run the rates move by up to 2x here)." \
  "$OUT/rank.txt" "$OUT/ingest.txt" "$OUT/read-events.txt" >docs/results/serving-bench.md
cat docs/results/serving-bench.md
