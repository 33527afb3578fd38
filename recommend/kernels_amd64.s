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

// Dot products and weighted sums in the order of vek's AVX2 kernels
// (MatMulVec_AVX2_F32, MatMul_AVX2_F32), each instruction with the same
// operands in the same places, so the bits are theirs, NaN payloads
// included (an instruction given two NaNs returns its first source's).

// ZERO4 clears the four accumulators Y0..Y3.
#define ZERO4 \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3

// FMA4 adds 32 floats of a row at (SI)+off times v's in a..d to Y0..Y3.
#define FMA4(off, a, b, c, d) \
	VFMADD231PS off+0(SI), a, Y0; \
	VFMADD231PS off+32(SI), b, Y1; \
	VFMADD231PS off+64(SI), c, Y2; \
	VFMADD231PS off+96(SI), d, Y3

// ADD4 leaves (((acc0 + acc1) + acc2) + acc3) in dst.
#define ADD4(dst) \
	VADDPS Y0, Y1, Y0; \
	VADDPS Y0, Y2, Y0; \
	VADDPS Y0, Y3, dst

// ROWACC64 sums one row at (SI)+off (64 floats, v in Y8..Y15) into the
// accumulators and leaves their sum in dst; ROWACC32, rows of 32 (v in
// Y8..Y11).
#define ROWACC64(off, dst) ZERO4; FMA4(off, Y8, Y9, Y10, Y11); FMA4(off+128, Y12, Y13, Y14, Y15); ADD4(dst)
#define ROWACC32(off, dst) ZERO4; FMA4(off, Y8, Y9, Y10, Y11); ADD4(dst)

// LANESUM1 ends one row's sum s (in Y0) as vek does: t = s.lo + s.hi,
// u = (t0 + t2, t1 + t3), u0 + u1, stored at (DI).
#define LANESUM1 \
	VEXTRACTF128 $0x01, Y0, X4; \
	VADDPS       X4, X0, X0; \
	VPERMILPD    $0x01, X0, X4; \
	VADDPS       X4, X0, X0; \
	VMOVSHDUP    X0, X4; \
	VADDSS       X4, X0, X0; \
	VMOVSS       X0, (DI)

// LANESUM4 ends four rows' sums s0..s3 (in Y4..Y7) with the same additions,
// operands in the same places, four at a time, and stores the four
// results at (DI): the row pairs (0, 2) and (1, 3) share registers.
#define LANESUM4 \
	VPERM2F128 $0x20, Y6, Y4, Y0; \
	VPERM2F128 $0x31, Y6, Y4, Y1; \
	VADDPS     Y1, Y0, Y0; \
	VPERM2F128 $0x20, Y7, Y5, Y1; \
	VPERM2F128 $0x31, Y7, Y5, Y2; \
	VADDPS     Y2, Y1, Y1; \
	VSHUFPS    $0x44, Y1, Y0, Y2; \
	VSHUFPS    $0xEE, Y1, Y0, Y3; \
	VADDPS     Y3, Y2, Y2; \
	VSHUFPS    $0x88, Y2, Y2, Y0; \
	VSHUFPS    $0xDD, Y2, Y2, Y1; \
	VADDPS     Y1, Y0, Y0; \
	VEXTRACTF128 $0x01, Y0, X1; \
	VUNPCKLPD  X1, X0, X0; \
	VMOVUPS    X0, (DI)

// func dots64AVX2(dst *float32, rows *float32, v *float32, n int)
// dst[i] = the dot product of row i (64 floats) with v, for i < n, summed
// as vek's MatMulVec_AVX2_F32 sums it: accumulator j takes the fused
// multiply-adds of elements 8j..8j+7 and then 32+8j..32+8j+7, from zero.
// v stays in Y8..Y15; rows go four at a time, their last sums together.
TEXT ·dots64AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ rows+8(FP), SI
	MOVQ v+16(FP), DX
	MOVQ n+24(FP), CX
	VMOVUPS 0(DX), Y8
	VMOVUPS 32(DX), Y9
	VMOVUPS 64(DX), Y10
	VMOVUPS 96(DX), Y11
	VMOVUPS 128(DX), Y12
	VMOVUPS 160(DX), Y13
	VMOVUPS 192(DX), Y14
	VMOVUPS 224(DX), Y15

four64:
	CMPQ CX, $4
	JL   row64
	ROWACC64(0, Y4)
	ROWACC64(256, Y5)
	ROWACC64(512, Y6)
	ROWACC64(768, Y7)
	LANESUM4
	ADDQ $16, DI
	ADDQ $1024, SI
	SUBQ $4, CX
	JMP  four64

row64:
	TESTQ CX, CX
	JZ    done64
	ROWACC64(0, Y0)
	LANESUM1
	ADDQ $4, DI
	ADDQ $256, SI
	DECQ CX
	JMP  row64

done64:
	VZEROUPPER
	RET

// func dots32AVX2(dst *float32, rows *float32, v *float32, n int)
// dots64AVX2 for rows of 32: one fused multiply-add per accumulator.
TEXT ·dots32AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ rows+8(FP), SI
	MOVQ v+16(FP), DX
	MOVQ n+24(FP), CX
	VMOVUPS 0(DX), Y8
	VMOVUPS 32(DX), Y9
	VMOVUPS 64(DX), Y10
	VMOVUPS 96(DX), Y11

four32:
	CMPQ CX, $4
	JL   row32
	ROWACC32(0, Y4)
	ROWACC32(128, Y5)
	ROWACC32(256, Y6)
	ROWACC32(384, Y7)
	LANESUM4
	ADDQ $16, DI
	ADDQ $512, SI
	SUBQ $4, CX
	JMP  four32

row32:
	TESTQ CX, CX
	JZ    done32
	ROWACC32(0, Y0)
	LANESUM1
	ADDQ $4, DI
	ADDQ $128, SI
	DECQ CX
	JMP  row32

done32:
	VZEROUPPER
	RET

// WSTEP adds t[r] (broadcast in Y8) times the 8 floats at (SI)+off to the
// accumulator acc as vek's kernel does: the row's floats are the first
// source and the running sum the third (vfmadd213ps), through Y9.
#define WSTEP(off, acc) \
	VMOVUPS     off(SI), Y9; \
	VFMADD213PS acc, Y8, Y9; \
	VMOVAPS     Y9, acc

// func wsum64AVX2(dst *float32, t *float32, rows *float32, n int)
// dst = the sum over r < n of t[r] times row r (64 floats), summed as vek's
// MatMul_AVX2_F32 sums a 1 x n by n x 64 product: element by element, one
// fused multiply-add per row in order, from zero. The sum stays in Y0..Y7.
TEXT ·wsum64AVX2(SB), NOSPLIT, $0-32
	MOVQ   dst+0(FP), DI
	MOVQ   t+8(FP), DX
	MOVQ   rows+16(FP), SI
	MOVQ   n+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

wrow64:
	TESTQ CX, CX
	JZ    wdone64
	VBROADCASTSS (DX), Y8
	WSTEP(0, Y0)
	WSTEP(32, Y1)
	WSTEP(64, Y2)
	WSTEP(96, Y3)
	WSTEP(128, Y4)
	WSTEP(160, Y5)
	WSTEP(192, Y6)
	WSTEP(224, Y7)
	ADDQ $4, DX
	ADDQ $256, SI
	DECQ CX
	JMP  wrow64

wdone64:
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	VZEROUPPER
	RET

// func wsum32AVX2(dst *float32, t *float32, rows *float32, n int)
// wsum64AVX2 for rows of 32.
TEXT ·wsum32AVX2(SB), NOSPLIT, $0-32
	MOVQ   dst+0(FP), DI
	MOVQ   t+8(FP), DX
	MOVQ   rows+16(FP), SI
	MOVQ   n+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

wrow32:
	TESTQ CX, CX
	JZ    wdone32
	VBROADCASTSS (DX), Y8
	WSTEP(0, Y0)
	WSTEP(32, Y1)
	WSTEP(64, Y2)
	WSTEP(96, Y3)
	ADDQ $4, DX
	ADDQ $128, SI
	DECQ CX
	JMP  wrow32

wdone32:
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VZEROUPPER
	RET

// func skipBelowAVX2(d *float32, n int, t float32) int
// The first i < n (a multiple of 8) with !(d[i] < t), NaN included (the
// comparison is t not-greater-than d[i], true when unordered), or n: 32 at
// a time, then the block's 8 that hold it.
TEXT ·skipBelowAVX2(SB), NOSPLIT, $0-32
	MOVQ         d+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS t+16(FP), Y8
	XORQ         AX, AX

by32:
	LEAQ     32(AX), DX
	CMPQ     DX, CX
	JG       by8
	VCMPPS   $0x0a, 0(SI)(AX*4), Y8, Y0
	VCMPPS   $0x0a, 32(SI)(AX*4), Y8, Y1
	VCMPPS   $0x0a, 64(SI)(AX*4), Y8, Y2
	VCMPPS   $0x0a, 96(SI)(AX*4), Y8, Y3
	VORPS    Y1, Y0, Y4
	VORPS    Y3, Y2, Y5
	VORPS    Y5, Y4, Y4
	VMOVMSKPS Y4, BX
	TESTL    BX, BX
	JNZ      by8
	MOVQ     DX, AX
	JMP      by32

by8:
	CMPQ      AX, CX
	JGE       none
	VCMPPS    $0x0a, 0(SI)(AX*4), Y8, Y0
	VMOVMSKPS Y0, BX
	TESTL     BX, BX
	JNZ       found
	ADDQ      $8, AX
	JMP       by8

found:
	BSFL BX, BX
	ADDQ BX, AX
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET

none:
	MOVQ CX, AX
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET
