package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// CSV reads a comma-separated file with a header row, record by record, with
// every failure reported as an [Error] at its line and column. A UTF-8
// byte-order mark and CRLF line endings are accepted (spreadsheets write
// them); other encodings, bare CR line endings, blank or repeated header
// names and records with a different number of fields are not.
type CSV struct {
	file   string
	r      *csv.Reader
	limit  *recordLimit
	header []string
	index  map[string]int
	rec    []string
	line   int64
}

// NewCSV reads the header row of r. Header names are matched by [Normalize].
func NewCSV(file string, br *bufio.Reader) (*CSV, error) {
	head, _ := br.Peek(512)
	if err := CheckText(file, head); err != nil {
		return nil, err
	}
	if bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")) {
		_, _ = br.Discard(3)
	}
	limit := &recordLimit{r: LimitLines(br)}
	r := csv.NewReader(limit)
	r.ReuseRecord = true
	c := &CSV{file: file, r: r, limit: limit, index: map[string]int{}}
	header, err := r.Read()
	if err == io.EOF {
		return nil, &Error{File: file, Err: ErrEmpty}
	}
	if err != nil {
		return nil, c.readErr(err)
	}
	c.line = 1
	c.header = append([]string(nil), header...)
	if len(c.header) == 1 {
		for _, sep := range []string{";", "\t", "|"} {
			if strings.Count(c.header[0], sep) > 0 {
				name := map[string]string{";": "semicolons (;)", "\t": "tabs", "|": "vertical bars (|)"}[sep]
				return nil, &Error{File: file, Line: 1, Err: fmt.Errorf("the header is one column, %q: the file seems to separate fields with %s; adhouse reads comma-separated files (export or save it as CSV with commas)", c.header[0], name)}
			}
		}
	}
	for i, h := range c.header {
		if !utf8.ValidString(h) {
			return nil, &Error{File: file, Line: 1, Column: fmt.Sprintf("%d", i+1), Value: h, Err: ErrEncoding}
		}
		if strings.Contains(h, "\r") {
			return nil, &Error{File: file, Line: 1, Column: fmt.Sprintf("%d", i+1), Value: h,
				Err: errors.New("bare carriage return in the header: lines must end in LF or CRLF")}
		}
		if strings.Contains(h, "\uFEFF") {
			return nil, &Error{File: file, Line: 1, Column: fmt.Sprintf("%d", i+1), Value: h,
				Err: errors.New("byte-order mark inside the header (two files joined?)")}
		}
		n := Normalize(h)
		if n == "" {
			return nil, &Error{File: file, Line: 1, Column: fmt.Sprintf("%d", i+1), Value: h, Err: errors.New("blank column name")}
		}
		if _, dup := c.index[n]; dup {
			return nil, &Error{File: file, Line: 1, Column: h, Value: h, Err: errors.New("column named twice")}
		}
		c.index[n] = i
	}
	return c, nil
}

// Normalize is how header names are compared: case, spaces, dots and dashes
// do not matter ("Created at", "created_at" and "CREATED-AT" are one name).
func Normalize(name string) string {
	name = strings.TrimSpace(strings.ToLower(name))
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-':
			return '_'
		}
		return r
	}, name)
}

// Header returns the header as written.
func (c *CSV) Header() []string { return c.header }

// Col returns the index of a column, or -1.
func (c *CSV) Col(name string) int {
	if i, ok := c.index[Normalize(name)]; ok {
		return i
	}
	return -1
}

// Require returns the index of a column that must be present.
func (c *CSV) Require(name string) (int, error) {
	i := c.Col(name)
	if i < 0 {
		return -1, &Error{File: c.file, Line: 1, Err: fmt.Errorf("missing column %q (header has %s)", name, strings.Join(c.header, ", "))}
	}
	return i, nil
}

// Next reads the next record; false at the end of the file.
func (c *CSV) Next() (bool, error) {
	c.limit.n = 0
	rec, err := c.r.Read()
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, c.readErr(err)
	}
	l, _ := c.r.FieldPos(0)
	c.line = int64(l)
	for i, v := range rec {
		if !utf8.ValidString(v) {
			return false, &Error{File: c.file, Line: c.line, Column: c.header[i], Value: v, Err: ErrEncoding}
		}
	}
	c.rec = rec
	return true, nil
}

// Line is the line the current record starts on.
func (c *CSV) Line() int64 { return c.line }

// Get returns the current record's cell i ("" for i < 0).
func (c *CSV) Get(i int) string {
	if i < 0 {
		return ""
	}
	return c.rec[i]
}

// Fail reports a bad cell of the current record.
func (c *CSV) Fail(i int, err error) error {
	return &Error{File: c.file, Line: c.line, Column: c.header[i], Value: c.rec[i], Err: err}
}

// Failf reports a record-level problem at the current line.
func (c *CSV) Failf(format string, args ...any) error {
	return &Error{File: c.file, Line: c.line, Err: fmt.Errorf(format, args...)}
}

func (c *CSV) readErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		e := &Error{File: c.file, Line: int64(pe.Line), Err: pe.Err}
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			e.Err = fmt.Errorf("wrong number of fields: the header has %d", len(c.header))
		}
		if pe.Column > 0 && !errors.Is(pe.Err, csv.ErrFieldCount) {
			e.Err = fmt.Errorf("%w (at character %d)", pe.Err, pe.Column)
		}
		if errors.Is(pe.Err, ErrLineTooLong) {
			e.Err = ErrLineTooLong
		}
		if errors.Is(pe.Err, ErrRecordTooLong) {
			e.Err = ErrRecordTooLong
		}
		return ReadErr(c.file, e.Line, e)
	}
	if errors.Is(err, ErrLineTooLong) {
		return &Error{File: c.file, Line: c.line + 1, Err: ErrLineTooLong}
	}
	if errors.Is(err, ErrRecordTooLong) {
		return &Error{File: c.file, Line: c.line + 1, Err: ErrRecordTooLong}
	}
	return ReadErr(c.file, c.line+1, err)
}

// MaxRecordBytes bounds one CSV record, however many lines its quoted fields
// span: a quote that never closes would otherwise take the rest of the file
// into one field, and its memory.
const MaxRecordBytes = 8 << 20

// ErrRecordTooLong is a CSV record beyond MaxRecordBytes.
var ErrRecordTooLong = fmt.Errorf("record longer than %d MiB (a quoted field that never closes?)", MaxRecordBytes>>20)

// recordLimit counts the bytes read since the current record began; the
// reader's read-ahead (a few KiB) is the only slack.
type recordLimit struct {
	r io.Reader
	n int
}

func (l *recordLimit) Read(p []byte) (int, error) {
	if l.n > MaxRecordBytes {
		return 0, ErrRecordTooLong
	}
	n, err := l.r.Read(p)
	l.n += n
	return n, err
}
