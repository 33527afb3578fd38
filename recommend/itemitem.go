package recommend

import (
	"fmt"
	"slices"
)

// ItemItem is a sparse items x items matrix, row by row: row j lists the
// items whose score past item j adds to (sorted by item) and by how much.
// Entries not stored are 0.
type ItemItem struct {
	N   int     // rows: the items the matrix covers (items added to the catalogue later have none)
	Ptr []int64 // N+1: row j is Col[Ptr[j]:Ptr[j+1]], W[...]
	Col []int32
	W   []float32
}

// NewItemItem builds the matrix from n rows, each its columns (sorted,
// distinct, below n) and weights.
func NewItemItem(n int, rows func(j int) ([]int32, []float32)) (*ItemItem, error) {
	m := &ItemItem{N: n, Ptr: make([]int64, n+1)}
	for j := range n {
		cols, ws := rows(j)
		if len(cols) != len(ws) {
			return nil, fmt.Errorf("item-item row %d: %d columns, %d weights", j, len(cols), len(ws))
		}
		m.Col, m.W = append(m.Col, cols...), append(m.W, ws...)
		m.Ptr[j+1] = int64(len(m.Col))
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return m, nil
}

// Row is row j's columns and weights (nothing beyond the covered items).
func (m *ItemItem) Row(j int32) ([]int32, []float32) {
	if m == nil || j < 0 || int(j) >= m.N {
		return nil, nil
	}
	a, b := m.Ptr[j], m.Ptr[j+1]
	return m.Col[a:b], m.W[a:b]
}

// At is entry (j, i).
func (m *ItemItem) At(j, i int32) float32 {
	cols, ws := m.Row(j)
	if k, ok := slices.BinarySearch(cols, i); ok {
		return ws[k]
	}
	return 0
}

// NNZ is the number of stored entries.
func (m *ItemItem) NNZ() int {
	if m == nil {
		return 0
	}
	return len(m.Col)
}

// Check reports whether the matrix is well formed (as NewItemItem builds it).
func (m *ItemItem) Check() error {
	if len(m.Ptr) != m.N+1 || m.Ptr[0] != 0 || m.Ptr[m.N] != int64(len(m.Col)) || len(m.Col) != len(m.W) {
		return fmt.Errorf("item-item matrix: %d row pointers, %d columns, %d weights for %d rows", len(m.Ptr), len(m.Col), len(m.W), m.N)
	}
	for j := range m.N {
		if m.Ptr[j+1] < m.Ptr[j] || m.Ptr[j+1] > int64(len(m.Col)) {
			return fmt.Errorf("item-item matrix: row %d runs from %d to %d of %d entries", j, m.Ptr[j], m.Ptr[j+1], len(m.Col))
		}
		cols := m.Col[m.Ptr[j]:m.Ptr[j+1]]
		for k, c := range cols {
			if c < 0 || int(c) >= m.N || (k > 0 && c <= cols[k-1]) {
				return fmt.Errorf("item-item matrix: row %d: columns must be distinct, sorted and below %d (column %d at %d)", j, m.N, c, k)
			}
		}
	}
	return nil
}
