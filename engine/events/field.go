package events

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Field returns the raw JSON value of the top-level key name of the object
// raw, without unmarshalling it: nested objects and arrays are skipped by
// bracket counting. It does not allocate.
//
// Keys are compared after JSON unescaping, as encoding/json and Python do,
// and when a key appears more than once the last value wins, as in both:
// routing on a different value than the rule sees would be a silent bug.
// For that, the whole object is always scanned.
//
// raw is expected to be valid JSON (events from a Reader are). On invalid
// input Field does not panic, but what it returns is unspecified.
func Field(raw []byte, name string) (value []byte, ok bool) {
	if !utf8.ValidString(name) {
		return nil, false // decoded keys are always valid UTF-8
	}
	// Invalid UTF-8 in a key decodes to U+FFFD, so such a key may match a
	// longer name; only then must shorter keys be decoded.
	decodeShort := strings.Contains(name, "\uFFFD")
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return nil, false
	}
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return nil, false
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return nil, false
		}
		ke := stringEnd(raw, i+1)
		if ke < 0 {
			return nil, false
		}
		key := raw[i+1 : ke]
		i = skipWS(raw, ke+1)
		if i >= len(raw) || raw[i] != ':' {
			return nil, false
		}
		i = skipWS(raw, i+1)
		ve := valueEnd(raw, i)
		if ve < 0 {
			return nil, false
		}
		if keyMatches(key, name, decodeShort) {
			value, ok = raw[i:ve], true
		}
		i = skipWS(raw, ve)
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case ',':
			i = skipWS(raw, i+1)
		case '}':
			return value, ok
		default:
			return nil, false
		}
	}
}

// keyMatches reports whether the raw key decodes to name, a valid UTF-8
// string, without decoding keys that cannot: escapes only make a key
// shorter, and a key without escapes decodes to itself unless it holds
// invalid UTF-8, which name cannot.
func keyMatches(key []byte, name string, decodeShort bool) bool {
	switch {
	case len(key) == len(name):
		if string(key) == name {
			// Equal bytes with a backslash means name has one too, which
			// the shorter decoded key cannot match.
			return bytes.IndexByte(key, '\\') < 0
		}
		return decodeShort && keyEqual(key, name)
	case len(key) > len(name):
		return bytes.IndexByte(key, '\\') >= 0 && keyEqual(key, name)
	default:
		return decodeShort && keyEqual(key, name)
	}
}

// StringField returns the top-level string value of key name, unescaped.
// It is false when the key is missing or its value is not a string.
func StringField(raw []byte, name string) (string, bool) {
	v, ok := Field(raw, name)
	if !ok || len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if inner := v[1 : len(v)-1]; isPlain(inner) {
		return string(inner), true
	}
	// Escapes or non-ASCII: rare in the fields this is for, so let
	// encoding/json apply its rules rather than repeat them.
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index of the quote closing the string whose
// contents start at b[i], or -1. b[i-1] must be the opening quote: it stops
// the backslash count. Strings are most of an event, and the vectorised
// IndexByte measured faster here than byte loops, plain or eight bytes at a
// time, even on the short strings of CloudTrail.
func stringEnd(b []byte, i int) int {
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return -1
		}
		q += i
		// The quote is escaped when an odd number of backslashes precede it.
		k := q - 1
		for b[k] == '\\' {
			k--
		}
		if (q-1-k)%2 == 0 {
			return q
		}
		i = q + 1
	}
}

// special marks the bytes that matter when skipping a nested value.
var special = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// valueEnd returns the index just past the value starting at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		if e := stringEnd(b, i+1); e >= 0 {
			return e + 1
		}
		return -1
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			if !special[b[j]] {
				continue
			}
			switch b[j] {
			case '"':
				e := stringEnd(b, j+1)
				if e < 0 {
					return -1
				}
				j = e
			case '{', '[':
				depth++
			default:
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if j == i {
				return -1
			}
			return j
		}
		j++
	}
	return j
}

func isPlain(b []byte) bool {
	for _, c := range b {
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// keyEqual reports whether the JSON string contents k decode to name, with
// encoding/json's rules: invalid UTF-8 and unpaired surrogates decode to
// U+FFFD.
func keyEqual(k []byte, name string) bool {
	var enc [utf8.UTFMax]byte
	for len(k) > 0 {
		var r rune
		switch c := k[0]; {
		case c == '\\':
			r = unescape(k)
			if r < 0 {
				return false
			}
			if k[1] != 'u' {
				k = k[2:]
				break
			}
			k = k[6:]
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(k) >= 6 && k[0] == '\\' && k[1] == 'u' {
					r2 = hex4(k[2:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					k = k[6:]
				} else {
					r = utf8.RuneError
				}
			}
		case c < utf8.RuneSelf:
			r = rune(c)
			k = k[1:]
		default:
			var size int
			r, size = utf8.DecodeRune(k)
			k = k[size:]
		}
		n := utf8.EncodeRune(enc[:], r)
		if len(name) < n || name[:n] != string(enc[:n]) {
			return false
		}
		name = name[n:]
	}
	return len(name) == 0
}

// unescape decodes the escape at the start of k (which starts with a
// backslash); a \u escape is decoded alone, surrogates are left to the
// caller. -1 if it is malformed.
func unescape(k []byte) rune {
	if len(k) < 2 {
		return -1
	}
	switch k[1] {
	case '"', '\\', '/', '\'':
		return rune(k[1])
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'u':
		return hex4(k[2:])
	}
	return -1
}

// hex4 decodes the 4 hex digits at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
