//go:build !amd64

package recommend

import "github.com/viterin/vek/vek32"

func addWeighted(r, v []float32, idx []int32, w []float32) { addWeightedGo(r, v, idx, w) }

func gramRow(tmp []float64, v []float32, lo, hi int) { gramRowGo(tmp, v, lo, hi) }

func gatherRows(dst, v []float32, k int, idx []int32) { gatherRowsGo(dst, v, k, idx) }

func dotRows(dst, rows, v []float32) { vek32.MatMul_Into(dst[:0], rows, v, len(v)) }

func weightedSum(dst, t, rows []float32) { vek32.MatMul_Into(dst[:0], t, rows, len(t)) }

func skipBelow(d []float32, t float32) int { return skipBelowGo(d, t) }
