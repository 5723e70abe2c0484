package ingest

import (
	"bufio"
	"bytes"
	"io"
)

// LineReader yields physical lines of at most MaxLineBytes, without their
// line ending, numbering them from 1. The returned slice is valid until the
// next call.
type LineReader struct {
	r    *bufio.Reader
	buf  []byte
	line int64
	// CRLF reports whether any line ended in \r\n.
	CRLF bool
}

// NewLineReader reads lines from r.
func NewLineReader(r *bufio.Reader) *LineReader { return &LineReader{r: r} }

// Line is the number of the line last returned.
func (lr *LineReader) Line() int64 { return lr.line }

// Next returns the next line, or io.EOF after the last one.
func (lr *LineReader) Next() ([]byte, error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.r.ReadSlice('\n')
		if len(lr.buf)+len(chunk) > MaxLineBytes {
			lr.line++
			// Skip nothing more: the file fails here.
			return nil, ErrLineTooLong
		}
		if err == bufio.ErrBufferFull {
			lr.buf = append(lr.buf, chunk...)
			continue
		}
		var line []byte
		if len(lr.buf) > 0 {
			lr.buf = append(lr.buf, chunk...)
			line = lr.buf
		} else {
			line = chunk
		}
		if err != nil && err != io.EOF {
			lr.line++
			return nil, err
		}
		if len(line) == 0 && err == io.EOF {
			return nil, io.EOF
		}
		lr.line++
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
				lr.CRLF = true
			}
		}
		return line, nil
	}
}

// lineLimit passes bytes through but fails once a physical line exceeds
// MaxLineBytes, so a CSV reader can never buffer an unbounded record.
type lineLimit struct {
	r   io.Reader
	run int
}

// LimitLines wraps r so that reading a line longer than MaxLineBytes fails
// with ErrLineTooLong.
func LimitLines(r io.Reader) io.Reader { return &lineLimit{r: r} }

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	b := p[:n]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			l.run += len(b)
			break
		}
		l.run += i
		if l.run > MaxLineBytes {
			return 0, ErrLineTooLong
		}
		l.run = 0
		b = b[i+1:]
	}
	if l.run > MaxLineBytes {
		return 0, ErrLineTooLong
	}
	return n, err
}
