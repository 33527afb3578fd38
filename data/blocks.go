package data

// Blocks is how many blocks the groups fall into: a group's block is a hash
// of its id (BlockOf), so it depends neither on which other groups exist nor
// on the order they are read in. Sums over groups are taken block by block,
// each block's groups in id order, and the blocks' sums added in block order:
// the same bits however the work is split (between cores, or between the
// parts of a sharded job, each a union of whole blocks: part BlockOf(id) mod
// n of n, for n up to Blocks).
const Blocks = 4096

// BlockOf is group id's block: splitmix64 of the id, modulo Blocks. As
// Blocks is a power of two, BlockOf(id) mod n is splitmix64 of the id modulo
// n for every n that divides Blocks.
func BlockOf(id GroupID) int { return int(splitmix64(uint64(id)) % Blocks) }

// PartOf is group id's part of n (1 <= n <= Blocks): BlockOf(id) mod n, so
// that each part holds whole blocks.
func PartOf(id GroupID, n int) int { return BlockOf(id) % n }

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
