#!/usr/bin/env bash
# Writes docs/results/train-size.md (docs/scale.md, docs/serving.md): `grouprank
# train` on the synthetic world at each size in SIZES (default "100k 1m":
# 100k groups x 20k products and 1M groups x 100k products, 30 days, seed 1),
# by the binary built from this tree and by one built from the reference
# commit REF (default 8dbd81c, before the history let its rows go and the
# exposures were read by column), one after the other on this machine: wall
# time and peak resident memory (/usr/bin/time) of each, their ratios, the
# time of each stage (from the log), and whether the two artefacts are the
# same bytes (every file but the manifest, which names its version and
# creation time; a JSON file that differs is reported with the largest
# relative difference of its numbers: since 6cb1bc3 the orders model's
# Poisson fit takes back an overshooting Newton step, which moves its weights
# in the last digits; 8dbd81c encoded catalog.gob and stats.gob in a random
# order, so against it those two files match about every other run, content
# equal).
# About 45 minutes with 1m (training twice at 1M is most of
# it; the 1M world takes 4 minutes to generate once).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-100k 1m}
REF=${REF:-8dbd81c}
OUT=bench/out/train-size
mkdir -p "$OUT" docs/results
go build -o "$OUT/grouprank" ./cmd/grouprank
ref_src=$(mktemp -d)
trap 'git worktree remove --force "$ref_src" >/dev/null 2>&1 || true' EXIT
git worktree add --detach "$ref_src" "$REF" >/dev/null 2>&1
(cd "$ref_src" && go build -o "$OLDPWD/$OUT/grouprank-ref" ./cmd/grouprank)

# stages LOG: the seconds each stage took, from the log's first line (written
# once the history is loaded and attributed) to each stage's last line.
stages() {
  python3 - "$1" <<'EOF'
import json, sys
from datetime import datetime
t0, last = None, {}
names = {"shown lists read": "shown lists", "examples": "base at T1 and examples",
         "serving factors": "conversion fit, off-policy, serving base", "trained": "written"}
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    t = datetime.fromisoformat(d["time"][:26].rstrip("Z"))
    if t0 is None:
        t0 = t
    if d["msg"] in names:
        last[names[d["msg"]]] = t
prev = t0
out = []
for n in names.values():
    if n in last:
        out.append("%s %.0f s" % (n, (last[n] - prev).total_seconds()))
        prev = last[n]
print("; ".join(out))
EOF
}

# numdiff A B: how two JSON files of the same shape differ: the largest
# relative difference of their numbers, or where their shapes part.
numdiff() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
worst, shape = 0.0, []
def walk(x, y, path):
    global worst
    if isinstance(x, dict) and isinstance(y, dict) and x.keys() == y.keys():
        for k in x:
            walk(x[k], y[k], path + "/" + k)
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for u, v in zip(x, y):
            walk(u, v, path)
    elif type(x) in (int, float) and type(y) in (int, float):
        if x != y:
            worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
    elif x != y:
        shape.append(path or "/")
walk(a, b, "")
print("differs at %s" % shape[0] if shape else "numbers within %.1e relative" % worst)
EOF
}

rows=""
for size in $SIZES; do
  case $size in
    100k) args=(--groups 100000 --products 20000 --days 30) ;;
    1m) args=(--groups 1000000 --products 100000 --days 30) ;;
    *) echo "unknown size $size (100k or 1m)" >&2; exit 2 ;;
  esac
  world=bench/out/world-$size-30d
  if [ ! -f "$world/groups.parquet" ]; then
    "$OUT/grouprank" gen "${args[@]}" --seed 1 --out "$world" --log-format json >/dev/null 2>&1
  fi
  for bin in grouprank-ref grouprank; do
    rm -rf "$OUT/models-$size-$bin"
    /usr/bin/time -f "%e %M" -o "$OUT/$size-$bin.time" "$OUT/$bin" train --world "$world" --out "$OUT/models-$size-$bin" \
      --version v --seed 1 --log-format json >"$OUT/$size-$bin.out" 2>"$OUT/$size-$bin.log"
  done
  read -r ref_s ref_kib <"$OUT/$size-grouprank-ref.time"
  read -r new_s new_kib <"$OUT/$size-grouprank.time"
  same=""
  for f in "$OUT/models-$size-grouprank-ref/v"/*; do
    name=$(basename "$f")
    [ "$name" = manifest.json ] && continue
    cmp -s "$f" "$OUT/models-$size-grouprank/v/$name" && continue
    case $name in
      *.json) same+="${same:+; }$name: $(numdiff "$f" "$OUT/models-$size-grouprank/v/$name")" ;;
      *) same+="${same:+; }$name differs" ;;
    esac
  done
  same=${same:-identical}
  rows+="| $size | $REF | ${ref_s} s | $((ref_kib / 1024)) MiB | $(stages "$OUT/$size-grouprank-ref.log") | |"$'\n'
  rows+="| $size | this tree | ${new_s} s ($(awk -v a="$new_s" -v b="$ref_s" 'BEGIN { printf "%.2f", a / b }')) | $((new_kib / 1024)) MiB ($(awk -v a="$new_kib" -v b="$ref_kib" 'BEGIN { printf "%.2f", a / b }')) | $(stages "$OUT/$size-grouprank.log") | $same |"$'\n'
done
{
  echo "<!-- generated by bench/train-size.sh (SIZES=\"$SIZES\" REF=$REF); do not edit -->"
  echo
  echo "\`grouprank train --seed 1\` on the synthetic worlds (\`gen --days 30 --seed 1\`; 100k: 100,000 groups x 20,000 products, 1m: 1,000,000 x 100,000), by this tree's binary and by commit $REF's, one after the other on this machine ($(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)); wall time and peak resident memory from \`/usr/bin/time\`, in brackets the ratio to $REF's in the same run; stages from the log, after the history is loaded and attributed; artefacts compared file by file (the manifest aside: it names the version and the time)."
  echo
  echo "| world | binary | wall | peak resident | stages | artefact |"
  echo "|---|---|---:|---:|---|---|"
  printf '%s' "$rows"
} >docs/results/train-size.md
cat docs/results/train-size.md
