package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/theme"
)

func TestShowsHighlightedSourceWithTheErrorLine(t *testing.T) {
	dir := t.TempDir()
	py := filepath.Join(dir, "r.py")
	var src strings.Builder
	for i := 1; i <= 40; i++ {
		src.WriteString("x = 1\n")
	}
	src.WriteString("def dedup(event):\n    return event['nope']\n")
	os.WriteFile(py, []byte(src.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "r.yml"), []byte("RuleID: R\n"), 0o644)
	d := &repo.Detection{ID: "R", PythonFile: py, SpecFile: filepath.Join(dir, "r.yml")}

	m := New(theme.Monochrome())
	m.SetRoot(dir)
	m.SetSize(40, 10)
	cmd := m.SetDetection(d)
	if !strings.Contains(m.View(), "reading r.py") {
		t.Fatalf("before the file is read: %q", m.View())
	}
	m, _ = m.Update(cmd())
	m.SetErrorLine(42)
	view := m.View()
	if !strings.Contains(view, "▶42     return event['nope']") {
		t.Fatalf("error line not marked or not scrolled to:\n%s", view)
	}
	if m.Info() != "▶ line 42 · r.py" || m.File() != "r.py" {
		t.Errorf("info %q file %q", m.Info(), m.File())
	}
	// A cached file is not read again.
	if m.SetDetection(d)() != nil {
		t.Error("an unchanged file was re-read")
	}
	// y shows the spec; x goes back to the error.
	m, cmd = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'y'}})
	m, _ = m.Update(cmd())
	if v := m.View(); !strings.Contains(v, "RuleID: R") {
		t.Fatalf("spec view:\n%s", v)
	}
	m, cmd = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'x'}})
	if cmd != nil {
		if msg := cmd(); msg != nil {
			m, _ = m.Update(msg)
		}
	}
	if v := m.View(); !strings.Contains(v, "▶42") {
		t.Fatalf("x returns to the error line:\n%s", v)
	}
}
