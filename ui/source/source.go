// Package source is the workbench's source pane: a detection's Python (or
// its YAML spec) highlighted with Chroma, with the line an error points at
// marked and scrolled into view.
package source

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/highlight"
	"github.com/rulebench/rulebench/ui/pane"
	"github.com/rulebench/rulebench/ui/scroll"
	"github.com/rulebench/rulebench/ui/theme"
)

// LoadedMsg carries a file read and highlighted in the background.
type LoadedMsg struct {
	Path  string
	Stamp Stamp
	Lines []highlight.Line
	Err   error
}

// Stamp identifies a version of a file.
type Stamp struct {
	Size    int64
	ModTime time.Time
}

type file struct {
	stamp Stamp
	lines []highlight.Line
}

// Model is the source pane.
type Model struct {
	st   theme.Styles
	keys KeyMap

	det      *repo.Detection
	root     string
	showSpec bool
	path     string
	lines    []highlight.Line
	err      error
	// files caches highlighted files: Chroma is too slow to run on every
	// selection change. It is shared by copies of the model.
	files map[string]file

	errLine int
	view    scroll.View
	width   int
	height  int
	focused bool
}

// New returns an empty source pane.
func New(st theme.Styles) Model {
	return Model{st: st, keys: DefaultKeyMap(), files: map[string]file{}}
}

// SetRoot sets the repository root, to name files relative to it.
func (m *Model) SetRoot(root string) { m.root = root }

// SetDetection shows d's Python file (or spec) and returns the command
// that (re)reads it. A cached copy is shown at once.
func (m *Model) SetDetection(d *repo.Detection) tea.Cmd {
	same := m.det != nil && d != nil && m.det.ID == d.ID
	m.det = d
	if !same {
		m.errLine = 0
	}
	return m.show(same)
}

// Detection is the detection shown.
func (m Model) Detection() *repo.Detection { return m.det }

func (m *Model) show(keepOffset bool) tea.Cmd {
	path := ""
	if m.det != nil {
		path = m.det.PythonFile
		if m.showSpec || path == "" {
			path = m.det.SpecFile
		}
	}
	changed := path != m.path
	m.path = path
	if f, ok := m.files[path]; ok {
		m.lines, m.err = f.lines, nil
	} else if changed {
		m.lines, m.err = nil, nil
	}
	m.layout(keepOffset && !changed)
	if path == "" {
		return nil
	}
	var known Stamp
	if f, ok := m.files[path]; ok {
		known = f.stamp
	}
	return Load(path, known)
}

// Load reads and highlights path unless its stamp is still known.
func Load(path string, known Stamp) tea.Cmd {
	return func() tea.Msg {
		info, err := os.Stat(path)
		if err != nil {
			return LoadedMsg{Path: path, Err: err}
		}
		stamp := Stamp{Size: info.Size(), ModTime: info.ModTime()}
		if stamp == known {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return LoadedMsg{Path: path, Err: err}
		}
		lang := "python"
		if ext := strings.ToLower(filepath.Ext(path)); ext == ".yml" || ext == ".yaml" {
			lang = "yaml"
		}
		return LoadedMsg{Path: path, Stamp: stamp, Lines: highlight.Code(lang, string(data))}
	}
}

// SetErrorLine marks line n (1-based; 0 clears) of the Python file and
// scrolls to it.
func (m *Model) SetErrorLine(n int) {
	m.errLine = n
	if n > 0 && !m.showSpec {
		m.view.Center(n - 1)
	}
}

// ErrorLine is the marked line.
func (m Model) ErrorLine() int { return m.errLine }

// Invalidate forgets cached files (they changed on disk) and re-reads the
// one shown.
func (m *Model) Invalidate() tea.Cmd {
	clear(m.files)
	return m.show(true)
}

// SetSize sets the body size.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	m.view.SetHeight(h)
}

// SetFocused tells the pane whether it has the keyboard.
func (m *Model) SetFocused(f bool) { m.focused = f }

// KeyMap is the pane's keys.
func (m Model) KeyMap() KeyMap { return m.keys }

func (m *Model) layout(keepOffset bool) {
	plain := make([]string, len(m.lines))
	m.view.SetLines(plain, keepOffset)
	if !keepOffset && m.errLine > 0 && !m.showSpec {
		m.view.Center(m.errLine - 1)
	}
}

// Update handles loaded files and the pane's keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case LoadedMsg:
		if msg.Err != nil {
			if msg.Path == m.path {
				m.lines, m.err = nil, msg.Err
				m.layout(false)
			}
			return m, nil
		}
		m.files[msg.Path] = file{stamp: msg.Stamp, lines: msg.Lines}
		if msg.Path == m.path {
			m.lines, m.err = msg.Lines, nil
			m.layout(true)
			if m.errLine > 0 && !m.showSpec {
				m.view.Center(m.errLine - 1)
			}
		}
	case tea.KeyMsg:
		if m.view.Navigate(m.keys.Keys, msg) {
			return m, nil
		}
		switch {
		case key.Matches(msg, m.keys.ErrorLine):
			if m.errLine > 0 {
				if m.showSpec {
					m.showSpec = false
					cmd := m.show(false)
					m.view.Center(m.errLine - 1)
					return m, cmd
				}
				m.view.Center(m.errLine - 1)
			}
		case key.Matches(msg, m.keys.Spec):
			m.showSpec = !m.showSpec
			return m, m.show(false)
		}
	}
	return m, nil
}

// Title is the pane's title.
func (m Model) Title() string { return "Source" }

// File is the file shown, relative to the repository.
func (m Model) File() string {
	if rel, err := filepath.Rel(m.root, m.path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return m.path
}

// Info is the pane's top-right note: the file's name and the error line.
func (m Model) Info() string {
	if m.path == "" {
		return ""
	}
	info := filepath.Base(m.path)
	if m.errLine > 0 && !m.showSpec {
		info = fmt.Sprintf("%s line %d · %s", theme.GlyphErrorLine, m.errLine, info)
	}
	return info
}

// View draws the pane's body.
func (m Model) View() string {
	switch {
	case m.det == nil:
		return m.st.Muted.Render("no detection selected")
	case m.err != nil:
		return m.st.Fail.Render(m.err.Error())
	case m.lines == nil:
		return m.st.Muted.Render("reading " + filepath.Base(m.path) + "…")
	}
	digits := len(fmt.Sprint(len(m.lines)))
	var out []string
	start := m.view.Offset
	for i := start; i < min(start+m.view.Height, len(m.lines)); i++ {
		n := i + 1
		onErr := n == m.errLine && !m.showSpec
		num := fmt.Sprintf("%*d ", digits, n)
		if onErr {
			line := m.st.ErrorMarker.Render(theme.GlyphErrorLine+num) + m.lines[i].Render(m.st, true)
			out = append(out, fitBand(m.st, line, m.width))
			continue
		}
		out = append(out, m.st.LineNumber.Render(" "+num)+m.lines[i].Render(m.st, false))
	}
	return strings.Join(out, "\n")
}

// fitBand pads the error line with its background to the pane's edge.
func fitBand(st theme.Styles, line string, width int) string {
	if pad := width - ansi.StringWidth(line); pad > 0 {
		return line + st.ErrorLine.Render(strings.Repeat(" ", pad))
	}
	return pane.Fit(line, width)
}
