package theme

import (
	"io"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Glyphs the workbench draws. Every state has one, so the interface still
// reads on a terminal without colour (and in golden files).
const (
	GlyphPass      = "✓"
	GlyphFail      = "✗"
	GlyphNotRun    = "·"
	GlyphAlert     = "●"
	GlyphQuiet     = "○"
	GlyphError     = "!"
	GlyphCursor    = "▸"
	GlyphErrorLine = "▶"
	GlyphChanged   = "*"
	GlyphDiff      = "≠"
	GlyphBarFull   = "█"
	GlyphBarEmpty  = "░"
	GlyphWarn      = "⚠"
	GlyphArrow     = "→"
	GlyphRule      = "─"
)

// CodeClass is what a highlighted token is; Styles.Code gives its style.
type CodeClass int

// Token classes, coarse on purpose: a handful of colours reads better than
// Pygments' hundred.
const (
	CodePlain CodeClass = iota
	CodeKeyword
	CodeConstant // True, False, None; JSON true/false/null
	CodeFunction
	CodeClassName
	CodeBuiltin
	CodeDecorator
	CodeString
	CodeNumber
	CodeComment
	CodeOperator
	CodeKey // JSON object keys, YAML keys
	codeClasses
)

// Styles are the workbench's styles, bound to one renderer (and so to one
// colour profile and background).
type Styles struct {
	Header, HeaderDim           lipgloss.Style
	Border, BorderFocused       lipgloss.Style
	Title, TitleFocused, TabDim lipgloss.Style
	Selected, SelectedBlur      lipgloss.Style

	Text, Muted, Bold, Accent lipgloss.Style
	Pass, Fail, Warn, Magenta lipgloss.Style
	Label, Group, Diff        lipgloss.Style

	// Cache inspector.
	Changed, Expired lipgloss.Style

	// Source view.
	LineNumber, ErrorLine, ErrorMarker lipgloss.Style

	// Replay view: the progress bar's done and remaining parts.
	BarFull, BarDone, BarEmpty lipgloss.Style

	Status, StatusError lipgloss.Style
	Help                help.Styles

	code     [codeClasses]lipgloss.Style
	codeErr  [codeClasses]lipgloss.Style
	severity map[string]lipgloss.Style
}

// Default returns the styles for the terminal the program draws on.
func Default() Styles { return New(lipgloss.DefaultRenderer()) }

// Monochrome returns styles that draw no colour or attribute at all: the
// glyphs alone carry state. Tests and golden files use it.
func Monochrome() Styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return New(r)
}

// New returns the styles drawn by r.
func New(r *lipgloss.Renderer) Styles {
	st := r.NewStyle
	s := Styles{
		Header:        st().Foreground(Accent).Bold(true),
		HeaderDim:     st().Foreground(Muted),
		Border:        st().Foreground(Subtle),
		BorderFocused: st().Foreground(Accent),
		Title:         st().Foreground(Fg).Bold(true),
		TitleFocused:  st().Foreground(Accent).Bold(true),
		TabDim:        st().Foreground(Muted),
		Selected:      st().Background(SelectionBg).Foreground(Fg).Bold(true),
		SelectedBlur:  st().Background(SelectionBg),

		Text:    st().Foreground(Fg),
		Muted:   st().Foreground(Muted),
		Bold:    st().Bold(true),
		Accent:  st().Foreground(Accent),
		Pass:    st().Foreground(Pass).Bold(true),
		Fail:    st().Foreground(Fail).Bold(true),
		Warn:    st().Foreground(Warn),
		Magenta: st().Foreground(Magenta),
		Label:   st().Foreground(Muted),
		Group:   st().Foreground(Cyan).Bold(true),
		Diff:    st().Foreground(Warn).Bold(true),

		Changed: st().Foreground(Warn).Bold(true),
		Expired: st().Foreground(Muted).Strikethrough(true),

		LineNumber:  st().Foreground(Muted),
		ErrorLine:   st().Background(ErrorLineBg),
		ErrorMarker: st().Foreground(Fail).Background(ErrorLineBg).Bold(true),

		BarFull:  st().Foreground(Accent),
		BarDone:  st().Foreground(Pass),
		BarEmpty: st().Foreground(Subtle),

		Status:      st().Foreground(Muted),
		StatusError: st().Foreground(Fail),
	}
	s.Help = help.Styles{
		Ellipsis:       st().Foreground(Muted),
		ShortKey:       st().Foreground(Accent),
		ShortDesc:      st().Foreground(Muted),
		ShortSeparator: st().Foreground(Subtle),
		FullKey:        st().Foreground(Accent),
		FullDesc:       st().Foreground(Muted),
		FullSeparator:  st().Foreground(Subtle),
	}
	s.code = [codeClasses]lipgloss.Style{
		CodePlain:     st().Foreground(Fg),
		CodeKeyword:   st().Foreground(Magenta),
		CodeConstant:  st().Foreground(Accent),
		CodeFunction:  st().Foreground(Accent).Bold(true),
		CodeClassName: st().Foreground(Warn).Bold(true),
		CodeBuiltin:   st().Foreground(Cyan),
		CodeDecorator: st().Foreground(Warn),
		CodeString:    st().Foreground(Pass),
		CodeNumber:    st().Foreground(Accent),
		CodeComment:   st().Foreground(Muted).Italic(true),
		CodeOperator:  st().Foreground(Fail),
		CodeKey:       st().Foreground(Cyan),
	}
	for i, c := range s.code {
		s.codeErr[i] = c.Background(ErrorLineBg)
	}
	s.severity = map[string]lipgloss.Style{
		"INFO":     st().Foreground(Muted),
		"LOW":      st().Foreground(Accent),
		"MEDIUM":   st().Foreground(Warn),
		"HIGH":     st().Foreground(Fail),
		"CRITICAL": st().Foreground(Magenta).Bold(true),
	}
	return s
}

// Code is the style of a token; onErrorLine adds the error line's background
// so a highlighted line stays one band across its tokens.
func (s Styles) Code(c CodeClass, onErrorLine bool) lipgloss.Style {
	if c < 0 || c >= codeClasses {
		c = CodePlain
	}
	if onErrorLine {
		return s.codeErr[c]
	}
	return s.code[c]
}

// Severity is the style for a level, in any case ("High", "HIGH").
func (s Styles) Severity(level string) lipgloss.Style {
	if st, ok := s.severity[strings.ToUpper(level)]; ok {
		return st
	}
	return s.Text
}

// SeverityLabel is the four-letter column form of a level.
func SeverityLabel(level string) string {
	switch strings.ToUpper(level) {
	case "INFO":
		return "INFO"
	case "LOW":
		return "LOW "
	case "MEDIUM":
		return "MED "
	case "HIGH":
		return "HIGH"
	case "CRITICAL":
		return "CRIT"
	}
	return "    "
}
