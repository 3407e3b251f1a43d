// Package eventlist is the workbench's events pane: what the selected rule
// can run on — its unit tests, the bundled sample events of its log types,
// the user's --events files, and edited copies made in $EDITOR — each with
// the outcome of its last run.
package eventlist

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/rulebench/rulebench/engine/events"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/pane"
	"github.com/rulebench/rulebench/ui/scroll"
	"github.com/rulebench/rulebench/ui/theme"
)

// Kind is where an item comes from.
type Kind int

// Item kinds.
const (
	KindTest Kind = iota
	KindSample
	KindUser
	KindEdited
)

// Item is one event the selected detection can run on.
type Item struct {
	Kind Kind
	// Key identifies the item across reloads ("test:NAME", "file:PATH:LINE",
	// "edit:N").
	Key   string
	Group string
	// Label names the item in the result pane and status line.
	Label string
	Raw   json.RawMessage
	// Test is set for unit tests and edited copies of them: the mocks to
	// apply and the expected result to judge against.
	Test *repo.Test
	File string
	Line int
}

// IsTest reports whether the item runs as a unit test (mocks, expectation).
func (it Item) IsTest() bool { return it.Test != nil }

// Outcome is what the last run of an item gave.
type Outcome int

// Outcomes.
const (
	NotRun Outcome = iota
	Alert
	Quiet
	Error
	Pass
	Fail
)

// RunRequest asks the workbench to run the selected item (sent after an
// edited copy is made).
type RunRequest struct{}

// Notice is a message for the status line.
type Notice struct {
	Text string
	Err  bool
}

type row struct {
	header string
	item   int // index into items when header == ""
}

// Model is the events pane.
type Model struct {
	st   theme.Styles
	keys KeyMap

	det         *repo.Detection
	samples     []events.Event
	user        []events.Event
	loaded      bool
	edited      map[string][]Item // by detection ID
	editSeq     int
	drafts      map[string][]byte // item key -> text of an edit that did not parse
	routeAll    bool
	sharedTests bool
	outcomes    map[string]Outcome // detection ID + "\x00" + item key
	items       []Item
	rows        []row
	list        scroll.List
	memo        map[string]string // item key -> row text after the line number
	width       int
	height      int
	focused     bool
}

// New returns an empty events pane.
func New(st theme.Styles) Model {
	return Model{
		st: st, keys: DefaultKeyMap(),
		edited: map[string][]Item{}, drafts: map[string][]byte{},
		outcomes: map[string]Outcome{}, memo: map[string]string{},
	}
}

// SetDetection lists d's items. The cursor stays on the same item when d
// is the detection already shown (a reload).
func (m *Model) SetDetection(d *repo.Detection) {
	keep := ""
	if m.det != nil && d != nil && m.det.ID == d.ID {
		keep = m.selectedKey()
	}
	m.det = d
	m.rebuild(keep)
}

// SetEvents gives the pane the sample and user events (loaded in the
// background after the first frame).
func (m *Model) SetEvents(samples, user []events.Event) {
	m.samples, m.user, m.loaded = samples, user, true
	m.memo = map[string]string{}
	m.rebuild(m.selectedKey())
}

// Detection is the detection whose items are listed.
func (m Model) Detection() *repo.Detection { return m.det }

func (m *Model) rebuild(keep string) {
	m.items = m.items[:0]
	m.rows = m.rows[:0]
	if m.det == nil {
		m.list.SetLen(0)
		return
	}
	group := func(name string, items []Item) {
		if len(items) == 0 {
			return
		}
		m.rows = append(m.rows, row{header: fmt.Sprintf("%s (%d)", name, len(items))})
		for _, it := range items {
			it.Group = name
			m.rows = append(m.rows, row{item: len(m.items)})
			m.items = append(m.items, it)
		}
	}
	var tests []Item
	for i := range m.det.Tests {
		t := &m.det.Tests[i]
		tests = append(tests, Item{Kind: KindTest, Key: "test:" + t.Name, Label: "test " + t.Name, Raw: t.Data, Test: t})
	}
	group("Unit tests", tests)
	for _, src := range []struct {
		kind Kind
		evs  []events.Event
	}{{KindSample, m.samples}, {KindUser, m.user}} {
		var cur string
		var items []Item
		for _, ev := range src.evs {
			if !m.routes(src.kind, ev.Raw) {
				continue
			}
			name := filepath.Base(ev.File)
			if name != cur && len(items) > 0 {
				group(cur, items)
				items = nil
			}
			cur = name
			items = append(items, Item{
				Kind: src.kind, Key: fmt.Sprintf("file:%s:%d", ev.File, ev.Line),
				Label: fmt.Sprintf("%s:%d", name, ev.Line), Raw: ev.Raw, File: ev.File, Line: ev.Line,
			})
		}
		group(cur, items)
	}
	group("Edited", m.edited[m.det.ID])

	m.list.SetLen(len(m.rows))
	target := -1
	for r, rw := range m.rows {
		if rw.header != "" {
			continue
		}
		if target < 0 {
			target = r
		}
		if keep != "" && m.items[rw.item].Key == keep {
			target = r
			break
		}
	}
	if target < 0 {
		target = 0
	}
	m.list.Select(target)
	m.keepOffHeader(1)
}

// routes decides whether an event reaches the detection: by log type (a
// policy by resource type), as Panther routes it. The user's own events
// without a log type are shown too, since they were given for a reason.
func (m Model) routes(kind Kind, raw []byte) bool {
	if m.routeAll {
		return true
	}
	typ, ok := eventType(raw, m.det.Kind)
	if !ok && kind == KindUser {
		return true
	}
	return m.det.AppliesTo(typ)
}

func eventType(raw []byte, kind repo.Kind) (string, bool) {
	if kind == repo.KindPolicy {
		for _, k := range []string{"ResourceType", "resourceType", "p_resource_type"} {
			if v, ok := events.StringField(raw, k); ok {
				return v, true
			}
		}
	}
	return events.StringField(raw, "p_log_type")
}

// keepOffHeader moves the cursor off a group header, in direction dir
// first.
func (m *Model) keepOffHeader(dir int) {
	if len(m.items) == 0 {
		return
	}
	for _, d := range []int{dir, -dir} {
		for c := m.list.Cursor; c >= 0 && c < len(m.rows); c += d {
			if m.rows[c].header == "" {
				m.list.Select(c)
				if c > 0 && m.rows[c-1].header != "" && m.list.Offset == c {
					// Show the group's header above its first item.
					m.list.Offset = max(c-1, 0)
				}
				return
			}
		}
	}
}

// Selected is the item under the cursor.
func (m Model) Selected() (Item, bool) {
	if m.list.Cursor < 0 || m.list.Cursor >= len(m.rows) || m.rows[m.list.Cursor].header != "" {
		return Item{}, false
	}
	return m.items[m.rows[m.list.Cursor].item], true
}

func (m Model) selectedKey() string {
	if it, ok := m.Selected(); ok {
		return it.Key
	}
	return ""
}

// SelectKey puts the cursor on the item with key.
func (m *Model) SelectKey(key string) bool {
	for r, rw := range m.rows {
		if rw.header == "" && m.items[rw.item].Key == key {
			m.list.Select(r)
			return true
		}
	}
	return false
}

// SelectNext moves to the next item of the same group, for stepping through
// a story one event at a time. It reports false at the group's end.
func (m *Model) SelectNext() bool {
	cur, ok := m.Selected()
	if !ok {
		return false
	}
	next := m.list.Cursor + 1
	if next >= len(m.rows) || m.rows[next].header != "" || m.items[m.rows[next].item].Group != cur.Group {
		return false
	}
	m.list.Select(next)
	return true
}

// Rest is the selected item and those after it in its group, in order.
func (m Model) Rest() []Item {
	cur, ok := m.Selected()
	if !ok {
		return nil
	}
	var out []Item
	for r := m.list.Cursor; r < len(m.rows) && m.rows[r].header == ""; r++ {
		it := m.items[m.rows[r].item]
		if it.Group != cur.Group {
			break
		}
		out = append(out, it)
	}
	return out
}

// Tests are the detection's unit-test items.
func (m Model) Tests() []Item {
	var out []Item
	for _, it := range m.items {
		if it.Kind == KindTest {
			out = append(out, it)
		}
	}
	return out
}

// SetOutcome records the outcome of a run of item key of detection id.
func (m *Model) SetOutcome(id, key string, o Outcome) { m.outcomes[id+"\x00"+key] = o }

// Outcome is the recorded outcome of an item.
func (m Model) Outcome(id, key string) Outcome { return m.outcomes[id+"\x00"+key] }

// ClearOutcomes forgets the outcomes of detection id (its code changed).
func (m *Model) ClearOutcomes(id string) {
	for k := range m.outcomes {
		if strings.HasPrefix(k, id+"\x00") {
			delete(m.outcomes, k)
		}
	}
}

// RouteAll reports whether every event is listed whatever its log type
// (a), rather than those routed to the detection.
func (m Model) RouteAll() bool { return m.routeAll }

// SharedTests reports whether unit tests run on the shared cache instead
// of a fresh one each (as rulebench test runs them).
func (m Model) SharedTests() bool { return m.sharedTests }

// SetSize sets the body size.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	m.list.SetHeight(h)
}

// SetFocused tells the pane whether it has the keyboard.
func (m *Model) SetFocused(f bool) { m.focused = f }

// KeyMap is the pane's keys.
func (m Model) KeyMap() KeyMap { return m.keys }

// Update handles the pane's keys and the end of an edit.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case EditedMsg:
		return m.applyEdit(msg)
	case tea.KeyMsg:
		dir := 1
		switch {
		case key.Matches(msg, m.keys.Up):
			m.list.Move(-1)
			dir = -1
		case key.Matches(msg, m.keys.Down):
			m.list.Move(1)
		case key.Matches(msg, m.keys.PageUp):
			m.list.Move(-m.list.Page())
			dir = -1
		case key.Matches(msg, m.keys.PageDown):
			m.list.Move(m.list.Page())
		case key.Matches(msg, m.keys.Top):
			m.list.Select(0)
		case key.Matches(msg, m.keys.Bottom):
			m.list.Select(len(m.rows) - 1)
			dir = -1
		case key.Matches(msg, m.keys.All):
			m.routeAll = !m.routeAll
			m.rebuild(m.selectedKey())
			what := "events of the rule's log types"
			if m.routeAll {
				what = "every event, whatever its log type"
			}
			return m, notice("showing " + what)
		case key.Matches(msg, m.keys.SharedTests):
			m.sharedTests = !m.sharedTests
			what := "unit tests run on a fresh cache each, as rulebench test runs them"
			if m.sharedTests {
				what = "unit tests run on the shared cache"
			}
			return m, notice(what)
		default:
			return m, nil
		}
		m.keepOffHeader(dir)
	}
	return m, nil
}

func notice(text string) tea.Cmd {
	return func() tea.Msg { return Notice{Text: text} }
}

// Title is the pane's title.
func (m Model) Title() string { return "Events" }

// Info is the pane's top-right note.
func (m Model) Info() string {
	var parts []string
	tests, evs := 0, 0
	for _, it := range m.items {
		if it.Kind == KindTest {
			tests++
		} else {
			evs++
		}
	}
	counts := fmt.Sprintf("%d+%d", tests, evs)
	// The group's name, since its header scrolls away; when it fits.
	if it, ok := m.Selected(); ok && it.Kind != KindTest && len(it.Group)+len(counts)+14 <= m.width {
		parts = append(parts, it.Group)
	}
	parts = append(parts, counts)
	if m.routeAll {
		parts = append(parts, "all")
	}
	if m.sharedTests {
		parts = append(parts, "shared")
	}
	return strings.Join(parts, " ")
}

// View draws the pane's body.
func (m Model) View() string {
	if m.det == nil {
		return m.st.Muted.Render("select a rule")
	}
	var lines []string
	start, end := m.list.Visible()
	for r := start; r < end; r++ {
		rw := m.rows[r]
		if rw.header != "" {
			lines = append(lines, m.st.Group.Render(pane.Fit(rw.header, m.width)))
			continue
		}
		lines = append(lines, m.row(m.items[rw.item], r == m.list.Cursor))
	}
	if !m.loaded && len(lines) < m.height {
		lines = append(lines, m.st.Muted.Render("loading events…"))
	}
	if len(m.rows) == 0 && m.loaded {
		lines = append(lines, m.st.Muted.Render("no tests, and no events of its log types"), m.st.Muted.Render("(a: show every event)"))
	}
	return strings.Join(lines, "\n")
}

func (m Model) row(it Item, selected bool) string {
	cursor := " "
	if selected {
		cursor = theme.GlyphCursor
	}
	mark, markStyle := m.mark(it)
	var text string
	switch it.Kind {
	case KindTest:
		text = pane.Clean(it.Test.Name)
	case KindEdited:
		text = "✎ " + strings.TrimPrefix(it.Label, "edit ")
	default:
		text = fmt.Sprintf("%3d %s", it.Line, m.describe(it))
	}
	if selected {
		style := m.st.SelectedBlur
		if m.focused {
			style = m.st.Selected
		}
		return style.Render(pane.Fit(cursor+mark+" "+text, m.width))
	}
	return cursor + markStyle.Render(mark) + " " + m.st.Text.Render(ansi.Truncate(text, max(m.width-3, 1), "…"))
}

func (m Model) mark(it Item) (string, lipgloss.Style) {
	switch m.outcomes[m.det.ID+"\x00"+it.Key] {
	case Alert:
		return theme.GlyphAlert, m.st.Warn
	case Quiet:
		return theme.GlyphQuiet, m.st.Muted
	case Error:
		return theme.GlyphError, m.st.Fail
	case Pass:
		return theme.GlyphPass, m.st.Pass
	case Fail:
		return theme.GlyphFail, m.st.Fail
	}
	return theme.GlyphNotRun, m.st.Muted
}

// describe is an event's time of day and the values that tell it apart,
// memoised because the pane redraws often and files can be long.
func (m Model) describe(it Item) string {
	if s, ok := m.memo[it.Key]; ok {
		return s
	}
	s := pane.Clean(Describe(it.Raw))
	m.memo[it.Key] = s
	return s
}

// Describe summarises an event on one line: its time of day, then its
// top-level scalar values, leaving out Panther's p_ fields, IDs and
// timestamps, which say little about what happened.
func Describe(raw []byte) string {
	var parts []string
	if s, ok := events.StringField(raw, "p_event_time"); ok {
		if t, err := events.ParseTime(s); err == nil {
			parts = append(parts, t.UTC().Format("15:04:05"))
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return strings.Join(parts, " ")
	}
	width := 0
	for dec.More() && width < 120 {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		name, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			break
		}
		if boring(name) {
			continue
		}
		var s string
		switch v := v.(type) {
		case string:
			if v == "" || v == "-" {
				continue
			}
			s = v
		case json.Number:
			s = v.String()
		case bool:
			s = fmt.Sprint(v)
		default:
			continue
		}
		parts = append(parts, s)
		width += len(s) + 1
	}
	return strings.Join(parts, " ")
}

func boring(name string) bool {
	l := strings.ToLower(name)
	if strings.HasPrefix(l, "p_") || l == "uuid" || l == "id" || strings.HasSuffix(l, "id") ||
		strings.Contains(l, "time") || strings.Contains(l, "version") || l == "published" || l == "date" {
		return true
	}
	return false
}
