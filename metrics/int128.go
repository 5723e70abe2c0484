package metrics

import (
	"math/big"
	"math/bits"
)

// Each base is summed exactly as a 128-bit integer split in two: a hot low
// word written on every row and a cold high word written only when the low
// word overflows. Keeping the high words apart keeps the per-row working set
// of an Aggregate to the 15 low words, about as small as a binary floating-point
// accumulator, which matters when many groups compete for cache.
//
//	money:  sum = hi·2^64 + int64(lo)   (two's complement low word)
//	counts: sum = hi·2^64 + lo          (unsigned low word)
//
// Both forms are canonical, so equal sums have equal words and Aggregates
// compare with ==. Every value added is below 2^64 in magnitude, so
// |hi| ≤ rows, which Merge keeps below 2^63 (ErrOverflow).

// addSigned adds x to a money sum.
func addSigned(lo *uint64, hi *int64, x int64) {
	s := int64(*lo)
	t := s + x
	*lo = uint64(t)
	if (s^t)&(x^t) < 0 { // signed overflow: the true sum is t ± 2^64
		*hi += 1 | x>>63 // +1 for x > 0, -1 for x < 0
	}
}

// addUnsigned adds x to a count sum.
func addUnsigned(lo *uint64, hi *int64, x uint64) {
	t, c := bits.Add64(*lo, x, 0)
	*lo = t
	if c != 0 {
		*hi++
	}
}

// bigSum returns hi·2^64 + lo, with lo read as signed for money.
func bigSum(lo uint64, hi int64, signed bool) *big.Int {
	z := new(big.Int).SetInt64(hi)
	z.Lsh(z, 64)
	if signed {
		return z.Add(z, new(big.Int).SetInt64(int64(lo)))
	}
	return z.Add(z, new(big.Int).SetUint64(lo))
}
