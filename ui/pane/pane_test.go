package pane

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/rulebench/rulebench/ui/theme"
)

func TestRenderIsExactlyItsSize(t *testing.T) {
	st := theme.Monochrome()
	for _, f := range []Frame{
		{Title: "Rules", Info: "10", Body: "a\nb", Width: 20, Height: 5},
		{Title: "A very long title that cannot fit", Info: "and info too", Body: strings.Repeat("x", 50), Width: 16, Height: 3, Focused: true},
		{Title: "", Body: "", Width: 4, Height: 2},
	} {
		out := Render(st, f)
		lines := strings.Split(out, "\n")
		if len(lines) != f.Height {
			t.Errorf("%q: %d lines, want %d:\n%s", f.Title, len(lines), f.Height, out)
		}
		for _, l := range lines {
			if w := ansi.StringWidth(l); w != f.Width {
				t.Errorf("%q: line %q is %d wide, want %d", f.Title, l, w, f.Width)
			}
		}
	}
	out := Render(st, Frame{Title: "Rules", Info: "10", Body: "row", Width: 20, Height: 3})
	if !strings.HasPrefix(out, "╭─ Rules ─") || !strings.Contains(out, " 10 ─╮") || !strings.Contains(out, "│row") {
		t.Errorf("frame:\n%s", out)
	}
}

func TestFitAndHangWrap(t *testing.T) {
	if got := Fit("abcdef", 4); got != "abc…" {
		t.Errorf("Fit cut = %q", got)
	}
	if got := Fit("ab", 4); got != "ab  " {
		t.Errorf("Fit pad = %q", got)
	}
	got := HangWrap(`    "key": "0123456789abcdef"`, 16)
	want := []string{`    "key": "0123`, `      456789abcd`, `      ef"`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("HangWrap = %q, want %q", got, want)
	}
	for _, l := range got {
		if ansi.StringWidth(l) > 16 {
			t.Errorf("piece %q wider than 16", l)
		}
	}
}

func TestCleanEscapesControlCharacters(t *testing.T) {
	if got := Clean("ok\n\x1b[31mred\x07\tx"); got != "ok\n\\x1b[31mred\\x07    x" {
		t.Errorf("Clean = %q", got)
	}
	if s := "plain ✓ text"; Clean(s) != s {
		t.Error("clean text changed")
	}
}

func TestWrapIndent(t *testing.T) {
	got := WrapIndent("expires 2024-05-02 15:30:00 expired 2h30m ago", 30, 2)
	want := []string{"expires 2024-05-02 15:30:00", "  expired 2h30m ago"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("WrapIndent = %q", got)
	}
}
