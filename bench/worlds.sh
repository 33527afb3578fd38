# Sourced by the bench scripts: builds the binary and the shared worlds
# (three seeds and one altered world, 100k groups x 20k products x 30 days)
# under bench/out, generating only those not there yet or of another world
# version. WORLD_VERSION (default 2, the current world; 1: the first world,
# gen --world-version) picks the world's mechanics.
mkdir -p bench/out
go build -o bench/out/grouprank ./cmd/grouprank
V=${WORLD_VERSION:-2}
gen() { bench/out/grouprank gen --groups 100000 --products 20000 --days 30 --world-version "$V" "$@" --log-format json >/dev/null 2>&1; }
# have DIR: DIR holds a world of version V (a world.json without the field is version 1)
have() {
  [ -f "$1/world.json" ] || return 1
  if grep -q '"world_version"' "$1/world.json"; then grep -q "\"world_version\": $V\b" "$1/world.json"; else [ "$V" = 1 ]; fi
}
for s in 1 2 3; do
  have bench/out/world-s$s || { rm -rf bench/out/world-s$s; gen --seed $s --out bench/out/world-s$s; }
done
have bench/out/world-alt || { rm -rf bench/out/world-alt; gen --seed 1 --taste-concentration 1.6 --price-sensitivity 0.5 --out bench/out/world-alt; }
