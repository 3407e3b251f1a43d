package scroll

import (
	"reflect"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

func TestListKeepsCursorVisible(t *testing.T) {
	var l List
	l.SetHeight(3)
	l.SetLen(10)
	l.Move(5)
	if start, end := l.Visible(); l.Cursor != 5 || start != 3 || end != 6 {
		t.Fatalf("cursor %d window [%d,%d), want 5 [3,6)", l.Cursor, start, end)
	}
	l.Move(-100)
	if l.Cursor != 0 || l.Offset != 0 {
		t.Fatalf("cursor %d offset %d after moving past the top", l.Cursor, l.Offset)
	}
	l.Select(9)
	l.SetLen(4) // rows removed under the window
	if start, end := l.Visible(); l.Cursor != 3 || start != 1 || end != 4 {
		t.Fatalf("after shrinking: cursor %d window [%d,%d)", l.Cursor, start, end)
	}
	l.SetLen(0)
	if start, end := l.Visible(); start != 0 || end != 0 {
		t.Fatalf("empty list shows [%d,%d)", start, end)
	}
}

func TestViewScrollsWithinContent(t *testing.T) {
	v := View{}
	v.SetHeight(2)
	v.SetLines([]string{"a", "b", "c", "d"}, false)
	v.Scroll(10)
	if got := v.Visible(); !reflect.DeepEqual(got, []string{"c", "d"}) {
		t.Fatalf("visible %q after scrolling past the end", got)
	}
	if v.More() != 0 {
		t.Fatalf("More = %d at the bottom", v.More())
	}
	v.Center(0)
	if got := v.Visible(); !reflect.DeepEqual(got, []string{"a", "b"}) || v.More() != 2 {
		t.Fatalf("centred on the first line: %q, %d more", got, v.More())
	}
	v.SetLines([]string{"x"}, true)
	if got := v.Visible(); !reflect.DeepEqual(got, []string{"x"}) {
		t.Fatalf("refreshed content: %q", got)
	}
}

func TestNavigate(t *testing.T) {
	press := func(s string) tea.KeyMsg {
		switch s {
		case "end":
			return tea.KeyMsg{Type: tea.KeyEnd}
		case "pgdown":
			return tea.KeyMsg{Type: tea.KeyPgDown}
		}
		return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
	}
	l := List{Len: 50, Height: 10}
	k := ListKeys()
	for _, step := range []struct {
		key    string
		moved  bool
		cursor int
	}{{"j", true, 1}, {"pgdown", true, 10}, {"end", true, 49}, {"g", true, 0}, {"k", true, 0}, {"x", false, 0}, {" ", false, 0}} {
		if got := l.Navigate(k, press(step.key)); got != step.moved || l.Cursor != step.cursor {
			t.Errorf("list %q: moved %v cursor %d, want %v %d", step.key, got, l.Cursor, step.moved, step.cursor)
		}
	}
	lines := make([]string, 30)
	v := View{}
	v.SetLines(lines, false)
	v.SetHeight(10)
	if !v.Navigate(ViewKeys(), press(" ")) || v.Offset != 9 {
		t.Errorf("space pages a view down: offset %d, want 9", v.Offset)
	}
	if !v.Navigate(ViewKeys(), press("G")) || v.Offset != 20 {
		t.Errorf("G: offset %d, want 20", v.Offset)
	}
}
