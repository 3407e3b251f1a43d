package events

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readOne reads a single file and returns events and errors in order of
// appearance, as "line:raw" or "ERR message", the temporary directory
// removed from messages.
func readOne(t *testing.T, path string) []string {
	t.Helper()
	r, err := Open([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			msg := err.Error()
			if filepath.IsAbs(path) {
				msg = strings.TrimPrefix(msg, filepath.Dir(path)+string(filepath.Separator))
			}
			out = append(out, "ERR "+msg)
			continue
		}
		if ev.File != path {
			t.Errorf("event file %q, want %q", ev.File, path)
		}
		out = append(out, fmt.Sprintf("%d:%s", ev.Line, ev.Raw))
	}
	return out
}

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

var formatCases = []struct {
	name string
	in   string
	want []string
}{
	{"object.json", `{"a":1}`, []string{`1:{"a":1}`}},
	{"object-pretty.json", "{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}\n",
		[]string{"1:{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}"}},
	{"object-late.json", "\n\n  {\n\"a\": 1\n}", []string{"3:{\n\"a\": 1\n}"}},
	{"objects-pretty.json", "{\n  \"a\": 1\n}\n{\n  \"b\": 2\n}\n", []string{"1:{\n  \"a\": 1\n}", "4:{\n  \"b\": 2\n}"}},
	{"array.json", `[{"a":1},{"b":2}]`, []string{`1:{"a":1}`, `1:{"b":2}`}},
	{"array-pretty.json", "[\n  {\n    \"a\": 1\n  },\n  {\"b\": \"x\\ny\"}\n]\n",
		[]string{"2:{\n    \"a\": 1\n  }", `5:{"b": "x\ny"}`}},
	{"array-empty.json", "[ ]\n", nil},
	{"arrays.json", "[{\"a\":1}]\n[{\"b\":2}]\n", []string{`1:{"a":1}`, `2:{"b":2}`}},
	{"lines.jsonl", "{\"a\":1}\n\n{\"b\":[1,\n2]}\n  \t\n{\"c\":\"}\"}", []string{`1:{"a":1}`, "ERR lines.jsonl:3: invalid JSON: unexpected end of JSON input", "ERR lines.jsonl:4: invalid JSON: invalid character ']' after top-level value", `6:{"c":"}"}`}},
	{"empty.json", "", nil},
	{"blank.jsonl", "\n \r\n\n", nil},
	{"crlf.jsonl", "{\"a\":1}\r\n{\"b\":2}\r\n", []string{`1:{"a":1}`, `2:{"b":2}`}},
	{"crlf-array.json", "[\r\n  {\"a\":1},\r\n  {\r\n\"b\":2}\r\n]\r\n", []string{`2:{"a":1}`, "3:{\r\n\"b\":2}"}},
	{"bom.jsonl", "\xef\xbb\xbf{\"a\":1}\n{\"b\":2}\n", []string{`1:{"a":1}`, `2:{"b":2}`}},
	{"bom-array.json", "\xef\xbb\xbf[{\"a\":1}]", []string{`1:{"a":1}`}},
	{"precision.jsonl", `{"n":123456789012345678901234567890,"f":1.10,"e":1E400,"s":"\u00e9"}`,
		[]string{`1:{"n":123456789012345678901234567890,"f":1.10,"e":1E400,"s":"\u00e9"}`}},
}

func TestFormats(t *testing.T) {
	for _, tc := range formatCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			equal(t, readOne(t, writeFile(t, dir, tc.name, []byte(tc.in))), tc.want)
		})
		t.Run(tc.name+".gz", func(t *testing.T) {
			dir := t.TempDir()
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = strings.Replace(w, tc.name+":", tc.name+".gz:", 1)
			}
			equal(t, readOne(t, writeFile(t, dir, tc.name+".gz", gz(t, []byte(tc.in)))), want)
		})
	}
}

// Small buffers put buffer boundaries everywhere: inside strings, escapes,
// CRLFs, the BOM and between values. Every result must be the same.
func TestBufferBoundaries(t *testing.T) {
	for _, tc := range formatCases {
		want := scanAll(t, []byte(tc.in), bufSize)
		for size := 4; size <= 40; size++ {
			if got := scanAll(t, []byte(tc.in), size); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s with %d-byte buffer:\n  %s\nwant:\n  %s", tc.name, size, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		}
	}
}

// scanAll runs a scanner with the given buffer size over data.
func scanAll(t testing.TB, data []byte, size int) []string {
	t.Helper()
	s := scanner{buf: make([]byte, size)}
	s.reset(bytes.NewReader(data))
	var out []string
	for i := 0; ; i++ {
		if i > 2*len(data)+10 { // each call consumes a byte, or reports a missing comma and then does
			t.Fatalf("scanner does not end on %q", data)
		}
		v, line, err := s.next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			out = append(out, fmt.Sprintf("ERR %d: %v", line, err))
			continue
		}
		out = append(out, fmt.Sprintf("%d:%s", line, v))
	}
}

func TestBadLinesContinue(t *testing.T) {
	t.Chdir(t.TempDir()) // relative paths, as users type them
	in := strings.Join([]string{
		`{"a":1}`,
		`{"a":2}`,
		`{"a":x}`,
		`{"a":4}`,
		`[{"a":5}]`,
		`"string"`,
		`2024-05-01 INFO {"a":7}`,
		`{"a":8} {"a":8}`,
		`{"a":"9`,
		`{"a":10}`,
	}, "\n")
	p := writeFile(t, ".", filepath.Join("logs", "a.jsonl"), []byte(in))
	equal(t, readOne(t, p), []string{
		`1:{"a":1}`,
		`2:{"a":2}`,
		`ERR logs/a.jsonl:3: invalid JSON: invalid character 'x' looking for beginning of value`,
		`4:{"a":4}`,
		`ERR logs/a.jsonl:5: not a JSON object (found array)`,
		`ERR logs/a.jsonl:6: not a JSON object (found string)`,
		`ERR logs/a.jsonl:7: invalid JSON: invalid character '-' after top-level value`,
		`ERR logs/a.jsonl:8: invalid JSON: invalid character '{' after top-level value`,
		`ERR logs/a.jsonl:9: invalid JSON: unexpected end of JSON input`,
		`10:{"a":10}`,
	})

	_, errs, err := ReadAll([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	var le *LineError
	if !errors.As(errs[0], &le) || le.File != p || le.Line != 3 {
		t.Errorf("first error %#v, want a LineError for %s line 3", errs[0], p)
	}
	if want := p + ":3: invalid JSON: "; !strings.HasPrefix(errs[0].Error(), want) {
		t.Errorf("message %q does not start with %q", errs[0], want)
	}
	if !errors.Is(errs[1], ErrNotObject) {
		t.Errorf("%v is not ErrNotObject", errs[1])
	}
}

func TestJSONTextErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"elements", "[\n{\"a\":1},\n2,\n{\"a\":\n  3\n  \"b\": 4},\n{\"a\":5} {\"a\":6}\n,{\"a\":7},\n]\n{\"a\":8}\n", []string{
			`2:{"a":1}`,
			`ERR elements:3: not a JSON object (found number)`,
			`ERR elements:6: invalid JSON: invalid character '"' after object key:value pair`,
			`7:{"a":5}`,
			`ERR elements:7: invalid JSON: invalid character '{' after array element`,
			`7:{"a":6}`,
			`8:{"a":7}`,
			`ERR elements:9: invalid JSON: invalid character ']' after ','`,
			`10:{"a":8}`,
		}},
		{"mismatch", "[\n{\"a\":1},\n{\"a\":[1}},\n{\"a\":3}\n]\n", []string{
			`2:{"a":1}`,
			`ERR mismatch:3: invalid JSON: invalid character '}': brackets do not match; rest of file skipped`,
		}},
		{"unclosed-array", "[\n{\"a\":1},\n{\"a\":2}\n", []string{
			`2:{"a":1}`,
			`3:{"a":2}`,
			`ERR unclosed-array:1: invalid JSON: unexpected end of input: array is never closed`,
		}},
		{"unclosed-object", "{\n\"a\": 1,\n\"b\": {\n", []string{
			`ERR unclosed-object:1: invalid JSON: unexpected end of input: value is never closed`,
		}},
		{"stray", "{\n\"a\": 1\n}\n}\n{\n\"a\": 2\n}\n", []string{
			"1:{\n\"a\": 1\n}",
			`ERR stray:4: invalid JSON: invalid character '}' looking for beginning of value`,
			"5:{\n\"a\": 2\n}",
		}},
		{"newline-in-string", "[\n{\"a\": \"x\ny\"},\n{\"a\": 2}\n]", []string{
			`ERR newline-in-string:2: invalid JSON: invalid character '\n' in string literal`,
			`4:{"a": 2}`,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), tc.name, []byte(tc.in))
			equal(t, readOne(t, p), tc.want)
		})
	}
}

func TestDirectory(t *testing.T) {
	dir := t.TempDir()
	w := func(name, data string) { writeFile(t, dir, name, []byte(data)) }
	w("b.jsonl", "{\"f\":\"b\",\"n\":1}\n{\"f\":\"b\",\"n\":2}\n")
	w("a.json", "[{\"f\":\"a\"}]")
	writeFile(t, dir, "c.json.gz", gz(t, []byte(`{"f":"c"}`)))
	writeFile(t, dir, "sub/e.JSONL.GZ", gz(t, []byte("{\"f\":\"e\"}\n")))
	w("sub/d.ndjson", `{"f":"d"}`)
	w("sub/deeper/f.json", `{"f":"f"}`)
	w("sub.json", `{"f":"sub.json"}`)
	w(".hidden.json", `{"f":"hidden"}`)
	w(".git/x.json", `{"f":"git"}`)
	w("notes.txt", `{"f":"txt"}`)
	w("data.log", `{"f":"log"}`)
	w("archive.gz", `{"f":"gz"}`)
	if err := os.Symlink(filepath.Join(dir, "sub"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "a.json"), filepath.Join(dir, "z-link.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "missing"), filepath.Join(dir, "y-dangling.json")); err != nil {
		t.Fatal(err)
	}

	evs, errs, err := ReadAll([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, ev := range evs {
		if ev.Seq != int64(i) {
			t.Errorf("event %d has Seq %d", i, ev.Seq)
		}
		rel, _ := filepath.Rel(dir, ev.File)
		got = append(got, fmt.Sprintf("%s:%d:%s", rel, ev.Line, ev.Raw))
	}
	equal(t, got, []string{
		`a.json:1:{"f":"a"}`,
		`b.jsonl:1:{"f":"b","n":1}`,
		`b.jsonl:2:{"f":"b","n":2}`,
		`c.json.gz:1:{"f":"c"}`,
		`sub/d.ndjson:1:{"f":"d"}`,
		`sub/deeper/f.json:1:{"f":"f"}`,
		`sub/e.JSONL.GZ:1:{"f":"e"}`,
		`sub.json:1:{"f":"sub.json"}`,
		`z-link.json:1:{"f":"a"}`,
	})
	var fe *FileError
	if len(errs) != 1 || !errors.As(errs[0], &fe) || filepath.Base(fe.File) != "y-dangling.json" || !errors.Is(errs[0], fs.ErrNotExist) {
		t.Errorf("errors %v, want one FileError for the dangling link", errs)
	}
}

// A file named explicitly is read whatever its name, its format and
// compression sniffed from the content.
func TestExplicitFilesSniffed(t *testing.T) {
	dir := t.TempDir()
	paths := []string{
		writeFile(t, dir, "events.log", []byte("{\"n\":1}\n{\"n\":2}")),
		writeFile(t, dir, "compressed.json", gz(t, []byte(`[{"n":3}]`))),
		writeFile(t, dir, "plain.json.gz", []byte(`{"n":4}`)),
		writeFile(t, dir, "noext", gz(t, []byte("{\n\"n\":5\n}"))),
	}
	evs, errs, err := ReadAll(paths)
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%s:%d:%s", filepath.Base(ev.File), ev.Line, ev.Raw))
	}
	equal(t, got, []string{`events.log:1:{"n":1}`, `events.log:2:{"n":2}`, `compressed.json:1:{"n":3}`, `plain.json.gz:1:{"n":4}`, "noext:1:{\n\"n\":5\n}"})
}

func TestDuplicatePathsReadOnce(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "a.json", []byte(`{}`))
	evs, _, err := ReadAll([]string{dir, p, filepath.Join(dir, ".", "a.json")})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Errorf("read %d events, want 1", len(evs))
	}
}

func TestOpenMissingPath(t *testing.T) {
	dir := t.TempDir()
	ok := writeFile(t, dir, "a.json", []byte(`{}`))
	r, err := Open([]string{ok, filepath.Join(dir, "nope.json"), filepath.Join(dir, "nope-dir")})
	if err == nil {
		r.Close()
		t.Fatal("Open succeeded with missing paths")
	}
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.json: ") || !strings.Contains(err.Error(), "nope-dir: ") {
		t.Errorf("error %q should name both missing paths and be ErrNotExist", err)
	}
	if _, err := Open(nil); err == nil {
		t.Error("Open(nil) succeeded")
	}
}

func TestTruncatedGzip(t *testing.T) {
	dir := t.TempDir()
	var lines bytes.Buffer
	for i := range 5000 {
		fmt.Fprintf(&lines, "{\"i\":%d,\"pad\":\"%s\"}\n", i, strings.Repeat("x", i%50))
	}
	full := gz(t, lines.Bytes())
	bad := writeFile(t, dir, "a.jsonl.gz", full[:len(full)/2])
	header := writeFile(t, dir, "b.jsonl.gz", []byte{0x1f, 0x8b, 0x08})
	good := writeFile(t, dir, "c.jsonl", []byte(`{"i":"last"}`))

	r, err := Open([]string{bad, header, good})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var n int
	var errs []error
	var last Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ev.File == bad {
			if ev.Line != n+1 {
				t.Fatalf("event %d on line %d", n, ev.Line)
			}
			n++
		}
		last = ev
	}
	if n == 0 || n >= 5000 {
		t.Errorf("read %d events before the truncation", n)
	}
	if len(errs) != 2 {
		t.Fatalf("errors %v, want two", errs)
	}
	var fe *FileError
	if !errors.As(errs[0], &fe) || fe.File != bad || !errors.Is(errs[0], io.ErrUnexpectedEOF) {
		t.Errorf("error %v, want a FileError for %s", errs[0], bad)
	}
	if want := fmt.Sprintf("%s: decompressing line %d: unexpected EOF", bad, n+1); errs[0].Error() != want {
		t.Errorf("message %q, want %q", errs[0], want)
	}
	if !errors.As(errs[1], &fe) || fe.File != header {
		t.Errorf("error %v, want a FileError for %s", errs[1], header)
	}
	if last.File != good {
		t.Errorf("last event from %s, want %s", last.File, good)
	}
	p := r.Progress()
	if p.ReadBytes != p.TotalBytes || p.FilesDone != 3 || p.Errors != 2 {
		t.Errorf("progress %+v", p)
	}
}

func TestHugeValues(t *testing.T) {
	dir := t.TempDir()
	big := `{"big":"` + strings.Repeat("é\\\"x", 5<<20/4) + `","n":1}`
	jsonl := writeFile(t, dir, "a.jsonl", []byte("{\"n\":0}\n"+big+"\n{\"n\":2}\n"))
	array := writeFile(t, dir, "b.json", []byte("[\n"+big+",\n"+big+"\n]"))
	single := writeFile(t, dir, "c.json", []byte(big))
	evs, errs, err := ReadAll([]string{jsonl, array, single})
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	want := []struct {
		line int
		size int
	}{{1, 7}, {2, len(big)}, {3, 7}, {2, len(big)}, {3, len(big)}, {1, len(big)}}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d", len(evs), len(want))
	}
	for i, w := range want {
		if evs[i].Line != w.line || len(evs[i].Raw) != w.size {
			t.Errorf("event %d: line %d size %d, want line %d size %d", i, evs[i].Line, len(evs[i].Raw), w.line, w.size)
		}
	}
	if !bytes.Equal(evs[1].Raw, []byte(big)) {
		t.Error("huge event changed")
	}
}

func TestTooLarge(t *testing.T) {
	defer func(n int) { maxEventSize = n }(maxEventSize)
	maxEventSize = 100 << 10
	big := `{"big":"` + strings.Repeat("x", 300<<10) + `"}`
	dir := t.TempDir()
	equal(t, readOne(t, writeFile(t, dir, "a.jsonl", []byte("{\"n\":1}\n"+big+"\n{\"n\":3}"))), []string{
		`1:{"n":1}`,
		`ERR a.jsonl:2: event larger than the 102400 byte limit; skipped`,
		`3:{"n":3}`,
	})
	equal(t, readOne(t, writeFile(t, dir, "b.json", []byte("[{\"n\":1},\n"+big+",\n{\"n\":3}]"))), []string{
		`1:{"n":1}`,
		`ERR b.json:2: event larger than the 102400 byte limit; skipped`,
		`3:{"n":3}`,
	})
}

func TestProgress(t *testing.T) {
	dir := t.TempDir()
	var lines bytes.Buffer
	for i := range 20000 {
		fmt.Fprintf(&lines, "{\"i\":%d}\n", i)
	}
	lines.WriteString("oops\n")
	a := writeFile(t, dir, "a.jsonl", lines.Bytes())
	b := writeFile(t, dir, "b.jsonl.gz", gz(t, lines.Bytes()))
	var total int64
	for _, p := range []string{a, b} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	r, err := Open([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if p := r.Progress(); p.TotalBytes != total || p.Files != 2 || p.ReadBytes != 0 {
		t.Fatalf("progress before reading %+v, want TotalBytes %d", p, total)
	}

	// A progress bar polls from another goroutine; -race checks this.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var prev Progress
		for {
			select {
			case <-stop:
				return
			default:
			}
			p := r.Progress()
			if p.ReadBytes < prev.ReadBytes || p.Events < prev.Events || p.ReadBytes > p.TotalBytes {
				t.Errorf("progress went from %+v to %+v", prev, p)
				return
			}
			prev = p
		}
	})
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
	}
	close(stop)
	wg.Wait()
	want := Progress{Files: 2, FilesDone: 2, TotalBytes: total, ReadBytes: total, Events: 40000, Errors: 2}
	if p := r.Progress(); p != want {
		t.Errorf("progress at the end %+v, want %+v", p, want)
	}
}

func TestCloseAndEOF(t *testing.T) {
	p := writeFile(t, t.TempDir(), "a.json", []byte(`{}`))
	r, err := Open([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("Next at the end: %v", err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != ErrClosed {
		t.Fatalf("Next after Close: %v", err)
	}
}

// Reading allocates the copy of each event and nothing else.
func TestAllocsPerEvent(t *testing.T) {
	dir := t.TempDir()
	var lines, array bytes.Buffer
	array.WriteString("[\n")
	for i := range 3000 {
		fmt.Fprintf(&lines, "{\"i\":%d,\"s\":\"%s\"}\n", i, strings.Repeat("y", i%300))
		fmt.Fprintf(&array, "  {\"i\": %d, \"s\": \"%s\"},\n", i, strings.Repeat("y", i%300))
	}
	array.WriteString("  {}\n]\n")
	for _, p := range []string{
		writeFile(t, dir, "a.jsonl", lines.Bytes()),
		writeFile(t, dir, "b.jsonl.gz", gz(t, lines.Bytes())),
		writeFile(t, dir, "c.json", array.Bytes()),
	} {
		r, err := Open([]string{p})
		if err != nil {
			t.Fatal(err)
		}
		for range 100 { // let buffers reach their size
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(2000, func() {
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("%s: %v allocs per event", filepath.Base(p), allocs)
		if allocs > 1 {
			t.Errorf("%s: %v allocations per event, want 1", filepath.Base(p), allocs)
		}
		r.Close()
	}
}

// FuzzScanner checks that reading any input ends, yields only valid JSON
// objects, and on valid JSON yields what encoding/json finds, whatever the
// buffer size.
func FuzzScanner(f *testing.F) {
	for _, tc := range formatCases {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte("[\n{\"a\":[1,{\"b\":\"]\\\"\"}]}, 2, {\"c\":{}}\n]"))
	f.Add([]byte("{\"a\":1}\n{\"b\":\n2}\n[{\"c\":3}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want [][]byte
		check := json.Valid(data)
		if check {
			trimmed := bytes.TrimSpace(data)
			var elems []json.RawMessage
			switch {
			case trimmed[0] == '{':
				want = append(want, trimmed)
			case json.Unmarshal(data, &elems) == nil:
				for _, e := range elems {
					if e[0] == '{' {
						want = append(want, e)
					}
				}
			}
		}
		for _, size := range []int{4, 7, 64, bufSize} {
			s := scanner{buf: make([]byte, size)}
			s.reset(bytes.NewReader(data))
			var got [][]byte
			for i := 0; ; i++ {
				if i > 2*len(data)+10 { // each call consumes a byte, or reports a missing comma and then does
					t.Fatalf("scanner does not end on %q", data)
				}
				v, line, err := s.next()
				if err == io.EOF {
					break
				}
				if line < 1 || line > bytes.Count(data, nl)+1 {
					t.Fatalf("line %d out of range in %q", line, data)
				}
				if err != nil {
					continue
				}
				if !json.Valid(v) || v[0] != '{' {
					t.Fatalf("event %q from %q is not a JSON object", v, data)
				}
				got = append(got, bytes.Clone(v))
			}
			// Small buffers may take a pretty-printed object's long first
			// line for JSONL: only arrays read the same with any buffer.
			if !check || size < len(data) && bytes.TrimSpace(data)[0] == '{' {
				continue
			}
			if len(got) != len(want) {
				t.Fatalf("%d-byte buffer: %d events from %q, want %d", size, len(got), data, len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("%d-byte buffer: event %d is %q, want %q", size, i, got[i], want[i])
				}
			}
		}
	})
}

func TestNestingLimit(t *testing.T) {
	// With the object around it, this is exactly encoding/json's limit.
	deep := strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1)
	p := writeFile(t, t.TempDir(), "deep.json", []byte(`[{"a":`+deep+"},\n{\"a\":["+deep+"]}, {}]"))
	got := readOne(t, p)
	if len(got) != 2 || got[0] != `1:{"a":`+deep+"}" {
		t.Fatalf("got %d results, want the first element then an error", len(got))
	}
	equal(t, got[1:], []string{"ERR deep.json:2: invalid JSON: nested deeper than 10000; rest of file skipped"})
}
