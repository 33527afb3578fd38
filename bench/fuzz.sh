#!/usr/bin/env bash
# Fuzzes every decoder of untrusted input for FUZZTIME each (default 10m),
# one worker each (-parallel 1), one after the other, and prints a line per
# target: its executions, new inputs and result. A crash leaves its input
# under the package's testdata/fuzz/<target>/, where `go test` replays it as
# a regression test from then on: commit it with the fix.
# Usage: [FUZZTIME=10m] bench/fuzz.sh [target ...]
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10m}
targets=(
  "./recommend/api FuzzPicksQuery"
  "./recommend/api FuzzEventsJSON"
  "./recommend/api FuzzCatalogUpdates"
  "./recommend/api FuzzRules"
  "./recommend/api FuzzExperimentDefinitions"
  "./data/store FuzzEventRecord"
  "./data/store FuzzExposureRecord"
  "./recommend FuzzGroupRecord"
  "./recommend FuzzPushMemory"
  "./train FuzzMembers"
  "./train FuzzPreference"
  "./train FuzzTogether"
  "./data/importer FuzzImportCSV"
)
echo "machine: $(nproc) cores, $(go version); $FUZZTIME per target, -parallel 1"
printf "%-28s %-18s %14s %10s  %s\n" target package execs new result
fail=0
for t in "${targets[@]}"; do
  set -- $t
  if [ $# -ge 2 ] && [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $2 "* ]]; then continue; fi
  log=$(go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" -parallel 1 2>&1)
  rc=$?
  last=$(echo "$log" | grep -o 'execs: [0-9]*' | tail -1 | cut -d' ' -f2)
  new=$(echo "$log" | grep -o 'total: [0-9]*' | tail -1 | cut -d' ' -f2)
  result=ok
  if [ $rc -ne 0 ]; then
    if echo "$log" | grep -q 'Failing input written'; then
      result="FAILED (input kept under $1/testdata/fuzz/$2/)"; fail=1
    elif echo "$log" | grep -q 'context deadline exceeded'; then
      result="ok (no failing input; the fuzzer's workers did not stop by the deadline)"
    else
      result="FAILED"; fail=1
    fi
  fi
  printf "%-28s %-18s %14s %10s  %s\n" "$2" "$1" "${last:-?}" "${new:-?}" "$result"
  # the log of a failure only: a fuzzer stopped late found nothing to show
  if [[ "$result" == FAILED* ]]; then echo "$log" | grep -v '^fuzz: elapsed' | tail -20; fi
done
exit $fail
