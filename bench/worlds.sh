# Sourced by the bench scripts: builds the binary and the shared worlds
# (three seeds and one altered world, 100k groups x 20k products x 30 days)
# under bench/out, generating only those not there yet.
mkdir -p bench/out
go build -o bench/out/grouprank ./cmd/grouprank
gen() { bench/out/grouprank gen --groups 100000 --products 20000 --days 30 "$@" --log-format json >/dev/null 2>&1; }
for s in 1 2 3; do
  [ -f bench/out/world-s$s/world.json ] || gen --seed $s --out bench/out/world-s$s
done
[ -f bench/out/world-alt/world.json ] || gen --seed 1 --taste-concentration 1.6 --price-sensitivity 0.5 --out bench/out/world-alt
