#include "textflag.h"

// func addWeightedAVX2(r *float32, k int, v *float32, idx *int32, w *float32, n int)
// For each n in order: r[a] = r[a] + (w[n] * v[j*k+a]), j = idx[n] (n when
// idx is nil), the product rounded before the sum. k is a multiple of 8.
TEXT ·addWeightedAVX2(SB), NOSPLIT, $0-48
	MOVQ r+0(FP), DI
	MOVQ k+8(FP), CX
	MOVQ v+16(FP), SI
	MOVQ idx+24(FP), R8
	MOVQ w+32(FP), R9
	MOVQ n+40(FP), R10
	XORQ R11, R11

obs:
	CMPQ R11, R10
	JGE  obsdone
	VBROADCASTSS (R9)(R11*4), Y0
	MOVQ R11, AX
	TESTQ R8, R8
	JZ   rowat
	MOVLQSX (R8)(R11*4), AX

rowat:
	IMULQ CX, AX
	LEAQ (SI)(AX*4), BX
	XORQ DX, DX

chunk:
	VMULPS  (BX)(DX*4), Y0, Y1
	VADDPS  (DI)(DX*4), Y1, Y1
	VMOVUPS Y1, (DI)(DX*4)
	ADDQ $8, DX
	CMPQ DX, CX
	JL   chunk
	INCQ R11
	JMP  obs

obsdone:
	VZEROUPPER
	RET

// func gramRowAVX2(tmp *float64, v *float32, k, lo, hi int)
// For a in [lo, hi) with v[a] != 0 (NaN included) and b in [a, k):
// tmp[a*k+b] = tmp[a*k+b] + (float64(v[a]) * float64(v[b])), the product
// rounded before the sum.
TEXT ·gramRowAVX2(SB), NOSPLIT, $0-40
	MOVQ tmp+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ k+16(FP), CX
	MOVQ lo+24(FP), R8
	MOVQ hi+32(FP), R9
	VXORPD X7, X7, X7

rows:
	CMPQ R8, R9
	JGE  rowsdone
	VCVTSS2SD (SI)(R8*4), X0, X0
	VUCOMISD X7, X0
	JNE  nonzero
	JP   nonzero
	JMP  next

nonzero:
	VBROADCASTSD X0, Y0
	// BX: &tmp[a*k], DX: b, from a to k
	MOVQ R8, AX
	IMULQ CX, AX
	LEAQ (DI)(AX*8), BX
	MOVQ R8, DX
	MOVQ CX, R10
	SUBQ $3, R10

quad:
	CMPQ DX, R10
	JGE  single
	VCVTPS2PD (SI)(DX*4), Y1
	VMULPD  Y1, Y0, Y1
	VADDPD  (BX)(DX*8), Y1, Y1
	VMOVUPD Y1, (BX)(DX*8)
	ADDQ $4, DX
	JMP  quad

single:
	CMPQ DX, CX
	JGE  next
	VCVTSS2SD (SI)(DX*4), X1, X1
	VMULSD  X1, X0, X1
	VADDSD  (BX)(DX*8), X1, X1
	VMOVSD  X1, (BX)(DX*8)
	INCQ DX
	JMP  single

next:
	INCQ R8
	JMP  rows

rowsdone:
	VZEROUPPER
	RET

// func gatherAVX2(dst *float32, v *float32, k int, idx *int32, n int)
// Copies row idx[i] of v (k floats, k a multiple of 8) to dst[i*k:], for
// i in [0, n), fetching the rows 8 ahead into the cache while it copies:
// the rows are scattered, and waiting for each in turn is most of the
// copy's time.
TEXT ·gatherAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ k+16(FP), CX
	MOVQ idx+24(FP), R8
	MOVQ n+32(FP), R9
	MOVQ CX, R12
	SHLQ $2, R12          // bytes per row
	XORQ R10, R10

grow:
	CMPQ R10, R9
	JGE  gdone
	LEAQ 8(R10), AX
	CMPQ AX, R9
	JGE  gcopy
	MOVLQSX (R8)(AX*4), AX
	IMULQ R12, AX
	LEAQ (SI)(AX*1), R11
	XORQ DX, DX

gfetch:
	PREFETCHT0 (R11)(DX*1)
	ADDQ $64, DX
	CMPQ DX, R12
	JL   gfetch

gcopy:
	MOVLQSX (R8)(R10*4), AX
	IMULQ R12, AX
	LEAQ (SI)(AX*1), BX
	XORQ DX, DX

gchunk:
	VMOVUPS (BX)(DX*4), Y0
	VMOVUPS Y0, (DI)(DX*4)
	ADDQ $8, DX
	CMPQ DX, CX
	JL   gchunk
	LEAQ (DI)(R12*1), DI
	INCQ R10
	JMP  grow

gdone:
	VZEROUPPER
	RET
