package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine/worker"
)

// MinSecretLength is the shortest value that is masked: shorter ones would
// blank out ordinary words and numbers everywhere.
const MinSecretLength = 4

// truncatedSuffix ends alert fields the harness cut short (runner.py).
const truncatedSuffix = "... (truncated)"

// Secrets masks secret values in everything the engine hands out: results
// (stdout, function outputs, alert fields and context, errors and
// tracebacks, cache and network traces) and import reports. Values come from
// fixtures, from the credentials handed to workers in real mode, and from
// secrets rule code received through real calls. Safe for concurrent use.
type Secrets struct {
	mu     sync.RWMutex
	names  map[string]string // value -> name
	plain  *strings.Replacer
	json   *strings.Replacer
	sorted []string // longest first
}

// NewSecrets returns an empty masker.
func NewSecrets() *Secrets { return &Secrets{names: map[string]string{}} }

// Add registers a secret value under name. A value that is a JSON object
// (Secrets Manager's key/value form) also registers each string in it,
// since rule code uses the fields, not the text. Values shorter than
// MinSecretLength are not masked; Add reports whether anything was added.
func (s *Secrets) Add(name, value string) bool {
	if s == nil {
		return false
	}
	found := map[string]string{}
	collectSecrets(name, value, found)
	s.mu.Lock()
	defer s.mu.Unlock()
	added := false
	for v, n := range found {
		if _, ok := s.names[v]; !ok {
			s.names[v] = n
			added = true
		}
	}
	if added {
		s.rebuild()
	}
	return added
}

func collectSecrets(name, value string, into map[string]string) {
	if len(value) >= MinSecretLength {
		into[value] = name
	}
	trimmed := strings.TrimSpace(value)
	if !strings.HasPrefix(trimmed, "{") {
		return
	}
	var obj map[string]any
	if json.Unmarshal([]byte(trimmed), &obj) != nil {
		return
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case string:
			if len(x) >= MinSecretLength {
				into[x] = prefix
			}
		case map[string]any:
			for k, val := range x {
				walk(prefix+"."+k, val)
			}
		case []any:
			for _, val := range x {
				walk(prefix, val)
			}
		}
	}
	walk(name, obj)
}

func (s *Secrets) rebuild() {
	s.sorted = s.sorted[:0]
	for v := range s.names {
		s.sorted = append(s.sorted, v)
	}
	// Longest first: strings.Replacer tries its pairs in order, and a
	// secret containing another must win.
	sort.Slice(s.sorted, func(i, j int) bool {
		if len(s.sorted[i]) != len(s.sorted[j]) {
			return len(s.sorted[i]) > len(s.sorted[j])
		}
		return s.sorted[i] < s.sorted[j]
	})
	var plain, inJSON []string
	seen := map[string]bool{}
	for _, v := range s.sorted {
		token := placeholder(s.names[v])
		plain = append(plain, v, token)
		for _, variant := range jsonForms(v) {
			if !seen[variant] {
				seen[variant] = true
				inJSON = append(inJSON, variant, token)
			}
		}
	}
	// Variants may be longer than the values they came from: order again.
	pairs := make([][2]string, 0, len(inJSON)/2)
	for i := 0; i < len(inJSON); i += 2 {
		pairs = append(pairs, [2]string{inJSON[i], inJSON[i+1]})
	}
	sort.SliceStable(pairs, func(i, j int) bool { return len(pairs[i][0]) > len(pairs[j][0]) })
	inJSON = inJSON[:0]
	for _, p := range pairs {
		inJSON = append(inJSON, p[0], p[1])
	}
	s.plain = strings.NewReplacer(plain...)
	s.json = strings.NewReplacer(inJSON...)
}

// placeholder is what a secret is replaced with. It is safe inside JSON
// strings (no quote or backslash) so raw JSON stays valid.
func placeholder(name string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case strings.ContainsRune("/_+=.@:-", r):
			return r
		}
		return '?'
	}, name)
	if clean == "" {
		clean = "secret"
	}
	return "[masked:" + clean + "]"
}

// jsonForms are the ways a value can appear inside JSON text: as Python's
// json.dumps writes it (with and without ensure_ascii, the harness uses
// both) and as Go's encoder does.
func jsonForms(v string) []string {
	forms := []string{v, pyJSON(v, false), pyJSON(v, true)}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		forms = append(forms, strings.TrimSuffix(strings.TrimSuffix(buf.String(), "\n"), `"`)[1:])
	}
	return forms
}

func pyJSON(v string, ascii bool) string {
	var b strings.Builder
	for _, r := range v {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20:
				fmt.Fprintf(&b, `\u%04x`, r)
			case ascii && r > 0x7e && r > 0xffff:
				r -= 0x10000
				fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			case ascii && r > 0x7e:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// Len is the number of values masked.
func (s *Secrets) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.names)
}

// Mask replaces every secret value in text.
func (s *Secrets) Mask(text string) string {
	if s == nil || text == "" {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.plain == nil {
		return text
	}
	return s.plain.Replace(text)
}

// MaskJSON replaces every secret value in JSON text, however it is escaped.
func (s *Secrets) MaskJSON(raw json.RawMessage) json.RawMessage {
	if s == nil || len(raw) == 0 {
		return raw
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.json == nil {
		return raw
	}
	out := s.json.Replace(string(raw))
	if out == string(raw) {
		return raw
	}
	return json.RawMessage(out)
}

// maskCut masks text that was cut short (a capture limit, a truncated
// title): besides whole values, a value's beginning at the cut is masked.
func (s *Secrets) maskCut(text, suffix string) string {
	text = s.Mask(text)
	if s == nil || !strings.HasSuffix(text, suffix) {
		return text
	}
	body := strings.TrimSuffix(text, suffix)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, v := range s.sorted {
		for k := len(v) - 1; k >= MinSecretLength; k-- {
			if !utf8.RuneStart(v[k]) {
				continue
			}
			if strings.HasSuffix(body, v[:k]) {
				return body[:len(body)-k] + placeholder(s.names[v]) + text[len(body):]
			}
		}
	}
	return text
}

func (s *Secrets) maskError(e *PyError) *PyError {
	if e == nil {
		return nil
	}
	c := *e
	c.Message = s.Mask(c.Message)
	c.Traceback = s.Mask(c.Traceback)
	c.File = s.Mask(c.File)
	return &c
}

// MaskResult masks a result in place. Results are masked once, as they
// are finished, before anyone sees them.
func (s *Secrets) MaskResult(r *Result) {
	if s.Len() == 0 || r == nil {
		return
	}
	r.Output = s.MaskJSON(r.Output)
	r.Error = s.maskError(r.Error)
	if r.StdoutTruncated > 0 {
		r.Stdout = s.maskCut(r.Stdout, "")
	} else {
		r.Stdout = s.Mask(r.Stdout)
	}
	if len(r.Functions) > 0 {
		fns := make(map[string]FunctionResult, len(r.Functions))
		for name, f := range r.Functions {
			f.Output = s.MaskJSON(f.Output)
			f.Error = s.maskError(f.Error)
			f.Warning = s.Mask(f.Warning)
			fns[name] = f
		}
		r.Functions = fns
	}
	if a := r.Alert; a != nil {
		c := *a
		c.Title = s.maskCut(c.Title, truncatedSuffix)
		c.Dedup = s.maskCut(c.Dedup, truncatedSuffix)
		c.Description = s.Mask(c.Description)
		c.Reference = s.Mask(c.Reference)
		c.Runbook = s.Mask(c.Runbook)
		if c.Destinations != nil {
			c.Destinations = append([]string(nil), c.Destinations...)
			for i := range c.Destinations {
				c.Destinations[i] = s.Mask(c.Destinations[i])
			}
		}
		c.AlertContext = s.MaskJSON(c.AlertContext)
		r.Alert = &c
	}
	for i := range r.CacheOps {
		r.CacheOps[i] = s.maskOp(r.CacheOps[i])
	}
	for i := range r.NetworkCalls {
		c := &r.NetworkCalls[i]
		c.Target, c.URL, c.Host, c.Error = s.Mask(c.Target), s.Mask(c.URL), s.Mask(c.Host), s.Mask(c.Error)
	}
}

func (s *Secrets) maskOp(op cache.Op) cache.Op {
	op.Key = s.Mask(op.Key)
	op.Args = s.MaskJSON(op.Args)
	op.Error = s.Mask(op.Error)
	op.Before.Item = s.maskItem(op.Before.Item)
	op.After.Item = s.maskItem(op.After.Item)
	switch v := op.Result.(type) {
	case string:
		op.Result = s.Mask(v)
	case *string:
		if v != nil {
			m := s.Mask(*v)
			op.Result = &m
		}
	case []string:
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = s.Mask(x)
		}
		op.Result = out
	}
	return op
}

func (s *Secrets) maskItem(it cache.Item) cache.Item {
	it.Key = s.Mask(it.Key)
	if it.StringSet != nil {
		set := make([]string, len(it.StringSet))
		for i, x := range it.StringSet {
			set[i] = s.Mask(x)
		}
		it.StringSet = set
	}
	if it.Dictionary != nil {
		d := string(s.MaskJSON(json.RawMessage(*it.Dictionary)))
		it.Dictionary = &d
	}
	return it
}

// maskLoad masks an import report.
func (s *Secrets) maskLoad(reply worker.LoadReply) worker.LoadReply {
	if s.Len() == 0 {
		return reply
	}
	reply.Stdout = s.Mask(reply.Stdout)
	reply.Error = s.maskError(reply.Error)
	if reply.NetworkCalls != nil {
		calls := append([]NetworkCall(nil), reply.NetworkCalls...)
		for i := range calls {
			c := &calls[i]
			c.Target, c.URL, c.Host, c.Error = s.Mask(c.Target), s.Mask(c.URL), s.Mask(c.Host), s.Mask(c.Error)
		}
		reply.NetworkCalls = calls
	}
	return reply
}
