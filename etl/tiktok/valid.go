package tiktok

import "math"

// maxNesting is encoding/json's limit on nested arrays and objects, which
// validJSON keeps so that it accepts exactly what json.Valid accepts.
const maxNesting = 10000

// validJSON reports whether b is one JSON value with optional white space
// around it, exactly as json.Valid does, in a fraction of its time:
// json.Valid's state machine made one indirect call per byte, and every
// report page (megabytes at a backfill) goes through here before its
// members are walked without further checks.
func validJSON(b []byte) bool {
	v := validator{b: b}
	return v.valid()
}

// validJSONTape is validJSON that also returns, for a valid b, the tape of
// its objects and arrays: the validator meets every one of them anyway, and
// the walks that follow it need not scan them again to step over them.
// A body too large for the tape's int32 offsets gets none: it is valid or
// not all the same, and walked by scanning.
func validJSONTape(b []byte) (*tape, bool) {
	if cap(b) > math.MaxInt32 {
		return nil, validJSON(b)
	}
	// Sized for a container every 64 bytes, more than report pages have:
	// growing the tape to its size allocated it four times over.
	v := validator{b: b, t: &tape{spans: make([]span, 0, len(b)/64)}}
	if !v.valid() {
		return nil, false
	}
	return v.t, true
}

type validator struct {
	b []byte
	i int
	t *tape // nil unless the extents of objects and arrays are wanted
}

func (v *validator) valid() bool {
	v.space()
	if !v.value(1) {
		return false
	}
	v.space()
	return v.i == len(v.b)
}

// tape records the extent of every object and array of a validated body, so
// that stepping over one (a report page's data, its list, each row's
// dimensions and metrics) is a lookup instead of a scan of its bytes: a page
// was otherwise scanned three times more than the validator scans it.
//
// A container is known by the distance from its opening bracket to the end
// of the body's capacity, cap(b)-i, which is the same in every slice of the
// body that holds the bracket: the walks, which only ever see slices of the
// body (its data, the list, a row), need no offset to find their containers.
type tape struct {
	spans []span // in the order the containers open: rest decreasing
}

type span struct {
	rest int32 // cap(body) - the container's start
	size int32 // bytes from its opening bracket to just after its closing one
}

// end returns the end of the object or array that opens at b[i], b being
// the tape's body or a slice of it, and whether the tape knows it.
func (t *tape) end(b []byte, i int) (int, bool) {
	if t == nil {
		return 0, false
	}
	rest := int32(cap(b) - i)
	lo, hi := 0, len(t.spans)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if t.spans[m].rest > rest {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(t.spans) || t.spans[lo].rest != rest || i+int(t.spans[lo].size) > len(b) {
		return 0, false
	}
	return i + int(t.spans[lo].size), true
}

func (v *validator) space() {
	for v.i < len(v.b) {
		switch v.b[v.i] {
		case ' ', '\t', '\n', '\r':
			v.i++
		default:
			return
		}
	}
}

// next returns the byte at the read position, or 0 at the end (never valid
// where next is asked).
func (v *validator) next() byte {
	if v.i < len(v.b) {
		return v.b[v.i]
	}
	return 0
}

func (v *validator) value(depth int) bool {
	switch c := v.next(); {
	case c == '"':
		return v.str()
	case c == '{':
		return depth <= maxNesting && v.object(depth)
	case c == '[':
		return depth <= maxNesting && v.array(depth)
	case c == '-' || c >= '0' && c <= '9':
		return v.number()
	case c == 't':
		return v.literal("true")
	case c == 'f':
		return v.literal("false")
	case c == 'n':
		return v.literal("null")
	}
	return false
}

func (v *validator) object(depth int) bool {
	return v.members('}', func() bool {
		if v.next() != '"' || !v.str() {
			return false
		}
		v.space()
		if v.next() != ':' {
			return false
		}
		v.i++
		v.space()
		return v.value(depth + 1)
	})
}

func (v *validator) array(depth int) bool {
	return v.members(']', func() bool { return v.value(depth + 1) })
}

// members reads the comma-separated members of the object or array whose
// opening bracket is at the read position, up to the closing one.
func (v *validator) members(closing byte, member func() bool) bool {
	start, k := v.i, -1
	if v.t != nil {
		// Noted when it opens, so that the tape is in document order; its
		// size comes when it closes.
		k = len(v.t.spans)
		v.t.spans = append(v.t.spans, span{rest: int32(cap(v.b) - start)})
	}
	v.i++
	v.space()
	if v.next() == closing {
		v.i++
		if k >= 0 {
			v.t.spans[k].size = int32(v.i - start)
		}
		return true
	}
	for {
		if !member() {
			return false
		}
		v.space()
		switch v.next() {
		case ',':
			v.i++
			v.space()
		case closing:
			v.i++
			if k >= 0 {
				v.t.spans[k].size = int32(v.i - start)
			}
			return true
		default:
			return false
		}
	}
}

// str reads a string: no control characters, only JSON's escapes. Other
// bytes, invalid UTF-8 included, are accepted, as json.Valid accepts them.
func (v *validator) str() bool {
	v.i++
	for v.i < len(v.b) {
		c := v.b[v.i]
		v.i++
		switch {
		case c == '"':
			return true
		case c < 0x20:
			return false
		case c == '\\':
			switch v.next() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				v.i++
			case 'u':
				v.i++
				for range 4 {
					if !isHexDigit(v.next()) {
						return false
					}
					v.i++
				}
			default:
				return false
			}
		}
	}
	return false
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (v *validator) number() bool {
	if v.next() == '-' {
		v.i++
	}
	switch c := v.next(); {
	case c == '0':
		v.i++
	case c >= '1' && c <= '9':
		v.digits()
	default:
		return false
	}
	if v.next() == '.' {
		v.i++
		if !v.digits() {
			return false
		}
	}
	if c := v.next(); c == 'e' || c == 'E' {
		v.i++
		if c := v.next(); c == '+' || c == '-' {
			v.i++
		}
		if !v.digits() {
			return false
		}
	}
	return true
}

// digits reads one or more decimal digits.
func (v *validator) digits() bool {
	start := v.i
	for v.i < len(v.b) && v.b[v.i] >= '0' && v.b[v.i] <= '9' {
		v.i++
	}
	return v.i > start
}

func (v *validator) literal(word string) bool {
	if len(v.b)-v.i < len(word) || string(v.b[v.i:v.i+len(word)]) != word {
		return false
	}
	v.i += len(word)
	return true
}
