package store

import (
	"encoding/binary"

	"grouprank/data"
)

// Keys of a snapshot (all in one sorted stream):
//
//	b/<name>/<chunk: uint32 big-endian>   a chunk (at most blobChunk bytes) of the artefact file <name>
//	g/<group id: uint64 big-endian>       the group's record (recommend.EncodeGroup)
//	m                                     the manifest (data.ModelVersion as JSON)
//
// Keys of the live store (OpenLive; its own directory, read-write, synced writes):
//
//	ev/id/<event id>                              the event's time (uint64 big-endian): marks the id as seen
//	ev/t/<time: uint64 big-endian><event id>      the event (a binary record, record.go; JSON before
//	                                              2026-11-24, still read), in time order for export
//	ex/<time: uint64 big-endian><request id>\x00<experiment key or empty>
//	                                              one served list's exposures (a binary record, JSON before
//	                                              2026-11-24: shared fields once, then sku, rank and
//	                                              propensity per item)
//	ev/a/<seq: uint64 big-endian>                 the ev/t/ key of the event stored seq-th (arrival order; events
//	                                              stored before 2026-12-04 have none)
//	ck!                                           the newest checkpoint: generation, arrival watermark, chunks,
//	                                              bytes, SHA-256 (binary, checkpoint.go)
//	ck/<generation: uint64 big-endian><chunk: uint32 big-endian>
//	                                              a chunk of that checkpoint's state (the service's push memory)
//	ord/<order id: uint64 big-endian>             marks an order event as stored (a cancel must name one)
//	ord!                                          set once ord/ indexes every stored order
//	cat/<sku: uint64 big-endian>                  the latest catalogue update of the SKU (data.Product as JSON)
//	doc/<kind>/<key>                              a small JSON document: kind "experiment" (an A/B test,
//	                                              experiment.Experiment) or "layer" (experiment.Layer)
//
// Files on disk under a root:
//
//	<root>/snapshots/<version>/          a published snapshot (badger directory)
//	<root>/snapshots/.<version>.partial  a publish in progress or killed (removed by the next publish)
//	<root>/CURRENT                       a copy of HISTORY's last line for people and tools, written after it
//	<root>/HISTORY                       promoted versions, one per line, newest last: the last is the current
//	                                     version (a promote appends, a rollback pops; replaced atomically, the one
//	                                     file both commit by)
//	<root>/LOCK                          flock held by whoever publishes, promotes or rolls back
const (
	blobPrefix  = "b/"
	groupPrefix = "g/"
	manifestKey = "m"
	blobChunk   = 1 << 20

	eventIDPrefix      = "ev/id/"
	eventTimePrefix    = "ev/t/"
	eventArrivalPrefix = "ev/a/"
	eventSeqKey        = "ev/seq"
	checkpointKey      = "ck!"
	checkpointPrefix   = "ck/"
	exposurePrefix     = "ex/"
	productPrefix      = "cat/"
	orderPrefix        = "ord/"
	orderIndexKey      = "ord!"
	docPrefix          = "doc/"
)

func blobKey(name string, chunk uint32) []byte {
	k := append([]byte(blobPrefix+name+"/"), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(k[len(k)-4:], chunk)
	return k
}

func groupKey(id data.GroupID) []byte {
	k := append([]byte(groupPrefix), 0, 0, 0, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint64(k[len(groupPrefix):], uint64(id))
	return k
}

func orderKey(id data.OrderID) []byte {
	return binary.BigEndian.AppendUint64([]byte(orderPrefix), uint64(id))
}
