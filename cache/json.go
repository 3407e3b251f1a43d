package cache

import (
	"encoding/json"
	"strings"
)

// validPythonJSON reports whether Python's json.loads accepts text. It
// differs from encoding/json only in taking NaN, Infinity and -Infinity as
// numbers, which json.dumps writes for non-finite floats by default.
func validPythonJSON(text string) bool {
	if json.Valid([]byte(text)) {
		return true
	}
	if !strings.Contains(text, "NaN") && !strings.Contains(text, "Infinity") {
		return false
	}
	return json.Valid([]byte(replaceNonFinite(text)))
}

// replaceNonFinite swaps the non-finite literals outside strings for 0, so
// encoding/json can judge the rest. "-Infinity" becomes "-0".
func replaceNonFinite(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	inString, escaped := false, false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			b.WriteByte(c)
			continue
		}
		switch {
		case c == '"':
			inString = true
		case strings.HasPrefix(text[i:], "NaN"):
			b.WriteByte('0')
			i += len("NaN") - 1
			continue
		case strings.HasPrefix(text[i:], "Infinity"):
			b.WriteByte('0')
			i += len("Infinity") - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// isJSONObject reports whether text is a JSON object, the only thing
// json.dumps of a mapping produces.
func isJSONObject(text string) bool {
	t := strings.TrimLeft(text, " \t\r\n")
	return strings.HasPrefix(t, "{")
}
