// Package triage is the workbench's test triage view: every unit test run
// with progress as detections finish, failing tests listed first, and for
// the selected one what was expected and what happened, which function
// failed and why, and its traceback (the workbench shows the source beside
// it).
package triage

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/eventlist"
	"github.com/rulebench/rulebench/ui/pane"
	"github.com/rulebench/rulebench/ui/result"
	"github.com/rulebench/rulebench/ui/scroll"
	"github.com/rulebench/rulebench/ui/theme"
)

// Row is one line of the list: a spec that did not load, a detection, or
// one of its failing tests.
type Row struct {
	LoadError *repo.LoadError
	Report    *engine.DetectionReport
	// Test is set on a failing test's row.
	Test *engine.TestResult
}

// Key identifies the row across re-runs.
func (r Row) Key() string {
	switch {
	case r.LoadError != nil:
		return "load:" + r.LoadError.File
	case r.Test != nil:
		return r.Report.Detection.ID + "\x00" + r.Test.Name
	}
	return r.Report.Detection.ID
}

// RerunRequest asks the workbench to re-run a row's tests (one test, or
// all of a detection's).
type RerunRequest struct {
	Detection *repo.Detection
	TestName  string
}

// OpenRequest asks the workbench to show a test in the workbench.
type OpenRequest struct {
	Detection *repo.Detection
	TestName  string
}

// Model is the triage view.
type Model struct {
	st   theme.Styles
	keys KeyMap

	root       string
	order      map[string]int // detection ID -> position in the repository
	loadErrors []*repo.LoadError
	reports    map[string]*engine.DetectionReport
	rows       []Row
	list       scroll.List
	detail     scroll.View

	started bool
	running bool
	total   int
	done    int
	passed  int
	failed  int
	elapsed time.Duration
	err     error

	// moved: the user has moved the cursor since the run started.
	moved       bool
	focusDetail bool
	listW       int
	listH       int
	detailW     int
	detailH     int
}

// New returns an empty triage view.
func New(st theme.Styles) Model {
	return Model{st: st, keys: DefaultKeyMap(), reports: map[string]*engine.DetectionReport{}, order: map[string]int{}}
}

// Start begins a run of every test of dets; load errors are listed first.
func (m *Model) Start(r *repo.Repository, dets []*repo.Detection) {
	m.root = r.Root
	m.loadErrors = r.Errors
	m.reports = map[string]*engine.DetectionReport{}
	m.order = map[string]int{}
	m.total, m.done, m.passed, m.failed = 0, 0, 0, 0
	for i, d := range dets {
		m.order[d.ID] = i
		m.total += len(d.Tests)
	}
	m.started, m.running, m.err, m.moved = true, true, nil, false
	m.rebuild("")
}

// SetRoot sets the repository root, to show paths relative to it.
func (m *Model) SetRoot(root string) { m.root = root }

// Started reports whether tests were ever run.
func (m Model) Started() bool { return m.started }

// Running reports whether a run is in progress.
func (m Model) Running() bool { return m.running }

// Add records a detection's report (as it arrives, or after a re-run).
func (m *Model) Add(rep engine.DetectionReport) {
	if rep.Detection == nil {
		return
	}
	keep := m.selectedKey()
	old := m.reports[rep.Detection.ID]
	if old != nil && len(rep.Tests) < len(old.Tests) {
		// A re-run of one test: merge it into the detection's report.
		merged := *old
		merged.Tests = append([]engine.TestResult(nil), old.Tests...)
		for _, t := range rep.Tests {
			for i := range merged.Tests {
				if merged.Tests[i].Name == t.Name {
					merged.Tests[i] = t
				}
			}
		}
		merged.LoadError = rep.LoadError
		rep = merged
	}
	if _, known := m.order[rep.Detection.ID]; !known {
		m.order[rep.Detection.ID] = len(m.order)
	}
	m.reports[rep.Detection.ID] = &rep
	m.recount()
	m.rebuild(keep)
}

// Finish ends a run.
func (m *Model) Finish(err error, elapsed time.Duration) {
	m.running, m.err, m.elapsed = false, err, elapsed
}

// Counts reports the tests passed and failed so far, and the total.
func (m Model) Counts() (passed, failed, total int) { return m.passed, m.failed, m.total }

func (m *Model) recount() {
	m.passed, m.failed, m.done = 0, 0, 0
	for _, rep := range m.reports {
		p, f := rep.Counts()
		m.passed += p
		m.failed += f
		m.done += p + f
	}
}

func (m *Model) rebuild(keep string) {
	var failed, passed []*engine.DetectionReport
	for _, rep := range m.reports {
		if rep.Passed() {
			passed = append(passed, rep)
		} else {
			failed = append(failed, rep)
		}
	}
	byOrder := func(list []*engine.DetectionReport) {
		sort.Slice(list, func(i, j int) bool {
			return m.order[list[i].Detection.ID] < m.order[list[j].Detection.ID]
		})
	}
	byOrder(failed)
	byOrder(passed)
	m.rows = m.rows[:0]
	for _, e := range m.loadErrors {
		m.rows = append(m.rows, Row{LoadError: e})
	}
	for _, rep := range failed {
		m.rows = append(m.rows, Row{Report: rep})
		for i := range rep.Tests {
			if !rep.Tests[i].Passed {
				m.rows = append(m.rows, Row{Report: rep, Test: &rep.Tests[i]})
			}
		}
	}
	for _, rep := range passed {
		m.rows = append(m.rows, Row{Report: rep})
	}
	m.list.SetLen(len(m.rows))
	cursor := m.place(keep)
	m.list.Select(cursor)
	m.renderDetail(keep != "" && cursor < len(m.rows) && m.rows[cursor].Key() == keep)
}

// place picks the cursor's row after a rebuild. Until the user moves, it
// follows the first failing test, since that is what triage is for; after,
// it stays on the same row, or on a fixed test's detection.
func (m *Model) place(keep string) int {
	find := func(key string) int {
		for i, r := range m.rows {
			if r.Key() == key {
				return i
			}
		}
		return -1
	}
	if !m.moved {
		for i, r := range m.rows {
			if r.Test != nil {
				return i
			}
		}
		if m.running {
			// Reports arrive in completion order: stay at the top.
			return 0
		}
	}
	if i := find(keep); i >= 0 {
		return i
	}
	if id, _, isTest := strings.Cut(keep, "\x00"); isTest {
		if i := find(id); i >= 0 {
			return i
		}
	}
	return 0
}

// Selected is the row under the cursor.
func (m Model) Selected() (Row, bool) {
	if m.list.Cursor < 0 || m.list.Cursor >= len(m.rows) {
		return Row{}, false
	}
	return m.rows[m.list.Cursor], true
}

func (m Model) selectedKey() string {
	if r, ok := m.Selected(); ok {
		return r.Key()
	}
	return ""
}

// SelectTest moves to a test's row (or its detection's).
func (m *Model) SelectTest(id, name string) {
	m.moved = true
	for i, r := range m.rows {
		if r.Report != nil && r.Report.Detection.ID == id && (r.Test == nil || r.Test.Name == name) {
			m.list.Select(i)
			if r.Test != nil {
				break
			}
		}
	}
	m.renderDetail(false)
}

// ErrorLine is the line of the selected test's rule that its error points
// at (0: none).
func (m Model) ErrorLine() int {
	r, ok := m.Selected()
	if !ok || r.Test == nil || r.Test.Result == nil {
		return 0
	}
	run := &result.Run{Result: r.Test.Result}
	return run.ErrorLine()
}

// SetSizes sets the list's and the detail's body sizes.
func (m *Model) SetSizes(listW, listH, detailW, detailH int) {
	resize := detailW != m.detailW
	m.listW, m.listH, m.detailW, m.detailH = listW, listH, detailW, detailH
	m.list.SetHeight(max(listH-1, 1))
	m.detail.SetHeight(detailH)
	if resize {
		m.renderDetail(true)
	}
}

// SetFocusDetail says whether keys scroll the detail rather than move in
// the list.
func (m *Model) SetFocusDetail(f bool) { m.focusDetail = f }

// KeyMap is the view's keys.
func (m Model) KeyMap() KeyMap { return m.keys }

// Update handles the view's keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	k := m.keys
	switch {
	case key.Matches(km, k.Rerun):
		if r, ok := m.Selected(); ok && r.Report != nil {
			req := RerunRequest{Detection: r.Report.Detection}
			if r.Test != nil {
				req.TestName = r.Test.Name
			}
			return m, func() tea.Msg { return req }
		}
		return m, nil
	case key.Matches(km, k.Open):
		if r, ok := m.Selected(); ok && r.Report != nil {
			req := OpenRequest{Detection: r.Report.Detection}
			if r.Test != nil {
				req.TestName = r.Test.Name
			}
			return m, func() tea.Msg { return req }
		}
		return m, nil
	}
	if m.focusDetail {
		m.detail.Navigate(k.Keys, km)
		return m, nil
	}
	before := m.list.Cursor
	m.list.Navigate(k.Keys, km)
	if m.list.Cursor != before {
		m.moved = true
		m.renderDetail(false)
	}
	return m, nil
}

// ListInfo is the list pane's top-right note: specs that did not load.
func (m Model) ListInfo() string {
	switch n := len(m.loadErrors); {
	case !m.started || n == 0:
		return ""
	case n == 1:
		return "1 spec not loaded"
	default:
		return fmt.Sprintf("%d specs not loaded", n)
	}
}

// ListView draws the list: a progress line, then the rows.
func (m Model) ListView(spinner string) string {
	st := m.st
	if !m.started {
		return st.Muted.Render("t runs every unit test")
	}
	lines := []string{m.progress(spinner)}
	start, end := m.list.Visible()
	for i := start; i < end; i++ {
		lines = append(lines, m.row(m.rows[i], i == m.list.Cursor))
	}
	if len(m.rows) == 0 && !m.running {
		lines = append(lines, st.Muted.Render("no tests"))
	}
	return strings.Join(lines, "\n")
}

func (m Model) progress(spinner string) string {
	st := m.st
	counts := fmt.Sprintf(" %d/%d", m.done, m.total)
	if !m.running {
		text := fmt.Sprintf("%d passed, %d failed", m.passed, m.failed)
		style := st.Pass
		if m.failed > 0 {
			style = st.Fail
		}
		if m.err != nil {
			return st.Fail.Render("stopped: " + m.err.Error())
		}
		return style.Render(text)
	}
	barW := max(m.listW-len(counts)-2, 4)
	full := 0
	if m.total > 0 {
		full = barW * m.done / m.total
	}
	bar := st.Accent.Render(strings.Repeat(theme.GlyphBarFull, full)) + st.Muted.Render(strings.Repeat(theme.GlyphBarEmpty, barW-full))
	return spinner + " " + bar + st.Text.Render(counts)
}

func (m Model) row(r Row, selected bool) string {
	st := m.st
	cursor := " "
	if selected {
		cursor = theme.GlyphCursor
	}
	var glyph, text string
	var style = st.Text
	glyphStyle := st.Fail
	switch {
	case r.LoadError != nil:
		glyph, text = theme.GlyphError, m.rel(r.LoadError.File)
	case r.Test != nil:
		glyph, text = theme.GlyphFail, "  "+pane.Clean(r.Test.Name)
	default:
		rep := r.Report
		p, f := rep.Counts()
		count := fmt.Sprintf(" (%d)", p)
		glyph, glyphStyle = theme.GlyphPass, st.Pass
		if !rep.Passed() {
			glyph, glyphStyle = theme.GlyphFail, st.Fail
			count = fmt.Sprintf(" (%d/%d failed)", f, p+f)
		}
		// IDs differ at their end: cut them at the front.
		id := rep.Detection.ID
		if room := m.listW - 3 - len(count); room > 1 && ansi.StringWidth(id) > room {
			id = ansi.TruncateLeft(id, ansi.StringWidth(id)-room+1, "…")
		}
		text = id + count
		style = st.Bold
	}
	if selected {
		s := st.SelectedBlur
		if !m.focusDetail {
			s = st.Selected
		}
		return s.Render(pane.Fit(cursor+glyph+" "+text, m.listW))
	}
	return cursor + glyphStyle.Render(glyph) + " " + style.Render(text)
}

func (m Model) rel(file string) string {
	if rel, err := filepath.Rel(m.root, file); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return file
}

// DetailTitle is the detail pane's title.
func (m Model) DetailTitle() string {
	r, ok := m.Selected()
	switch {
	case !ok:
		return "Detail"
	case r.LoadError != nil:
		return "Load error"
	case r.Test != nil:
		return r.Report.Detection.ID + " › " + r.Test.Name
	}
	return r.Report.Detection.ID
}

// DetailView draws the selected row's detail.
func (m Model) DetailView() string { return strings.Join(m.detail.Visible(), "\n") }

// DetailInfo is the detail pane's top-right note.
func (m Model) DetailInfo() string {
	if more := m.detail.More(); more > 0 {
		return fmt.Sprintf("%d more ↓", more)
	}
	return ""
}

func (m *Model) renderDetail(keepOffset bool) {
	if m.detailW <= 0 {
		return
	}
	m.detail.SetLines(m.detailLines(), keepOffset)
}

func (m Model) detailLines() []string {
	st, w := m.st, m.detailW
	r, ok := m.Selected()
	if !ok {
		if m.running {
			return []string{st.Muted.Render("running…")}
		}
		return nil
	}
	if e := r.LoadError; e != nil {
		out := []string{st.Fail.Render(theme.GlyphError + " the spec did not load")}
		out = append(out, st.Text.Render(m.rel(e.File)))
		if e.Line > 0 {
			out = append(out, st.Muted.Render(fmt.Sprintf("line %d", e.Line)))
		}
		for _, l := range strings.Split(e.Err.Error(), "\n") {
			out = append(out, st.Fail.Render(l))
		}
		return out
	}
	rep, d := r.Report, r.Report.Detection
	if r.Test == nil {
		p, f := rep.Counts()
		out := []string{st.Bold.Render(d.ID) + st.Muted.Render("  "+m.rel(d.SpecFile))}
		out = append(out, st.Text.Render(fmt.Sprintf("%d passed, %d failed", p, f)))
		if e := rep.LoadError; e != nil {
			out = append(out, st.Fail.Render("import failed: "+e.Error()))
			for _, l := range strings.Split(strings.TrimRight(e.Traceback, "\n"), "\n") {
				out = append(out, st.Muted.Render(l))
			}
		}
		for _, p := range rep.Problems {
			out = append(out, st.Fail.Render(theme.GlyphFail+" "+p))
		}
		for _, t := range rep.Tests {
			if t.Passed {
				out = append(out, st.Pass.Render(theme.GlyphPass)+" "+st.Text.Render(t.Name))
			} else {
				out = append(out, st.Fail.Render(theme.GlyphFail)+" "+st.Text.Render(t.Name)+st.Muted.Render(" "+t.Failure))
			}
		}
		return out
	}
	t := r.Test
	item := eventlist.Item{Kind: eventlist.KindTest, Key: "test:" + t.Name, Label: "test " + t.Name}
	for i := range d.Tests {
		if d.Tests[i].Name == t.Name {
			item.Test, item.Raw = &d.Tests[i], d.Tests[i].Data
		}
	}
	run := &result.Run{Detection: d, Item: item, Result: t.Result, Test: t, Fresh: true}
	var out []string
	if item.Test != nil && item.Test.Line > 0 {
		out = append(out, st.Muted.Render(fmt.Sprintf("%s, test at line %d", m.rel(d.SpecFile), item.Test.Line)))
	}
	if t.Result == nil {
		return append(out, st.Fail.Render(t.Failure))
	}
	out = append(out, result.Lines(st, run, w, m.root)...)
	if item.Test != nil {
		out = append(out, "")
		out = append(out, result.EventLines(st, item, d, w, "")...)
	}
	return out
}
