package ga4

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// The BigQuery export row decoder: one pass over the line, no reflection,
// strings allocated only for the fields an Event keeps. It accepts and
// refuses what encoding/json.Unmarshal into the export's struct shape does
// (FuzzDecoderAgreesWithEncodingJSON checks it against that decoder): any
// valid JSON, object keys matched case-insensitively, unknown keys skipped,
// null leaving a field unset, INT64 and FLOAT64 as strings or numbers, and
// the first wrong-type field reported with its path once the whole line is
// known to be valid JSON.

// scalar is a BigQuery JSON scalar: a string, a number or null. It points
// into the line; text makes the Go string, only for the fields kept.
type scalar struct {
	raw []byte // a string's body (escapes undone by text) or a number
	esc bool   // raw holds escapes
	set bool   // not null
}

func (v scalar) text() string {
	if v.esc {
		return unescape(v.raw)
	}
	return string(v.raw)
}

// is reports whether the scalar is the string s (compared without
// allocating when it has no escapes).
func (v scalar) is(s string) bool {
	if v.esc {
		return unescape(v.raw) == s
	}
	return string(v.raw) == s
}

// param is one event_params entry: its key and value.string_value,
// int_value, double_value and float_value.
type param struct {
	key scalar
	v   [4]scalar
}

// row is the decoded export row, before validation.
type row struct {
	date, timestamp, name, userID, userPseudoID scalar
	params                                      []param
	traffic                                     *[3]scalar // name, medium, source
	collected                                   *[6]scalar // manual_source, _medium, _campaign_name, _campaign_id, _content, _term
	lastClick                                   *[4]scalar // campaign_id, campaign_name, source, medium (manual_campaign)
	ecommerce                                   *[3]scalar // purchase_revenue, refund_value, transaction_id
}

// typeError is a field of the wrong JSON type, as encoding/json reports it.
type typeError struct {
	path, got, want string
}

func (e *typeError) Error() string {
	return fmt.Sprintf("json: cannot unmarshal %s into Go struct field %s of type %s", e.got, e.path, e.want)
}

// decoder walks one line.
type decoder struct {
	b    []byte
	i    int
	path []string
	// first holds the first wrong-type field; syntax errors win over it.
	first *typeError
	// custom holds an error of a scalar field (an object where a string or
	// number belongs), reported as encoding/json reports an Unmarshaler's.
	custom error
	depth  int
}

type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

func (d *decoder) fail(format string, args ...any) error {
	return &syntaxError{fmt.Sprintf(format, args...)}
}

func (d *decoder) ws() {
	if d.i < len(d.b) && d.b[d.i] > ' ' {
		return // the common case: no white space between tokens
	}
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (d *decoder) peek() byte {
	d.ws()
	if d.i >= len(d.b) {
		return 0
	}
	return d.b[d.i]
}

func (d *decoder) unexpected(ctx string) error {
	if d.i >= len(d.b) {
		return d.fail("unexpected end of JSON input")
	}
	return d.fail("invalid character %s %s", quoteChar(d.b[d.i]), ctx)
}

func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c < 0x20 || c >= 0x7f:
		return strconv.Quote(string(rune(c)))
	}
	return "'" + string(c) + "'"
}

// kind names the JSON value starting at c, as encoding/json's type errors do.
func kind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	}
	return "number"
}

func (d *decoder) wrongType(c byte, want string) error {
	if d.first == nil {
		p := ""
		for i, s := range d.path {
			if i > 0 {
				p += "."
			}
			p += s
		}
		d.first = &typeError{path: strings.Clone(p), got: kind(c), want: want}
	}
	return d.skip()
}

// str reads a string value and returns its body as it is in the line, and
// whether it holds escapes.
// plainRun returns the index of the first byte from b[i] on that a string
// literal must look at: a quote, a backslash or a control character (or
// len(b)). It tests eight bytes at a time: string bodies are most of a GA4
// line, and a byte-by-byte loop over them was the decoder's largest cost.
func plainRun(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		q, bs := w^(ones*'"'), w^(ones*'\\')
		// A byte of q or bs is zero, or a byte of w is below 0x20: exact for
		// "any byte", which is all the loop needs to stop.
		if ((q-ones)&^q|(bs-ones)&^bs|(w-ones*0x20)&^w)&highs != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

func (d *decoder) str() ([]byte, bool, error) {
	d.i++ // the opening quote
	start := d.i
	esc := false
	for d.i < len(d.b) {
		d.i = plainRun(d.b, d.i)
		if d.i >= len(d.b) {
			break
		}
		c := d.b[d.i]
		switch {
		case c == '"':
			d.i++
			return d.b[start : d.i-1], esc, nil
		case c == '\\':
			esc = true
			d.i++
			if d.i >= len(d.b) {
				return nil, false, d.fail("unexpected end of JSON input")
			}
			switch d.b[d.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i++
			case 'u':
				d.i++
				for k := 0; k < 4; k++ {
					if d.i >= len(d.b) {
						return nil, false, d.fail("unexpected end of JSON input")
					}
					if !isHex(d.b[d.i]) {
						return nil, false, d.unexpected("in \\u hexadecimal character escape")
					}
					d.i++
				}
			default:
				return nil, false, d.unexpected("in string escape code")
			}
		case c < 0x20:
			return nil, false, d.unexpected("in string literal")
		default:
			d.i++
		}
	}
	return nil, false, d.fail("unexpected end of JSON input")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// unescape decodes a string body known to be valid, as encoding/json does:
// an unpaired surrogate becomes U+FFFD.
func unescape(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch b[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := rune(hex4(b[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(b) && b[i] == '\\' && b[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, rune(hex4(b[i+2:i+6]))); dec != unicode.ReplacementChar {
						out = utf8.AppendRune(out, dec)
						i += 6
						continue
					}
				}
				r = unicode.ReplacementChar
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // '"', '\\', '/'
			out = append(out, b[i+1])
		}
		i += 2
	}
	return string(out)
}

func hex4(b []byte) int {
	n := 0
	for _, c := range b {
		n <<= 4
		switch {
		case c >= '0' && c <= '9':
			n |= int(c - '0')
		case c >= 'a' && c <= 'f':
			n |= int(c-'a') + 10
		default:
			n |= int(c-'A') + 10
		}
	}
	return n
}

// number validates a JSON number and returns its text.
func (d *decoder) number() ([]byte, error) {
	start := d.i
	if d.b[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.i >= len(d.b) {
		return nil, d.fail("unexpected end of JSON input")
	}
	switch c := d.b[d.i]; {
	case c == '0':
		d.i++
	case c >= '1' && c <= '9':
		digits()
	default:
		return nil, d.unexpected("in numeric literal")
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return nil, d.unexpected("after decimal point in numeric literal")
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return nil, d.unexpected("in exponent of numeric literal")
		}
	}
	return d.b[start:d.i], nil
}

func (d *decoder) literal(word string) error {
	for k := 0; k < len(word); k++ {
		if d.i >= len(d.b) {
			return d.fail("unexpected end of JSON input")
		}
		if d.b[d.i] != word[k] {
			return d.unexpected("in literal " + word + " (expecting " + quoteChar(word[k]) + ")")
		}
		d.i++
	}
	return nil
}

// skip validates and passes over any value.
func (d *decoder) skip() error {
	switch c := d.peek(); c {
	case '{':
		return d.object(func(string) error { return d.skip() })
	case '[':
		return d.array(func() error { return d.skip() })
	case '"':
		_, _, err := d.str()
		return err
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			_, err := d.number()
			return err
		}
		return d.unexpected("looking for beginning of value")
	}
}

// object walks an object's members, calling field with each key (lowercased
// when it has upper-case letters, so fields match case-insensitively).
func (d *decoder) object(field func(key string) error) error {
	if d.depth++; d.depth > 10000 {
		return d.fail("exceeded max depth")
	}
	defer func() { d.depth-- }()
	d.i++ // '{'
	if d.peek() == '}' {
		d.i++
		return nil
	}
	for {
		if d.peek() != '"' {
			return d.unexpected("looking for beginning of object key string")
		}
		raw, esc, err := d.str()
		if err != nil {
			return err
		}
		var key string
		switch {
		case esc:
			key = foldKey(unescape(raw))
		case hasUpperOrHigh(raw):
			key = foldKey(string(raw))
		default:
			key = unsafeString(raw)
		}
		if d.peek() != ':' {
			return d.unexpected("after object key")
		}
		d.i++
		d.path = append(d.path, key)
		err = field(key)
		d.path = d.path[:len(d.path)-1]
		if err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return d.unexpected("after object key:value pair")
		}
	}
}

func hasUpperOrHigh(b []byte) bool {
	for _, c := range b {
		if c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// unsafeString views a key's bytes as a string without copying, for the
// comparisons of one field: it must not outlive the line.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// foldKey lowercases a key the way encoding/json matches field names: ASCII
// and Unicode simple folding, where the Kelvin sign folds to k and the long s
// to s.
func foldKey(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		switch r {
		case '\u212a':
			r = 'k'
		case '\u017f':
			r = 's'
		default:
			if r >= 'A' && r <= 'Z' {
				r += 'a' - 'A'
			}
		}
		out = append(out, r)
	}
	return string(out)
}

func (d *decoder) array(elem func() error) error {
	if d.depth++; d.depth > 10000 {
		return d.fail("exceeded max depth")
	}
	defer func() { d.depth-- }()
	d.i++ // '['
	if d.peek() == ']' {
		d.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.unexpected("after array element")
		}
	}
}

// scalar reads a BigQuery scalar into v: a string, a number (its text), or
// null (unset). Anything else is an error naming the value, as the export's
// Unmarshaler reports it.
func (d *decoder) scalar(v *scalar) error {
	switch c := d.peek(); {
	case c == '"':
		raw, esc, err := d.str()
		*v = scalar{raw: raw, esc: esc, set: true}
		return err
	case c == 'n':
		*v = scalar{}
		return d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		raw, err := d.number()
		*v = scalar{raw: raw, set: true}
		return err
	default:
		start := d.i
		if err := d.skip(); err != nil {
			return err
		}
		if d.custom == nil {
			d.custom = fmt.Errorf("want a string or number, got %s", d.b[start:d.i])
		}
		return nil
	}
}

// stringField reads a Go string field (event_params.key): a string, or null
// leaving it as it was.
func (d *decoder) stringField(v *scalar) error {
	switch c := d.peek(); c {
	case '"':
		raw, esc, err := d.str()
		*v = scalar{raw: raw, esc: esc, set: true}
		return err
	case 'n':
		return d.literal("null")
	case 0:
		return d.unexpected("looking for beginning of value")
	default:
		return d.wrongType(c, "string")
	}
}

// fields reads an object of scalars named by names into vs (a null object
// is handled by the caller).
func (d *decoder) fields(names []string, vs []scalar) error {
	return d.object(func(key string) error {
		for i, n := range names {
			if key == n {
				return d.scalar(&vs[i])
			}
		}
		return d.skip()
	})
}

// structField reads a value that must be an object (or null, which calls
// clear), with fill reading its members.
func (d *decoder) structField(clear func(), fill func() error) error {
	switch c := d.peek(); c {
	case '{':
		return fill()
	case 'n':
		clear()
		return d.literal("null")
	case 0:
		return d.unexpected("looking for beginning of value")
	default:
		return d.wrongType(c, "struct")
	}
}

var (
	trafficNames   = []string{"name", "medium", "source"}
	collectedNames = []string{"manual_source", "manual_medium", "manual_campaign_name", "manual_campaign_id", "manual_content", "manual_term"}
	lastClickNames = []string{"campaign_id", "campaign_name", "source", "medium"}
	ecommerceNames = []string{"purchase_revenue", "refund_value", "transaction_id"}
	valueNames     = []string{"string_value", "int_value", "double_value", "float_value"}
)

// decodeRow parses one export row. The error is a syntax error (the line is
// not JSON) or one naming the field at fault.
func decodeRow(line []byte, r *row) error {
	d := decoder{b: line}
	err := d.top(r)
	if err == nil {
		d.ws()
		if d.i < len(d.b) {
			err = d.unexpected("after top-level value")
		}
	}
	if err != nil {
		return err
	}
	if d.custom != nil {
		return d.custom
	}
	if d.first != nil {
		return d.first
	}
	return nil
}

func (d *decoder) top(r *row) error {
	switch c := d.peek(); c {
	case '{':
	case 'n':
		return d.literal("null")
	case 0:
		return d.unexpected("looking for beginning of value")
	default:
		return d.wrongType(c, "struct")
	}
	return d.object(func(key string) error {
		switch key {
		case "event_date":
			return d.scalar(&r.date)
		case "event_timestamp":
			return d.scalar(&r.timestamp)
		case "event_name":
			return d.scalar(&r.name)
		case "user_id":
			return d.scalar(&r.userID)
		case "user_pseudo_id":
			return d.scalar(&r.userPseudoID)
		case "event_params":
			return d.params(r)
		case "traffic_source":
			return d.structField(func() { r.traffic = nil }, func() error {
				if r.traffic == nil {
					r.traffic = new([3]scalar)
				}
				return d.fields(trafficNames, r.traffic[:])
			})
		case "collected_traffic_source":
			return d.structField(func() { r.collected = nil }, func() error {
				if r.collected == nil {
					r.collected = new([6]scalar)
				}
				return d.fields(collectedNames, r.collected[:])
			})
		case "session_traffic_source_last_click":
			return d.structField(func() { r.lastClick = nil }, func() error {
				return d.object(func(key string) error {
					if key != "manual_campaign" {
						return d.skip()
					}
					return d.structField(func() { r.lastClick = nil }, func() error {
						if r.lastClick == nil {
							r.lastClick = new([4]scalar)
						}
						return d.fields(lastClickNames, r.lastClick[:])
					})
				})
			})
		case "ecommerce":
			return d.structField(func() { r.ecommerce = nil }, func() error {
				if r.ecommerce == nil {
					r.ecommerce = new([3]scalar)
				}
				return d.fields(ecommerceNames, r.ecommerce[:])
			})
		}
		return d.skip()
	})
}

// params reads event_params as encoding/json fills a slice it decodes into
// again: element i of a repeated array merges into element i of the last one.
func (d *decoder) params(r *row) error {
	switch c := d.peek(); c {
	case '[':
	case 'n':
		r.params = r.params[:0]
		return d.literal("null")
	case 0:
		return d.unexpected("looking for beginning of value")
	default:
		return d.wrongType(c, "slice")
	}
	n := 0
	err := d.array(func() error {
		if n == len(r.params) {
			r.params = append(r.params, param{})
		}
		p := &r.params[n]
		n++
		// A null element or value leaves it as it was (a struct, not a pointer).
		return d.structField(func() {}, func() error {
			return d.object(func(key string) error {
				switch key {
				case "key":
					return d.stringField(&p.key)
				case "value":
					return d.structField(func() {}, func() error { return d.fields(valueNames, p.v[:]) })
				}
				return d.skip()
			})
		})
	})
	r.params = r.params[:n]
	return err
}
