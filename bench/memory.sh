#!/usr/bin/env bash
# The serving memory's bound (docs/serving.md): recommend.PushMemory fed the
# field's traffic (400,000 groups, 600,000 pushes and 300,000 orders a day)
# for 40 simulated days, swept every six simulated hours (the service sweeps every minute), then a burst of a
# million unknown group ids; prints the heap it holds (after a GC) at days 7,
# 30 and 40, after the burst, and a week later. Every order names its buyer,
# one of 20M members.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, $(go version)"
# Twice: buyers' orders not kept (a conversion model: none of its members has
# a row), then kept for every buyer (a preference model knowing them all).
for buyers in none all; do
  GROUPRANK_MEMORY_BOUND=1 GROUPRANK_MEMORY_BUYERS=$buyers go test ./recommend -run '^TestPushMemoryBound$' -count=1 -v -timeout 60m | grep -v '^=== RUN\|^--- \|^PASS\|^ok'
done
