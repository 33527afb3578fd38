#!/usr/bin/env bash
# The retraining loop on the 100k-group worlds (WORLDS, default "s1"; the
# worlds and models of bench/model.sh). Round 1: the world's model (trained
# on its 30 days, logged by today's practice) serves the commission
# objective to every group for 14 simulated days (grouprank simulate), with a
# share of lists explored (EXPLORE, default "0 0.1"); events export turns the
# live store into a world of the service's own logs (the world's last 14
# days, replayed, and the 14 served); train retrains on that alone. Round 2:
# the retrained model is published, serves the same 14 days again, and is
# retrained on its own logs in turn. eval business scores every model on the
# day after the served days against the same truth (the catalogue does not
# change after the world's window), 4,000 groups.
# Output under bench/out/loop/<world>/: business-served.md (the model that
# served round 1), business-explore<e>-r<round>.md, and each round's
# directory.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/worlds.sh
g=bench/out/grouprank
rows() { grep -E '^\| (practice \(|objective: commission \||oracle: commission|systematic oracle: commission)' "$1"; }
for w in ${WORLDS:-s1}; do
  world=bench/out/world-$w
  [ -f "bench/out/model-$w/snapshots/CURRENT" ] || WORLDS=$w bench/model.sh >/dev/null
  out=bench/out/loop/$w
  mkdir -p "$out"
  day=$(( $(sed -n 's/.*"days": *\([0-9]*\).*/\1/p' "$world/world.json" | head -1) + 14 ))
  printf '%s\n' '{"key": "served", "unit": "group", "layer": "ranking", "traffic": 1, "pre_days": 14, "planned_days": 14,' \
    ' "primary_metric": "commission_per_push",' \
    ' "arms": [{"name": "a", "weight": 50, "options": {"objective": "commission"}}, {"name": "b", "weight": 50, "options": {"objective": "commission"}}]}' \
    > "$out/served.json"
  business() { # model, output
    $g eval business --world "$world" --model "$1" --seed 1 --groups 4000 --day "$day" --markdown "$2" --log-format json >/dev/null 2>&1
  }
  round() { # snapshots that serve, explore share, directory (the retrained model: <directory>/models/r)
    local snaps=$1 e=$2 v=$3
    rm -rf "$v" && mkdir -p "$v/logs"
    $g ab create --file "$out/served.json" --live "$v/live" --root "$snaps" >/dev/null
    /usr/bin/time -f "simulate: %e s, peak RSS %M KB" $g simulate --world "$world" --root "$snaps" --live "$v/live" \
      --experiment served --days 14 --truth-sample 0 --explore "$e" --log-format json > "$v/simulate.txt" 2> "$v/simulate.log"
    cp "$world/catalog.parquet" "$world/groups.parquet" "$v/logs/"
    $g events export --live "$v/live" --since 2000-01-01 --out "$v/events.parquet" --pushes-out "$v/logs/pushes.parquet" \
      --orders-out "$v/logs/orders.parquet" --rates-from "$world" --exposures-out "$v/logs/exposures.parquet" \
      --log-format json > "$v/export.txt" 2>/dev/null
    rm -f "$v/events.parquet"
    $g train --world "$v/logs" --out "$v/models" --version r --seed 1 --ope-k 0 --log-format json > "$v/train.txt" 2> "$v/train.log"
    $g publish "$v/models/r" --root "$v/snapshots" --log-format json >/dev/null 2>&1
  }
  business "bench/out/model-$w/artefacts/m1" "$out/business-served.md"
  echo "== world-$w: the model that served round 1 (trained on the world's 30 days)"
  rows "$out/business-served.md"
  for e in ${EXPLORE:-0 0.1}; do
    snaps=bench/out/model-$w/snapshots
    for r in 1 2; do
      v=$out/explore$e-r$r
      round "$snaps" "$e" "$v"
      business "$v/models/r" "$out/business-explore$e-r$r.md"
      echo "== world-$w, explore $e, round $r"
      cat "$v/export.txt"
      grep -A6 '^| pushes | n |' "$v/train.txt" | tail -3
      rows "$out/business-explore$e-r$r.md"
      snaps=$v/snapshots
    done
  done
done
