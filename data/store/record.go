package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"grouprank/data"
)

// Events and exposure lists are stored as binary records: a format byte,
// then the fields as zig-zag varints, length-prefixed strings and, for
// propensities, the float64's 8 bytes. An experiment report rereads every
// record of its experiment, and decoding JSON took two thirds of its time.
// Records written before 2026-11-24 are JSON objects (they begin with '{')
// and still decode.
const recordBinary byte = 1

// eventRecordBuyer tags an event record with a buyer after its other fields
// (events written before buyers were carried are recordBinary, without it).
const eventRecordBuyer byte = 2

var errRecord = errors.New("truncated or malformed record")

func appendInt(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

func appendString(b []byte, s string) []byte {
	b = appendInt(b, int64(len(s)))
	return append(b, s...)
}

// recordReader reads a binary record's fields in order; the first failure
// sticks and every later read returns zero.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) int() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errRecord
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) count(max int) int {
	v := r.int()
	if v < 0 || v > int64(max) || v > int64(len(r.b)) { // every element takes at least one byte
		if r.err == nil {
			r.err = errRecord
		}
		return 0
	}
	return int(v)
}

func (r *recordReader) string() string {
	n := r.count(math.MaxInt32)
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *recordReader) float() float64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.err = errRecord
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

// done reports the first failure, or trailing bytes.
func (r *recordReader) done() error {
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d bytes after the record's last field", len(r.b))
	}
	return r.err
}

func encodeEvent(e *data.Event) []byte {
	b := make([]byte, 0, 48+len(e.ID)+len(e.RequestID))
	b = append(b, eventRecordBuyer)
	b = appendString(b, e.ID)
	b = appendInt(b, int64(e.Kind))
	b = appendInt(b, int64(e.Group))
	b = appendInt(b, int64(e.SKU))
	b = appendInt(b, int64(e.Time))
	b = appendString(b, e.RequestID)
	b = appendInt(b, int64(e.Rank))
	b = appendInt(b, int64(e.Push))
	b = appendInt(b, int64(e.Order))
	b = appendInt(b, int64(e.Quantity))
	b = appendInt(b, e.AmountCents)
	return appendInt(b, int64(e.Buyer))
}

func decodeEvent(v []byte, e *data.Event) error {
	if len(v) > 0 && v[0] == '{' {
		return json.Unmarshal(v, e)
	}
	if len(v) == 0 || (v[0] != recordBinary && v[0] != eventRecordBuyer) {
		return fmt.Errorf("unknown record format")
	}
	r := recordReader{b: v[1:]}
	*e = data.Event{ID: r.string(), Kind: data.EventKind(r.int()), Group: data.GroupID(r.int()), SKU: data.SKU(r.int()),
		Time: data.Timestamp(r.int()), RequestID: r.string(), Rank: int32(r.int()), Push: data.PushID(r.int()),
		Order: data.OrderID(r.int()), Quantity: int32(r.int()), AmountCents: r.int()}
	if v[0] == eventRecordBuyer {
		e.Buyer = data.MemberID(r.int())
	}
	return r.done()
}

func encodeExposures(l *data.ExposureList) []byte {
	b := make([]byte, 0, 64+len(l.RequestID)+len(l.ModelVersion)+len(l.Experiment)+len(l.Arm)+len(l.Unit)+14*len(l.SKU))
	b = append(b, recordBinary)
	b = appendString(b, l.RequestID)
	b = appendInt(b, int64(l.Group))
	b = appendString(b, l.ModelVersion)
	b = appendString(b, l.Experiment)
	b = appendString(b, l.Arm)
	b = appendString(b, l.Unit)
	b = appendInt(b, int64(l.Time))
	b = appendInt(b, int64(len(l.SKU)))
	for k := range l.SKU {
		b = appendInt(b, int64(l.SKU[k]))
		b = appendInt(b, int64(l.Rank[k]))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(l.Propensity[k]))
	}
	return b
}

func decodeExposures(v []byte, l *data.ExposureList) error {
	if len(v) > 0 && v[0] == '{' {
		return json.Unmarshal(v, l)
	}
	if len(v) == 0 || v[0] != recordBinary {
		return fmt.Errorf("unknown record format")
	}
	r := recordReader{b: v[1:]}
	*l = data.ExposureList{RequestID: r.string(), Group: data.GroupID(r.int()), ModelVersion: r.string(), Experiment: r.string(),
		Arm: r.string(), Unit: r.string(), Time: data.Timestamp(r.int())}
	n := r.count(len(v))
	l.SKU, l.Rank, l.Propensity = make([]data.SKU, n), make([]int32, n), make([]float64, n)
	for k := range n {
		l.SKU[k], l.Rank[k], l.Propensity[k] = data.SKU(r.int()), int32(r.int()), r.float()
	}
	return r.done()
}
