#!/usr/bin/env bash
# The restart bound of docs/serving.md: the service's in-memory state at the
# field's traffic (600k pushes and 300k orders a day over 400k groups: a week
# of pushes, 30 days of orders), its checkpoint's size, encode and decode
# time, against adding the same events to an empty memory in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench 'BenchmarkCheckpoint' -benchtime 1x -count 2 ./recommend | grep Benchmark
