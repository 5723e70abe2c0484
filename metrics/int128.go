package metrics

import (
	"math/big"
	"math/bits"
)

// i128 is a signed 128-bit two's-complement accumulator for money in
// micro-units. Value = hi·2^64 + lo, with lo read as unsigned.
//
// Adding one int64 per row can never overflow it within 2^64 rows
// (|sum| < 2^64·2^63 = 2^127), which is why Add needs no overflow check and
// Merge only has to guard the row counter.
type i128 struct {
	lo uint64
	hi int64
}

// addInt64 adds x; the sign extension of x is x>>63 (0 or -1).
func (s *i128) addInt64(x int64) {
	lo, c := bits.Add64(s.lo, uint64(x), 0)
	s.lo = lo
	s.hi += x>>63 + int64(c)
}

func (s *i128) add(o i128) {
	lo, c := bits.Add64(s.lo, o.lo, 0)
	s.lo = lo
	s.hi += o.hi + int64(c)
}

func (s i128) big() *big.Int {
	z := new(big.Int).SetInt64(s.hi)
	z.Lsh(z, 64)
	return z.Add(z, new(big.Int).SetUint64(s.lo))
}

// u128 is an unsigned 128-bit accumulator for counts, for the same reason as
// i128: a uint64 sum of uint64 counts can overflow, a u128 cannot within 2^64
// rows.
type u128 struct {
	lo, hi uint64
}

func (s *u128) addUint64(x uint64) {
	lo, c := bits.Add64(s.lo, x, 0)
	s.lo = lo
	s.hi += c
}

func (s *u128) add(o u128) {
	lo, c := bits.Add64(s.lo, o.lo, 0)
	s.lo = lo
	s.hi += o.hi + c
}

func (s u128) big() *big.Int {
	z := new(big.Int).SetUint64(s.hi)
	z.Lsh(z, 64)
	return z.Add(z, new(big.Int).SetUint64(s.lo))
}
