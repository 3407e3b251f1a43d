// Package pane draws the workbench's bordered panes: a rounded frame with
// the pane's title set into its top edge, and bodies cut to fit exactly, so
// panes placed side by side always line up.
package pane

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/rulebench/rulebench/ui/theme"
)

// Frame is one pane to draw. Width and Height are its outer size.
type Frame struct {
	// Title is set into the top border (it may carry its own styles).
	Title string
	// Info is set into the top border on the right, muted.
	Info    string
	Body    string
	Width   int
	Height  int
	Focused bool
}

// Render draws f. Lines of the body longer than the pane are cut with an
// ellipsis; missing lines are blank.
func Render(st theme.Styles, f Frame) string {
	if f.Width < 4 || f.Height < 2 {
		return ""
	}
	border := st.Border
	if f.Focused {
		border = st.BorderFocused
	}
	inner := f.Width - 2
	var b strings.Builder
	b.WriteString(top(st, border, f.Title, f.Info, inner))
	lines := strings.Split(f.Body, "\n")
	side := border.Render("│")
	for i := 0; i < f.Height-2; i++ {
		line := ""
		if i < len(lines) {
			line = lines[i]
		}
		b.WriteString("\n")
		b.WriteString(side)
		b.WriteString(Fit(line, inner))
		b.WriteString(side)
	}
	b.WriteString("\n")
	b.WriteString(border.Render("╰" + strings.Repeat("─", inner) + "╯"))
	return b.String()
}

func top(st theme.Styles, border lipgloss.Style, title, info string, inner int) string {
	// ╭─ title ──── info ─╮: the title gets the room first; the info is
	// dropped before the title is cut.
	if info != "" {
		info = " " + info + " "
	}
	title = " " + title + " "
	if ansi.StringWidth(title)+ansi.StringWidth(info)+3 > inner {
		info = ""
	}
	extra := 0
	if info != "" {
		extra = 1
	}
	if room := inner - 2 - ansi.StringWidth(info) - extra; ansi.StringWidth(title) > room {
		title = ansi.Truncate(title, max(room-1, 0), "…") + " "
		if room < 2 {
			title = ""
		}
	}
	fill := inner - 1 - ansi.StringWidth(title) - ansi.StringWidth(info) - extra
	var b strings.Builder
	b.WriteString(border.Render("╭─"))
	b.WriteString(title)
	b.WriteString(border.Render(strings.Repeat("─", max(fill, 0))))
	if info != "" {
		b.WriteString(st.Muted.Render(info))
		b.WriteString(border.Render("─"))
	}
	b.WriteString(border.Render("╮"))
	return b.String()
}

// Fit cuts s to width cells (ending in "…" when cut) and pads it with
// spaces to exactly width.
func Fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	w := ansi.StringWidth(s)
	if w > width {
		return ansi.Truncate(s, width, "…")
	}
	return s + strings.Repeat(" ", width-w)
}

// Tabs renders pane names as a title, the active one in the title style and
// the others dimmed, so a pane that switches content says what else it has.
func Tabs(st theme.Styles, names []string, active int, focused bool) string {
	parts := make([]string, len(names))
	for i, n := range names {
		switch {
		case i == active && focused:
			parts[i] = st.TitleFocused.Render(n)
		case i == active:
			parts[i] = st.Title.Render(n)
		default:
			parts[i] = st.TabDim.Render(n)
		}
	}
	return strings.Join(parts, st.TabDim.Render(" · "))
}

// Title renders a single pane name in the title style.
func Title(st theme.Styles, name string, focused bool) string {
	if focused {
		return st.TitleFocused.Render(name)
	}
	return st.Title.Render(name)
}

// HangWrap cuts a styled line into pieces of width cells; pieces after the
// first are indented two cells deeper than the line.
func HangWrap(line string, width int) []string {
	if ansi.StringWidth(line) <= width {
		return []string{line}
	}
	plain := ansi.Strip(line)
	indent := min(len(plain)-len(strings.TrimLeft(plain, " "))+2, width/2)
	out := []string{ansi.Truncate(line, width, "")}
	rest := ansi.TruncateLeft(line, width, "")
	step := max(width-indent, 1)
	for ansi.StringWidth(rest) > 0 {
		out = append(out, strings.Repeat(" ", indent)+ansi.Truncate(rest, step, ""))
		rest = ansi.TruncateLeft(rest, step, "")
	}
	return out
}

// Clean makes text from outside (log events, rule output, cache keys) safe
// to draw: control characters, which a terminal would act on, are shown
// escaped, and tabs become spaces. Newlines are kept.
func Clean(s string) string {
	clean := true
	for _, r := range s {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteString("    ")
		case r == '\n':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// WrapIndent word-wraps a styled line to width, breaking words longer than
// a line, and indents the lines after the first by indent cells.
func WrapIndent(line string, width, indent int) []string {
	if ansi.StringWidth(line) <= width {
		return []string{line}
	}
	indent = min(indent, width/2)
	first := strings.SplitN(ansi.Wrap(line, width, ""), "\n", 2)
	out := []string{first[0]}
	if len(first) == 1 {
		return out
	}
	// The rest is cut from the styled line after the first line's cells
	// and the spaces at the break (measuring what Wrap left would miss the
	// spaces it dropped at later breaks), then wrapped at the narrower
	// width.
	rest := ansi.TruncateLeft(line, ansi.StringWidth(first[0]), "")
	plain := ansi.Strip(rest)
	rest = ansi.TruncateLeft(rest, len(plain)-len(strings.TrimLeft(plain, " ")), "")
	for _, l := range strings.Split(ansi.Wrap(rest, max(width-indent, 1), ""), "\n") {
		out = append(out, strings.Repeat(" ", indent)+l)
	}
	return out
}
