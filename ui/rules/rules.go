// Package rules is the workbench's list of detections: every rule, scheduled
// rule and policy of the repository with its severity, enabled state and
// test status, the specs that failed to load, and a filter typed over IDs,
// names, tags and log types.
package rules

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/pane"
	"github.com/rulebench/rulebench/ui/scroll"
	"github.com/rulebench/rulebench/ui/theme"
)

// Badge is a detection's test status.
type Badge int

// Test statuses.
const (
	NotRun Badge = iota
	Passed
	Failed
)

type entry struct {
	det     *repo.Detection
	loadErr *repo.LoadError
	// haystack is what the filter searches, lower-cased.
	haystack string
}

// Model is the rules pane.
type Model struct {
	st        theme.Styles
	keys      KeyMap
	root      string
	entries   []entry
	shown     []int
	list      scroll.List
	filter    textinput.Model
	filtering bool
	badges    map[string]Badge
	width     int
	height    int
	focused   bool
}

// New lists r's detections and load errors.
func New(st theme.Styles, r *repo.Repository) Model {
	ti := textinput.New()
	ti.Prompt = "/"
	ti.PromptStyle = st.Accent
	ti.TextStyle = st.Text
	ti.Placeholder = "ID, tag, log type"
	ti.PlaceholderStyle = st.Muted
	m := Model{st: st, keys: DefaultKeyMap(), filter: ti, badges: map[string]Badge{}}
	m.SetRepository(r)
	return m
}

// SetRepository replaces the list (after a reload), keeping the selected
// detection selected when it still exists.
func (m *Model) SetRepository(r *repo.Repository) {
	selected := m.SelectedID()
	m.root = r.Root
	m.entries = m.entries[:0]
	for _, d := range r.Detections {
		hay := []string{d.ID, d.DisplayName, string(d.Kind), string(d.Severity), filepath.Base(d.SpecFile)}
		hay = append(hay, d.Tags...)
		hay = append(hay, d.LogTypes...)
		if !d.Enabled {
			hay = append(hay, "disabled")
		}
		m.entries = append(m.entries, entry{det: d, haystack: strings.ToLower(strings.Join(hay, "\x00"))})
	}
	for _, e := range r.Errors {
		m.entries = append(m.entries, entry{loadErr: e, haystack: strings.ToLower(e.Error() + "\x00load error")})
	}
	m.refilter(selected)
}

// refilter recomputes the shown entries and puts the cursor back on keep
// (an ID) when it is still shown.
func (m *Model) refilter(keep string) {
	terms := strings.Fields(strings.ToLower(m.filter.Value()))
	m.shown = m.shown[:0]
	cursor := 0
	for i, e := range m.entries {
		if !matches(e.haystack, terms) {
			continue
		}
		if keep != "" && e.det != nil && e.det.ID == keep {
			cursor = len(m.shown)
		}
		m.shown = append(m.shown, i)
	}
	m.list.SetLen(len(m.shown))
	m.list.Select(cursor)
}

func matches(haystack string, terms []string) bool {
	for _, t := range terms {
		if !strings.Contains(haystack, t) {
			return false
		}
	}
	return true
}

// Selected is the detection under the cursor (nil on a load error or an
// empty list).
func (m Model) Selected() *repo.Detection {
	if e, ok := m.current(); ok {
		return e.det
	}
	return nil
}

// SelectedID is the ID of the selected detection, or "".
func (m Model) SelectedID() string {
	if d := m.Selected(); d != nil {
		return d.ID
	}
	return ""
}

// SelectedLoadError is the load error under the cursor, if that is what
// is selected.
func (m Model) SelectedLoadError() *repo.LoadError {
	if e, ok := m.current(); ok {
		return e.loadErr
	}
	return nil
}

func (m Model) current() (entry, bool) {
	if m.list.Cursor < 0 || m.list.Cursor >= len(m.shown) {
		return entry{}, false
	}
	return m.entries[m.shown[m.list.Cursor]], true
}

// Select puts the cursor on detection id, clearing a filter that hides it.
func (m *Model) Select(id string) bool {
	for pass := 0; pass < 2; pass++ {
		for row, i := range m.shown {
			if d := m.entries[i].det; d != nil && d.ID == id {
				m.list.Select(row)
				return true
			}
		}
		m.filter.SetValue("")
		m.refilter("")
	}
	return false
}

// SetBadge records a detection's test status.
func (m *Model) SetBadge(id string, b Badge) { m.badges[id] = b }

// Badge is a detection's test status.
func (m Model) Badge(id string) Badge { return m.badges[id] }

// Counts reports how many detections are shown, how many there are, and
// how many have each status.
func (m Model) Counts() (shown, total, passed, failed int) {
	for _, i := range m.shown {
		if m.entries[i].det != nil {
			shown++
		}
	}
	for _, e := range m.entries {
		if e.det == nil {
			continue
		}
		total++
		switch m.badges[e.det.ID] {
		case Passed:
			passed++
		case Failed:
			failed++
		}
	}
	return shown, total, passed, failed
}

// Rows is how many lines the pane's body needs to show everything.
func (m Model) Rows() int {
	rows := len(m.entries)
	if m.filterShown() {
		rows++
	}
	return rows
}

// Filtering reports whether the filter is being typed: keys then belong to
// the filter, not to the workbench.
func (m Model) Filtering() bool { return m.filtering }

// Filter is the current filter text.
func (m Model) Filter() string { return m.filter.Value() }

// StartFilter focuses the filter input.
func (m *Model) StartFilter() tea.Cmd {
	m.filtering = true
	m.list.SetHeight(m.listHeight())
	return m.filter.Focus()
}

// SetSize sets the body size (inside the pane's border).
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	m.filter.Width = max(w-2, 1)
	m.list.SetHeight(m.listHeight())
}

// SetFocused tells the pane whether it has the keyboard.
func (m *Model) SetFocused(f bool) { m.focused = f }

// KeyMap is the pane's keys, for help.
func (m Model) KeyMap() KeyMap { return m.keys }

func (m Model) filterShown() bool { return m.filtering || m.filter.Value() != "" }

func (m Model) listHeight() int {
	if m.filterShown() {
		return max(m.height-1, 1)
	}
	return max(m.height, 1)
}

// Update handles keys while the pane is focused (and all keys while the
// filter is typed).
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		if m.filtering {
			var cmd tea.Cmd
			m.filter, cmd = m.filter.Update(msg)
			return m, cmd
		}
		return m, nil
	}
	if m.filtering {
		switch {
		case key.Matches(km, m.keys.ClearFilter):
			m.filtering = false
			m.filter.Blur()
			keep := m.SelectedID()
			m.filter.SetValue("")
			m.refilter(keep)
			m.list.SetHeight(m.listHeight())
			return m, nil
		case key.Matches(km, m.keys.AcceptFilter):
			m.filtering = false
			m.filter.Blur()
			m.list.SetHeight(m.listHeight())
			return m, nil
		case km.Type == tea.KeyUp || km.Type == tea.KeyDown:
			m.list.Move(map[bool]int{true: -1, false: 1}[km.Type == tea.KeyUp])
			return m, nil
		}
		keep := m.SelectedID()
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(msg)
		m.refilter(keep)
		return m, cmd
	}
	if m.list.Navigate(m.keys.Keys, km) {
		return m, nil
	}
	switch {
	case key.Matches(km, m.keys.ClearFilter):
		if m.filter.Value() != "" {
			keep := m.SelectedID()
			m.filter.SetValue("")
			m.refilter(keep)
			m.list.SetHeight(m.listHeight())
		}
	}
	return m, nil
}

// Title is the pane's title.
func (m Model) Title() string { return "Rules" }

// Info is the pane's top-right note: how many detections are listed.
func (m Model) Info() string {
	shown, total, _, _ := m.Counts()
	if shown != total {
		return fmt.Sprintf("%d/%d", shown, total)
	}
	return fmt.Sprint(total)
}

// View draws the pane's body.
func (m Model) View() string {
	var lines []string
	if m.filterShown() {
		if m.filtering {
			lines = append(lines, m.filter.View())
		} else {
			lines = append(lines, m.st.Accent.Render("/")+m.st.Text.Render(m.filter.Value())+m.st.Muted.Render("  esc clears"))
		}
	}
	if len(m.shown) == 0 {
		lines = append(lines, m.st.Muted.Render("no detection matches"))
		return strings.Join(lines, "\n")
	}
	start, end := m.list.Visible()
	for row := start; row < end; row++ {
		lines = append(lines, m.row(m.entries[m.shown[row]], row == m.list.Cursor))
	}
	return strings.Join(lines, "\n")
}

func (m Model) row(e entry, selected bool) string {
	w := m.width
	cursor := " "
	if selected {
		cursor = theme.GlyphCursor
	}
	if e.loadErr != nil {
		file := e.loadErr.File
		if rel, err := filepath.Rel(m.root, file); err == nil {
			file = rel
		}
		if e.loadErr.Line > 0 {
			file = fmt.Sprintf("%s:%d", file, e.loadErr.Line)
		}
		file = pane.Clean(file)
		msg := pane.Clean(e.loadErr.Err.Error())
		text := file + " " + msg
		if selected {
			return m.selectedStyle().Render(pane.Fit(cursor+theme.GlyphError+" "+text, w))
		}
		return cursor + m.st.Fail.Render(theme.GlyphError) + " " + m.st.Warn.Render(file) + " " + m.st.Muted.Render(msg)
	}
	d := e.det
	badge, badgeStyle := theme.GlyphNotRun, m.st.Muted
	switch m.badges[d.ID] {
	case Passed:
		badge, badgeStyle = theme.GlyphPass, m.st.Pass
	case Failed:
		badge, badgeStyle = theme.GlyphFail, m.st.Fail
	}
	sev := theme.SeverityLabel(string(d.Severity))
	suffix := ""
	if !d.Enabled {
		suffix = " off"
	}
	switch d.Kind {
	case repo.KindPolicy:
		suffix += " pol"
	case repo.KindScheduledRule:
		suffix += " sch"
	}
	room := w - 8 - len(suffix)
	id := pane.Clean(d.ID)
	if room > 1 && ansi.StringWidth(id) > room {
		id = ansi.TruncateLeft(id, ansi.StringWidth(id)-room+1, "…")
	}
	if selected {
		return m.selectedStyle().Render(pane.Fit(cursor+badge+" "+sev+" "+id+suffix, w))
	}
	idStyle := m.st.Text
	if !d.Enabled {
		idStyle = m.st.Muted
	}
	return cursor + badgeStyle.Render(badge) + " " + m.st.Severity(string(d.Severity)).Render(sev) + " " +
		idStyle.Render(id) + m.st.Muted.Render(suffix)
}

func (m Model) selectedStyle() lipgloss.Style {
	if m.focused {
		return m.st.Selected
	}
	return m.st.SelectedBlur
}
