// Package result is the workbench's result pane: what a run gave — matched
// or not (and against the expectation, for a test), title, dedup, alert
// context, severity, destinations, description, runbook, reference, printed
// output and every error with its traceback. A pinned run is drawn beside
// the current one, with the fields that differ marked.
package result

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/eventlist"
	"github.com/rulebench/rulebench/ui/pane"
	"github.com/rulebench/rulebench/ui/scroll"
	"github.com/rulebench/rulebench/ui/theme"
)

// Model is the result pane.
type Model struct {
	st   theme.Styles
	keys KeyMap

	current *Run
	pinned  *Run
	// preview is the selected item when it has no run to show.
	preview    *eventlist.Item
	previewDet *repo.Detection
	showEvent  bool
	loadErr    *repo.LoadError
	root       string
	// busy is the line shown above the content while a run is in flight.
	busy string

	view    scroll.View
	width   int
	height  int
	focused bool
}

// New returns an empty result pane.
func New(st theme.Styles) Model {
	return Model{st: st, keys: DefaultKeyMap()}
}

// SetRun shows a run (nil: none).
func (m *Model) SetRun(r *Run) {
	m.current, m.preview, m.loadErr, m.showEvent = r, nil, nil, false
	m.render(false)
}

// SetPreview shows an item that has not been run yet.
func (m *Model) SetPreview(it eventlist.Item, d *repo.Detection) {
	m.current, m.loadErr = nil, nil
	m.preview, m.previewDet = &it, d
	m.render(false)
}

// ShowLoadError shows a spec that failed to load.
func (m *Model) ShowLoadError(e *repo.LoadError, root string) {
	m.current, m.preview = nil, nil
	m.loadErr, m.root = e, root
	m.render(false)
}

// SetRoot sets the repository root: paths under it are shown relative.
func (m *Model) SetRoot(root string) { m.root = root }

// Current is the run shown (nil when none).
func (m Model) Current() *Run { return m.current }

// Pinned is the run pinned for comparison.
func (m Model) Pinned() *Run { return m.pinned }

// TogglePin pins the current run, or unpins. It reports what it did.
func (m *Model) TogglePin() string {
	if m.pinned != nil {
		m.pinned = nil
		m.render(true)
		return "unpinned"
	}
	if m.current == nil {
		return "nothing to pin: run an event first"
	}
	m.pinned = m.current
	m.render(true)
	return fmt.Sprintf("pinned run %d: the next runs are shown beside it", m.pinned.Seq)
}

// SetBusy shows a line (a spinner and what is running) above the content,
// "" to clear it.
func (m *Model) SetBusy(line string) {
	if line == m.busy {
		return
	}
	m.busy = line
	m.view.SetHeight(m.viewHeight())
}

// SetSize sets the body size.
func (m *Model) SetSize(w, h int) {
	if w == m.width && h == m.height {
		return
	}
	m.width, m.height = w, h
	m.view.SetHeight(m.viewHeight())
	m.render(true)
}

func (m Model) viewHeight() int {
	if m.busy != "" {
		return max(m.height-1, 1)
	}
	return max(m.height, 1)
}

// SetFocused tells the pane whether it has the keyboard.
func (m *Model) SetFocused(f bool) { m.focused = f }

// KeyMap is the pane's keys.
func (m Model) KeyMap() KeyMap { return m.keys }

// Update handles the pane's keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	if m.view.Navigate(m.keys.Keys, km) {
		return m, nil
	}
	switch {
	case key.Matches(km, m.keys.Event):
		m.showEvent = !m.showEvent
		m.render(false)
	}
	return m, nil
}

func (m *Model) render(keepOffset bool) {
	if m.width <= 0 {
		return
	}
	m.view.SetLines(m.lines(), keepOffset)
}

func (m Model) lines() []string {
	st, w := m.st, m.width
	switch {
	case m.loadErr != nil:
		b := &lines{st: st, width: w}
		b.add(st.Fail.Render(theme.GlyphError + " LOAD ERROR"))
		file := m.loadErr.File
		if rel, ok := strings.CutPrefix(file, m.root+"/"); ok {
			file = rel
		}
		b.field("file", file, st.Text, false)
		if m.loadErr.Line > 0 {
			b.field("line", fmt.Sprint(m.loadErr.Line), st.Text, false)
		}
		b.field("error", m.loadErr.Err.Error(), st.Fail, false)
		b.add("")
		b.add(st.Muted.Render("fix the file: the workbench reloads it on save"))
		return b.out
	case m.preview != nil:
		return renderEvent(st, *m.preview, m.previewDet, w, "  not run yet: enter runs it").out
	case m.current == nil:
		return []string{st.Muted.Render("select a rule and an event, then press enter")}
	case m.showEvent:
		return renderEvent(st, m.current.Item, m.current.Detection, w, fmt.Sprintf("  event of run %d", m.current.Seq)).out
	case m.pinned != nil && m.pinned != m.current:
		return sideBySide(st, m.pinned, m.current, w, m.root)
	case m.pinned != nil:
		return render(st, m.current, nil, w, "pinned: run another event to compare", m.root).out
	}
	return render(st, m.current, nil, w, "", m.root).out
}

// sideBySide draws the pinned run on the left and the current one on the
// right, field beside field: a field that takes more lines on one side is
// padded on the other, so that what is compared stays level.
func sideBySide(st theme.Styles, pinned, current *Run, width int, root string) []string {
	colW := (width - 3) / 2
	if colW < 12 {
		return render(st, current, pinned, width, "pinned run hidden: the pane is too narrow (z zooms)", root).out
	}
	left := render(st, pinned, current, colW, "pinned", root).split()
	right := render(st, current, pinned, colW, "current", root).split()
	sep := st.Muted.Render(" │ ")
	var out []string
	emit := func(l, r []string) {
		for i := 0; i < max(len(l), len(r)); i++ {
			var a, b string
			if i < len(l) {
				a = l[i]
			}
			if i < len(r) {
				b = r[i]
			}
			out = append(out, pane.Fit(a, colW)+sep+b)
		}
	}
	has := func(blocks []block, key string) bool {
		for _, b := range blocks {
			if b.key == key {
				return true
			}
		}
		return false
	}
	i, j := 0, 0
	for i < len(left) || j < len(right) {
		switch {
		case i < len(left) && j < len(right) && left[i].key == right[j].key:
			emit(left[i].lines, right[j].lines)
			i++
			j++
		case j < len(right) && (i == len(left) || !has(left[i:], right[j].key)):
			emit(nil, right[j].lines)
			j++
		default:
			emit(left[i].lines, nil)
			i++
		}
	}
	return out
}

// Title is the pane's title.
func (m Model) Title() string { return "Result" }

// Info is the pane's top-right note.
func (m Model) Info() string {
	var parts []string
	if m.pinned != nil {
		parts = append(parts, fmt.Sprintf("pinned %d", m.pinned.Seq))
	}
	if more := m.view.More(); more > 0 {
		parts = append(parts, fmt.Sprintf("%d more ↓", more))
	}
	return strings.Join(parts, " · ")
}

// View draws the pane's body.
func (m Model) View() string {
	visible := m.view.Visible()
	if m.busy != "" {
		return strings.Join(append([]string{m.busy}, visible...), "\n")
	}
	return strings.Join(visible, "\n")
}
