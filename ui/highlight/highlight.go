// Package highlight turns source code and JSON into lines of classified
// spans. It knows nothing of colours: callers render spans with the theme,
// so one line can be restyled (the line an error points at) without
// tokenising again.
package highlight

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/alecthomas/chroma/v2"
	"github.com/alecthomas/chroma/v2/lexers"

	"github.com/rulebench/rulebench/ui/pane"
	"github.com/rulebench/rulebench/ui/theme"
)

// Span is a run of text of one class.
type Span struct {
	Text  string
	Class theme.CodeClass
}

// Line is one line of text, without its newline.
type Line []Span

// Text is the line without styles.
func (l Line) Text() string {
	var b strings.Builder
	for _, s := range l {
		b.WriteString(s.Text)
	}
	return b.String()
}

// Render draws the line; onErrorLine gives every span the error background.
// Control characters (a source file can hold anything) are shown escaped.
func (l Line) Render(st theme.Styles, onErrorLine bool) string {
	var b strings.Builder
	for _, s := range l {
		b.WriteString(st.Code(s.Class, onErrorLine).Render(pane.Clean(s.Text)))
	}
	return b.String()
}

// Code tokenises src as lang ("python", "yaml", ...) with Chroma. An unknown
// language gives plain lines. Chroma's lexers are regular expressions and
// take milliseconds per hundred lines: call it from a command, not from
// Update.
func Code(lang, src string) []Line {
	src = strings.ReplaceAll(src, "\t", "    ")
	src = strings.ReplaceAll(src, "\r\n", "\n")
	lexer := lexers.Get(lang)
	if lexer == nil {
		return plainLines(src)
	}
	it, err := chroma.Coalesce(lexer).Tokenise(nil, src)
	if err != nil {
		return plainLines(src)
	}
	lines := []Line{nil}
	for tok := it(); tok != chroma.EOF; tok = it() {
		class := classOf(tok.Type)
		parts := strings.Split(tok.Value, "\n")
		for i, p := range parts {
			if i > 0 {
				lines = append(lines, nil)
			}
			if p != "" {
				lines[len(lines)-1] = append(lines[len(lines)-1], Span{Text: p, Class: class})
			}
		}
	}
	// Chroma ends the text with a newline of its own.
	if len(lines) > 1 && len(lines[len(lines)-1]) == 0 && !strings.HasSuffix(src, "\n\n") {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func plainLines(src string) []Line {
	src = strings.TrimSuffix(src, "\n")
	var out []Line
	for _, l := range strings.Split(src, "\n") {
		out = append(out, Line{{Text: l}})
	}
	return out
}

func classOf(t chroma.TokenType) theme.CodeClass {
	switch {
	case t == chroma.KeywordConstant:
		return theme.CodeConstant
	case t.InCategory(chroma.Keyword), t == chroma.OperatorWord:
		return theme.CodeKeyword
	case t == chroma.NameFunction, t == chroma.NameFunctionMagic:
		return theme.CodeFunction
	case t == chroma.NameClass:
		return theme.CodeClassName
	case t == chroma.NameBuiltin, t == chroma.NameBuiltinPseudo:
		return theme.CodeBuiltin
	case t == chroma.NameDecorator:
		return theme.CodeDecorator
	case t == chroma.NameTag:
		return theme.CodeKey
	case t.InSubCategory(chroma.LiteralString):
		return theme.CodeString
	case t.InSubCategory(chroma.LiteralNumber):
		return theme.CodeNumber
	case t.InCategory(chroma.Comment):
		return theme.CodeComment
	case t.InCategory(chroma.Operator):
		return theme.CodeOperator
	}
	return theme.CodePlain
}

// JSON pretty-prints raw (keeping its key order and number spelling) and
// classifies it. Invalid JSON comes back as plain text. JSON is tokenised by
// hand: it is linear, and alert contexts can be 200 KB.
func JSON(raw []byte) []Line {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
		return plainLines(string(raw))
	}
	var out []Line
	for _, l := range strings.Split(buf.String(), "\n") {
		out = append(out, jsonLine(l))
	}
	return out
}

// jsonLine classifies one line of indented JSON.
func jsonLine(s string) Line {
	var line Line
	add := func(text string, c theme.CodeClass) {
		if text != "" {
			line = append(line, Span{Text: text, Class: c})
		}
	}
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(s))
			class := theme.CodeString
			if rest := strings.TrimLeft(s[j:], " "); strings.HasPrefix(rest, ":") {
				class = theme.CodeKey
			}
			add(s[i:j], class)
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && strings.IndexByte("0123456789.eE+-", s[j]) >= 0 {
				j++
			}
			add(s[i:j], theme.CodeNumber)
			i = j
		case c == 't' || c == 'f' || c == 'n':
			j := i
			for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
				j++
			}
			add(s[i:j], theme.CodeConstant)
			i = max(j, i+1)
		default:
			j := i
			for j < len(s) && strings.IndexByte("\"-0123456789tfn", s[j]) < 0 {
				j++
			}
			add(s[i:j], theme.CodePlain)
			i = max(j, i+1)
		}
	}
	return line
}
