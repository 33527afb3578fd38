package store

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"grouprank/data"
)

// checkpointChunk bounds a chunk of a checkpoint's state (badger values
// stay small; a transaction holds a few of them).
const checkpointChunk = 1 << 20

// PutCheckpoint stores c as the newest checkpoint: its chunks under a new
// generation first, then the header (one synced write) that makes it the
// one read; a crash before the header leaves the previous checkpoint in
// force. The previous generation's chunks are deleted afterwards.
func (l *Live) PutCheckpoint(c data.Checkpoint) error {
	old, _, err := l.checkpointHeader()
	if err != nil {
		return err
	}
	gen := old.gen + 1
	wb := l.db.NewWriteBatch()
	n := 0
	for off := 0; off < len(c.State) || (off == 0 && len(c.State) == 0); off += checkpointChunk {
		end := min(len(c.State), off+checkpointChunk)
		if err := wb.Set(checkpointChunkKey(gen, uint32(n)), c.State[off:end]); err != nil {
			wb.Cancel()
			return fmt.Errorf("store: checkpoint: %w", err)
		}
		n++
		if len(c.State) == 0 {
			break
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	sum := sha256.Sum256(c.State)
	h := checkpointHeader{gen: gen, arrival: c.Arrival, chunks: uint32(n), bytes: uint64(len(c.State)), sum: sum}
	if err := l.db.Update(func(txn *badger.Txn) error { return txn.Set([]byte(checkpointKey), h.encode()) }); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	if old.gen == 0 {
		return nil
	}
	// The previous generation's chunks go by plain deletes (DropPrefix would
	// stop the store's writes and reads while it runs).
	del := l.db.NewWriteBatch()
	for c := range old.chunks {
		if err := del.Delete(checkpointChunkKey(old.gen, c)); err != nil {
			del.Cancel()
			return fmt.Errorf("store: checkpoint: %w", err)
		}
	}
	if err := del.Flush(); err != nil {
		return fmt.Errorf("store: checkpoint: %w", err)
	}
	return nil
}

// LoadCheckpoint reads the newest checkpoint, verified against its
// header's size and SHA-256; data.ErrNotFound when there is none.
func (l *Live) LoadCheckpoint() (*data.Checkpoint, error) {
	h, ok, err := l.checkpointHeader()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("store: checkpoint: %w", data.ErrNotFound)
	}
	state := make([]byte, 0, h.bytes)
	err = l.db.View(func(txn *badger.Txn) error {
		for c := range h.chunks {
			item, err := txn.Get(checkpointChunkKey(h.gen, c))
			if err != nil {
				return fmt.Errorf("chunk %d: %w", c, err)
			}
			if err := item.Value(func(v []byte) error { state = append(state, v...); return nil }); err != nil {
				return fmt.Errorf("chunk %d: %w", c, err)
			}
		}
		return nil
	})
	if err == nil && (uint64(len(state)) != h.bytes || sha256.Sum256(state) != h.sum) {
		err = fmt.Errorf("%w: the state read (%d bytes) is not the one written (%d bytes, its checksum differs)", data.ErrInvalid, len(state), h.bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("store: checkpoint %d: %w", h.gen, err)
	}
	return &data.Checkpoint{Arrival: h.arrival, State: state}, nil
}

type checkpointHeader struct {
	gen, arrival, bytes uint64
	chunks              uint32
	sum                 [32]byte
}

func (h *checkpointHeader) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, h.gen)
	b = binary.BigEndian.AppendUint64(b, h.arrival)
	b = binary.BigEndian.AppendUint64(b, h.bytes)
	b = binary.BigEndian.AppendUint32(b, h.chunks)
	return append(b, h.sum[:]...)
}

// checkpointHeader reads the header (ok false when there is none).
func (l *Live) checkpointHeader() (h checkpointHeader, ok bool, err error) {
	err = l.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(checkpointKey))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 28+32 {
				return fmt.Errorf("%w: checkpoint header of %d bytes", data.ErrInvalid, len(v))
			}
			h = checkpointHeader{gen: binary.BigEndian.Uint64(v), arrival: binary.BigEndian.Uint64(v[8:]), bytes: binary.BigEndian.Uint64(v[16:]),
				chunks: binary.BigEndian.Uint32(v[24:])}
			copy(h.sum[:], v[28:])
			ok = true
			return nil
		})
	})
	if err != nil {
		return h, false, fmt.Errorf("store: checkpoint: %w", err)
	}
	return h, ok, nil
}

func checkpointChunkKey(gen uint64, chunk uint32) []byte {
	k := binary.BigEndian.AppendUint64([]byte(checkpointPrefix), gen)
	return binary.BigEndian.AppendUint32(k, chunk)
}
