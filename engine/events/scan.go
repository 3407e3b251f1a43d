package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// bufSize is the read buffer. Lines and values longer than this spill into
// a separate buffer that grows to the largest event seen.
const bufSize = 64 << 10

// maxEventSize bounds the bytes held for one event, so that a file without
// line breaks, or a value that is never closed, cannot take all memory. It
// stays under the worker's 512 MiB frame limit. A variable for tests.
var maxEventSize = 256 << 20

// mode is how a file's values are found, decided from its first value.
type mode uint8

const (
	// modeSniff: nothing read yet.
	modeSniff mode = iota
	// modeLines: JSONL. Every line is one value, so a bad line costs only
	// itself. Chosen when the first value starts with '{' and ends on its
	// line, or when the file does not start like JSON at all.
	modeLines
	// modeValues: JSON text. Values are framed by their brackets and may
	// span lines; top-level arrays are expanded into their elements.
	// Chosen for a file starting with '[', or with an object that goes on
	// past its first line (pretty-printed).
	modeValues
)

// readError is a failure of the underlying reader (as opposed to bad JSON).
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }

func errTooLarge() error {
	return fmt.Errorf("event larger than the %d byte limit; skipped", maxEventSize)
}

// scanner finds the values of one decompressed file. It is reused from file
// to file so that its buffers are allocated once.
type scanner struct {
	src      io.Reader
	buf      []byte
	pos, end int   // unread bytes are buf[pos:end]
	rerr     error // first error from src; io.EOF at the end
	line     int   // line number of buf[pos]
	mode     mode

	// shallow skips full JSON validation of lines (see Reader.Shallow).
	shallow bool

	spill []byte // a line or value that did not fit in buf
	stack []byte // open brackets of the value being framed

	inArray    bool // inside a top-level array (modeValues)
	arrayLine  int  // where that array opened
	afterElem  bool // an element was just read: ',' or ']' comes next
	afterComma bool // a ',' was just read: an element comes next

	// done is set when the file has nothing more to give: its end, a read
	// error, or a syntax error after which values cannot be found again.
	done bool
}

func (s *scanner) reset(src io.Reader) {
	if s.buf == nil {
		s.buf = make([]byte, bufSize)
	}
	if cap(s.spill) > 4<<20 {
		// One huge event should not pin its memory for the rest of a run.
		s.spill = nil
	}
	*s = scanner{src: src, buf: s.buf, spill: s.spill[:0], stack: s.stack[:0], line: 1, shallow: s.shallow}
}

// more reads at least one more byte into buf, first moving the unread bytes
// to its front. It returns false at the end of input, on a read error (kept
// in rerr), or when buf is full.
func (s *scanner) more() bool {
	if s.rerr != nil {
		return false
	}
	if s.pos > 0 {
		s.end = copy(s.buf, s.buf[s.pos:s.end])
		s.pos = 0
	}
	if s.end == len(s.buf) {
		return false
	}
	// io.Reader allows (0, nil); give up after a few as bufio does rather
	// than spin on a broken reader.
	for range 100 {
		n, err := s.src.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.rerr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.rerr = io.ErrNoProgress
	return false
}

// failed reports a read error (anything but the end of input), ending the file.
func (s *scanner) failed() error {
	s.done = true
	return readError{s.rerr}
}

// next returns the next value and the line it starts on, io.EOF at the end
// of the file, or an error about one value (with the line where it is). The
// value is only valid until the next call.
func (s *scanner) next() ([]byte, int, error) {
	if s.done {
		return nil, s.line, io.EOF
	}
	if s.mode == modeSniff {
		s.sniff()
	}
	if s.mode == modeLines {
		return s.nextLine()
	}
	return s.nextValue()
}

// sniff skips a byte order mark and leading blank space, then picks the mode.
func (s *scanner) sniff() {
	for s.end-s.pos < 3 && s.more() {
	}
	if bytes.HasPrefix(s.buf[s.pos:s.end], []byte("\xef\xbb\xbf")) {
		s.pos += 3
	}
	s.mode = modeValues // at the end of input either mode reports it
	if !s.skipSpace() {
		return
	}
	switch s.buf[s.pos] {
	case '[':
	case '{':
		if !s.firstValueSpansLines() {
			s.mode = modeLines
		}
	default:
		s.mode = modeLines
	}
}

// firstValueSpansLines frames the object at buf[pos] up to the end of its
// line without consuming anything. An object still open at the line break
// means pretty-printed JSON; one that closes, or cannot be valid (a line
// break inside a string, a mismatched bracket), means JSONL, whose per-line
// recovery is the better way to report it. A first line longer than buf
// is taken as JSONL too: pretty-printed files have short lines.
func (s *scanner) firstValueSpansLines() bool {
	f := framer{stack: s.stack[:0]}
	defer func() { s.stack = f.stack[:0] }()
	off := 0 // bytes after pos already framed
	for {
		b := s.buf[s.pos+off : s.end]
		nl := bytes.IndexByte(b, '\n')
		if nl >= 0 {
			b = b[:nl]
		}
		_, _, closed, bad := f.feed(b)
		if closed || bad {
			return false
		}
		if nl >= 0 {
			return !f.inStr
		}
		off += len(b)
		if !s.more() {
			return false
		}
	}
}

// skipSpace skips JSON white space, counting lines. It returns false when
// the input ends first.
func (s *scanner) skipSpace() bool {
	for {
		for ; s.pos < s.end; s.pos++ {
			switch s.buf[s.pos] {
			case ' ', '\t', '\r':
			case '\n':
				s.line++
			default:
				return true
			}
		}
		if !s.more() {
			return false
		}
	}
}

// nextLine is next for JSONL: blank lines are skipped, each other line is
// checked on its own.
func (s *scanner) nextLine() ([]byte, int, error) {
	for {
		line, no, err := s.readLine()
		if err == io.EOF {
			s.done = true
			return nil, no, io.EOF
		}
		if err != nil {
			return nil, no, err
		}
		line = bytes.TrimSpace(line) // also drops the \r of CRLF
		if len(line) == 0 {
			continue
		}
		check := validate
		if s.shallow {
			check = validateShallow
		}
		if off, err := check(line); err != nil {
			return nil, no + bytes.Count(line[:off], nl), err
		}
		return line, no, nil
	}
}

var nl = []byte{'\n'}

// readLine returns the next line without its '\n', and its number. Lines
// are returned from buf when they fit, else from spill. A line over
// maxEventSize is consumed without being kept and reported as too large.
func (s *scanner) readLine() ([]byte, int, error) {
	no := s.line
	s.spill = s.spill[:0]
	spilled, tooLarge := false, false
	scanned := 0 // bytes after pos known to hold no '\n'
	for {
		if i := bytes.IndexByte(s.buf[s.pos+scanned:s.end], '\n'); i >= 0 {
			end := s.pos + scanned + i
			line := s.buf[s.pos:end]
			s.pos = end + 1
			s.line++
			if spilled {
				s.spill, tooLarge = appendCapped(s.spill, line, tooLarge)
				line = s.spill
			}
			if tooLarge {
				return nil, no, errTooLarge()
			}
			return line, no, nil
		}
		if s.pos == 0 && s.end == len(s.buf) {
			s.spill, tooLarge = appendCapped(s.spill, s.buf[:s.end], tooLarge)
			s.pos = s.end
			spilled = true
		}
		scanned = s.end - s.pos
		if !s.more() {
			if s.rerr != io.EOF {
				// The partial line is dropped: the FileError covers it.
				return nil, no, s.failed()
			}
			// Last line without a final '\n'.
			line := s.buf[s.pos:s.end]
			s.pos = s.end
			if spilled {
				s.spill, tooLarge = appendCapped(s.spill, line, tooLarge)
				line = s.spill
			} else if len(line) == 0 {
				return nil, no, io.EOF
			}
			if tooLarge {
				return nil, no, errTooLarge()
			}
			return line, no, nil
		}
	}
}

// appendCapped appends b to spill unless that makes it larger than
// maxEventSize, in which case spill is emptied and stays so: the rest of
// the event is consumed but not kept.
func appendCapped(spill, b []byte, tooLarge bool) ([]byte, bool) {
	if tooLarge || len(spill)+len(b) > maxEventSize {
		return spill[:0], true
	}
	return append(spill, b...), false
}

// nextValue is next for JSON text.
func (s *scanner) nextValue() ([]byte, int, error) {
	for {
		if !s.skipSpace() {
			if s.rerr != io.EOF {
				return nil, s.line, s.failed()
			}
			s.done = true
			if s.inArray {
				return nil, s.arrayLine, errors.New("invalid JSON: unexpected end of input: array is never closed")
			}
			return nil, s.line, io.EOF
		}
		c := s.buf[s.pos]
		if s.inArray {
			if s.afterElem {
				s.afterElem = false
				switch c {
				case ',':
					s.pos++
					s.afterComma = true
					continue
				case ']':
					s.pos++
					s.inArray = false
					continue
				}
				// Read c as the next element: a missing comma is a
				// mistake in one place, not a reason to drop the rest.
				return nil, s.line, fmt.Errorf("invalid JSON: invalid character %s after array element", quoteChar(c))
			}
			if c == ']' {
				s.pos++
				s.inArray = false
				if s.afterComma {
					s.afterComma = false
					return nil, s.line, errors.New("invalid JSON: invalid character ']' after ','")
				}
				continue
			}
			s.afterComma = false
			s.afterElem = true
		} else if c == '[' {
			s.pos++
			s.inArray = true
			s.arrayLine = s.line
			s.afterElem, s.afterComma = false, false
			continue
		}
		v, line, err := s.scanValue()
		if err != nil {
			return nil, line, err
		}
		if off, err := validate(v); err != nil {
			return nil, line + bytes.Count(v[:off], nl), err
		}
		return v, line, nil
	}
}

// scanValue consumes the value starting at buf[pos] and returns its bytes,
// which may still be invalid JSON. It fails when the end of the value cannot
// be found: the input ends inside it, a read fails, or brackets do not
// match. Reading the file stops then, as no later value can be trusted. On
// error it also returns the line to report.
func (s *scanner) scanValue() ([]byte, int, error) {
	start := s.line
	c := s.buf[s.pos]
	switch c {
	case '}', ']':
		// A stray closer: skip it alone; what follows may be fine.
		s.pos++
		return nil, start, fmt.Errorf("invalid JSON: invalid character %s looking for beginning of value", quoteChar(c))
	}
	s.spill = s.spill[:0]
	spilled, tooLarge := false, false
	scalar := c != '{' && c != '[' && c != '"'
	f := framer{stack: s.stack[:0]}
	defer func() { s.stack = f.stack[:0] }()
	i := s.pos // bytes buf[pos:i] belong to the value
	if scalar {
		i++ // the first byte, whatever it is, so that scanning always advances
	}
	for {
		if scalar {
			for i < s.end && !isDelim(s.buf[i]) {
				i++
			}
			if i < s.end {
				break
			}
		} else {
			n, lines, closed, bad := f.feed(s.buf[i:s.end])
			i += n
			s.line += lines
			if bad {
				s.pos = i
				s.done = true
				if f.tooDeep {
					return nil, s.line, fmt.Errorf("invalid JSON: nested deeper than %d; rest of file skipped", maxDepth)
				}
				return nil, s.line, fmt.Errorf("invalid JSON: invalid character %s: brackets do not match; rest of file skipped", quoteChar(s.buf[i-1]))
			}
			if closed {
				break
			}
		}
		// The value goes on past buf: make room, spilling if buf is full
		// of it.
		if s.pos == 0 && s.end == len(s.buf) {
			s.spill, tooLarge = appendCapped(s.spill, s.buf[:s.end], tooLarge)
			spilled = true
			s.pos = s.end
		}
		off := i - s.pos
		if !s.more() {
			if s.rerr != io.EOF {
				return nil, s.line, s.failed()
			}
			if !scalar {
				s.pos = s.end
				s.done = true
				return nil, start, errors.New("invalid JSON: unexpected end of input: value is never closed")
			}
			i = s.pos + off
			break // a number or literal may end at the end of input
		}
		i = s.pos + off
	}
	v := s.buf[s.pos:i]
	s.pos = i
	if spilled {
		s.spill, tooLarge = appendCapped(s.spill, v, tooLarge)
		v = s.spill
	}
	if tooLarge {
		return nil, start, errTooLarge()
	}
	return v, start, nil
}

// isDelim reports whether c ends a number or literal. Anything else is
// taken as part of it and left for validate to reject.
func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ']', '}', '[', '{', '"', ':':
		return true
	}
	return false
}

// framer finds where a string, object or array ends. It tracks only what
// decides that (strings, escapes, brackets) and leaves validation to
// encoding/json.
type framer struct {
	stack   []byte
	inStr   bool
	esc     bool
	tooDeep bool
}

// maxDepth is encoding/json's nesting limit. Past it the value cannot be
// valid, and stopping there keeps the stack small on a file of brackets.
const maxDepth = 10000

// feed frames b, which continues what earlier calls saw. It returns the
// bytes consumed, the line breaks among them, whether the value closed (at
// b[n-1]), and whether b[n-1] is a bracket that does not match or nests
// too deep (tooDeep is set then).
func (f *framer) feed(b []byte) (n, lines int, closed, bad bool) {
	for i, c := range b {
		if c == '\n' {
			lines++ // counted inside strings too, where it is invalid
		}
		if f.inStr {
			switch {
			case f.esc:
				f.esc = false
			case c == '\\':
				f.esc = true
			case c == '"':
				f.inStr = false
				if len(f.stack) == 0 {
					return i + 1, lines, true, false
				}
			}
			continue
		}
		switch c {
		case '"':
			f.inStr = true
		case '{', '[':
			if len(f.stack) == maxDepth {
				f.tooDeep = true
				return i + 1, lines, false, true
			}
			f.stack = append(f.stack, c)
		case '}', ']':
			top := len(f.stack) - 1
			// '{'+2 == '}' and '['+2 == ']'
			if top < 0 || f.stack[top]+2 != c {
				return i + 1, lines, false, true
			}
			f.stack = f.stack[:top]
			if top == 0 {
				return i + 1, lines, true, false
			}
		}
	}
	return len(b), lines, false, false
}

// validateShallow only checks that a line looks like an object; the
// consumer parses it anyway (a replay's Python worker) and reports what is
// wrong inside, so scanning every byte twice would be wasted.
func validateShallow(v []byte) (int, error) {
	if v[0] != '{' || v[len(v)-1] != '}' {
		return validate(v)
	}
	return 0, nil
}

// validate checks that v is one JSON object. For invalid JSON it returns
// the offset of the offending byte, for the error's line number.
func validate(v []byte) (int, error) {
	if json.Valid(v) {
		if v[0] != '{' {
			return 0, fmt.Errorf("%w (found %s)", ErrNotObject, kindOf(v[0]))
		}
		return 0, nil
	}
	// Only on the error path: Unmarshal repeats the check to get an offset.
	var x struct{}
	err := json.Unmarshal(v, &x)
	if err == nil {
		err = errors.New("invalid JSON")
	}
	off := 0
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset > 0 {
		off = min(int(se.Offset)-1, len(v))
	}
	return off, fmt.Errorf("invalid JSON: %w", err)
}

func kindOf(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// quoteChar quotes c the way encoding/json's syntax errors do.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	q := strconv.Quote(string([]byte{c}))
	return "'" + q[1:len(q)-1] + "'"
}
