// Package ingest imports export files (GA4 events, CRM deals, shop orders,
// product costs) into the warehouse all or nothing.
//
// A [Format] parses a file into rows; the [Importer] stages them under one
// fresh load version, checks that every row arrived, and publishes the file
// with a single-row INSERT into import_commits. The views of migration
// 0002_imports show only the newest committed version of each file identity,
// so a failed import shows nothing of itself, re-importing the same bytes is
// a no-op and a corrected file replaces the earlier one whole.
package ingest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// MaxLineBytes bounds one physical line of any import file. It keeps memory
// bounded whatever the input: a longer line fails the file instead of being
// buffered whole.
const MaxLineBytes = 4 << 20

// Input is an import file opened for one streaming pass: gzip (recognised by
// its magic bytes, not its name) is decompressed on the fly, and the content
// is hashed as it is read.
type Input struct {
	// Name is the file name used in error messages.
	Name string
	// Gzip reports whether the file is gzip-compressed.
	Gzip bool

	f       io.Reader
	c       io.Closer
	content hash.Hash // of the decompressed content
	r       *bufio.Reader
	gz      *gzip.Reader
	read    bool
}

// Open opens path for reading and sniffs its compression.
func Open(path string) (*Input, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	in, err := NewInput(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	in.c = f
	return in, nil
}

// NewInput reads an import from r (tests, fuzzing, standard input), with the
// same gzip sniffing and hashing as [Open].
func NewInput(name string, r io.Reader) (*Input, error) {
	var err error
	in := &Input{Name: name, f: r, content: sha256.New()}
	rawBuf := bufio.NewReaderSize(r, 1<<20)
	magic, _ := rawBuf.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		in.Gzip = true
		in.gz, err = gzip.NewReader(rawBuf)
		if err != nil {
			return nil, &Error{File: name, Line: 0, Err: fmt.Errorf("%w: gzip header: %v", ErrTruncated, err)}
		}
		in.gz.Multistream(true)
		in.r = bufio.NewReaderSize(io.TeeReader(in.gz, in.content), 1<<20)
	} else {
		in.r = bufio.NewReaderSize(io.TeeReader(rawBuf, in.content), 1<<20)
	}
	return in, nil
}

// Reader returns the decompressed content. It can be read once.
func (in *Input) Reader() *bufio.Reader { in.read = true; return in.r }

// ContentSHA256 is the hex SHA-256 of the file's content, decompressed: the
// same data gzipped or not has the same hash, so it is recognised as
// already imported. It reads what the parser left, to the end.
func (in *Input) ContentSHA256() (string, error) {
	if _, err := io.Copy(io.Discard, in.r); err != nil {
		return "", ReadErr(in.Name, 0, err)
	}
	return hex.EncodeToString(in.content.Sum(nil)), nil
}

// Close releases the file.
func (in *Input) Close() error {
	if in.c == nil {
		return nil
	}
	return in.c.Close()
}

// FileContentSHA256 is [Input.ContentSHA256] of the file at path: what a
// re-import is compared by.
func FileContentSHA256(path string) (string, error) {
	in, err := Open(path)
	if err != nil {
		return "", err
	}
	defer in.Close()
	return in.ContentSHA256()
}

// FileKey is a file's default identity: its base name without a .gz suffix,
// so events.ndjson and events.ndjson.gz are the same file.
func FileKey(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".gz")
}

// Error is a failure at a place in a file. Line is 1-based (0: the file as a
// whole); Column and Value are set when one cell is at fault.
type Error struct {
	File   string
	Line   int64
	Column string
	Value  string
	Err    error
}

// Error names file, line, column and value, so the bad cell can be found
// without tools.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %s", e.Column)
	}
	if e.Column != "" || e.Value != "" {
		fmt.Fprintf(&b, ": value %s", quoteValue(e.Value))
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// quoteValue shows a value briefly and safely: long values are cut, and
// control or invalid bytes are escaped.
func quoteValue(v string) string {
	const max = 80
	if len(v) > max {
		return fmt.Sprintf("%+q… (%d bytes)", v[:max], len(v))
	}
	return fmt.Sprintf("%+q", v)
}

// Errors a caller may test for with errors.Is.
var (
	// ErrLineTooLong is a physical line longer than MaxLineBytes.
	ErrLineTooLong = fmt.Errorf("line longer than %d bytes", MaxLineBytes)
	// ErrEncoding is content that is not UTF-8 text.
	ErrEncoding = errors.New("not valid UTF-8 text")
	// ErrEmpty is a file without a single record.
	ErrEmpty = errors.New("file is empty")
	// ErrDuplicate is an id that appears twice in one file.
	ErrDuplicate = errors.New("duplicate id")
	// ErrTruncated is a compressed file cut short.
	ErrTruncated = errors.New("compressed file is truncated")
)

// CheckText rejects the encodings a text import cannot read, looking at the
// first bytes: UTF-16/32 byte-order marks and NUL bytes (binary files).
func CheckText(file string, head []byte) error {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return &Error{File: file, Line: 1, Err: fmt.Errorf("%w: UTF-16 byte-order mark; save the file as UTF-8", ErrEncoding)}
	case bytes.IndexByte(head, 0) >= 0:
		return &Error{File: file, Line: 1, Err: fmt.Errorf("%w: NUL byte; is this a binary file?", ErrEncoding)}
	}
	return nil
}

// ReadErr turns an error from reading the decompressed stream into an
// [Error] at line: a cut-short gzip becomes ErrTruncated.
func ReadErr(file string, line int64, err error) error {
	var fe *Error
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
		return &Error{File: file, Line: line, Err: fmt.Errorf("%w: %v", ErrTruncated, err)}
	}
	return &Error{File: file, Line: line, Err: err}
}
