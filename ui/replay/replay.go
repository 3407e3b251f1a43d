// Package replay is the workbench's replay view: event files streamed
// through the rules on every worker, with the replay's progress, the alerts
// as they form (grouped as Panther groups them, as rulebench run does), the
// profile table rulebench run prints, and for the selected alert the full
// results of its sample events. The workbench runs the stream in a command
// and hands its results here as messages.
package replay

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/alerts"
	"github.com/rulebench/rulebench/engine/events"
	shared "github.com/rulebench/rulebench/engine/replay"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/eventlist"
	"github.com/rulebench/rulebench/ui/result"
	"github.com/rulebench/rulebench/ui/scroll"
	"github.com/rulebench/rulebench/ui/theme"
)

// KeptResults bounds the results the view keeps for display, over all
// alerts: each alert keeps the full results of its sample events (its
// first alerts.SampleSize) until this many are held. Later alerts keep
// their file:line samples only, so memory stays flat on big inputs.
const KeptResults = 1000

// keptBad bounds the bad-input messages kept (they are all counted).
const keptBad = 20

// Scope is what a replay runs: detections over event files.
type Scope struct {
	// Label says what runs, for the title ("7 enabled rules").
	Label      string
	Detections []*repo.Detection
	Files      []string
}

// BatchMsg carries what a replay produced since the last batch: results
// in input order, bad input, and where the reader is.
type BatchMsg struct {
	Seq      int
	Results  []engine.StreamResult
	Bad      []string
	Progress events.Progress
	Elapsed  time.Duration
}

// DoneMsg ends a replay.
type DoneMsg struct {
	Seq int
	// Summary is what the stream profiled: all of the input, or (Err
	// set) as far as it got; nil when it did not start.
	Summary *engine.StreamSummary
	// Calls projects the outside calls the rules made (nil: none).
	Calls    *engine.RateProjection
	CallsErr error
	Err      error
	Progress events.Progress
	Elapsed  time.Duration
}

// OpenRequest asks the workbench to show an alert's event on the bench.
type OpenRequest struct {
	Detection *repo.Detection
	// File and Line are the event's, File as the reader was given it.
	File string
	Line int
}

// Sample is one of an alert's sample events with its full result.
type Sample struct {
	Event  events.Event
	Result *engine.Result
}

// Part is one of the view's panes that takes keys.
type Part int

// Parts.
const (
	PartList Part = iota
	PartDetail
	PartProfile
)

type live struct{ matched, errors int64 }

// Model is the replay view.
type Model struct {
	st   theme.Styles
	keys KeyMap
	root string

	seq       int
	scope     Scope
	started   bool
	running   bool
	progress  events.Progress
	elapsed   time.Duration
	err       error
	callsErr  error
	summary   *engine.StreamSummary
	profile   map[string]shared.ProfileRow
	calls     map[string]engine.RuleProjection
	callsMode string

	grouper *alerts.Grouper
	matched int64
	errors  int64
	perRule map[string]*live
	samples map[*alerts.Alert][]Sample
	kept    int
	bad     []string
	badN    int

	order []*alerts.Alert
	// delivered, errAlerts and held count the alerts by kind.
	delivered, errAlerts, held int
	list                       scroll.List
	// moved: the user moved the cursor; until then it stays on the top
	// alert as alerts form.
	moved bool

	detail      scroll.View
	shown       *alerts.Alert
	shownEvents int
	showEvent   bool
	table       scroll.View
	tableHead   string
	// dropped: the table lacks columns for want of width.
	dropped int

	focus                        Part
	progressW                    int
	listW, listH                 int
	detailW, detailH             int
	profileW, profileH, profileN int
}

// New returns an empty replay view.
func New(st theme.Styles) Model {
	return Model{st: st, keys: DefaultKeyMap(), grouper: alerts.New()}
}

// SetRoot sets the repository root: event files under it are shown
// relative to it.
func (m *Model) SetRoot(root string) { m.root = root }

// SetNetworkMode names the network mode the projection's calls were made
// in, for the profile's footnote.
func (m *Model) SetNetworkMode(mode string) { m.callsMode = mode }

// Start begins showing replay seq of scope, forgetting the last one.
func (m *Model) Start(seq int, scope Scope) {
	*m = Model{
		st: m.st, keys: m.keys, root: m.root, callsMode: m.callsMode,
		seq: seq, scope: scope, started: true, running: true,
		grouper: alerts.New(), perRule: map[string]*live{}, samples: map[*alerts.Alert][]Sample{},
		focus: m.focus, progressW: m.progressW,
		listW: m.listW, listH: m.listH, detailW: m.detailW, detailH: m.detailH,
		profileW: m.profileW, profileH: m.profileH,
	}
	m.list.SetHeight(m.listRows())
	m.detail.SetHeight(m.detailH)
	m.renderDetail(false)
	m.renderTable()
}

// Seq is the replay shown (0: none yet).
func (m Model) Seq() int { return m.seq }

// Started reports whether a replay was ever started.
func (m Model) Started() bool { return m.started }

// Running reports whether the replay shown is in progress.
func (m Model) Running() bool { return m.running }

// Scope is what the replay shown runs.
func (m Model) Scope() Scope { return m.scope }

// Err is why the replay shown ended early (nil: it did not).
func (m Model) Err() error { return m.err }

// Counts are the replay's events read, matches, rule errors and delivered
// alerts so far.
func (m Model) Counts() (events, matches, errors int64, delivered int) {
	return m.progress.Events, m.matched, m.errors, m.delivered
}

// BadInput counts the input that could not be replayed: values that are
// not JSON objects, unreadable files, events no worker could parse.
func (m Model) BadInput() int { return m.badN }

// Alerts are the alerts in the order listed: delivered ones most severe
// first, then rule errors, then groups below their threshold.
func (m Model) Alerts() []*alerts.Alert { return m.order }

// Samples are the results kept for an alert's sample events.
func (m Model) Samples(a *alerts.Alert) []Sample { return m.samples[a] }

// Profile is the profile row of a detection, once the replay finished.
func (m Model) Profile(id string) (shared.ProfileRow, bool) {
	row, ok := m.profile[id]
	return row, ok
}

// Selected is the alert under the cursor.
func (m Model) Selected() (*alerts.Alert, bool) {
	if m.list.Cursor < 0 || m.list.Cursor >= len(m.order) {
		return nil, false
	}
	return m.order[m.list.Cursor], true
}

// ErrorLine is the line of the selected alert's rule that its first kept
// result's error points at (0: none).
func (m Model) ErrorLine() int {
	a, ok := m.Selected()
	if !ok {
		return 0
	}
	for _, s := range m.samples[a] {
		run := result.Run{Detection: a.Detection, Result: s.Result}
		if n := run.ErrorLine(); n > 0 {
			return n
		}
	}
	return 0
}

// KeyMap is the view's keys.
func (m Model) KeyMap() KeyMap { return m.keys }

// SetFocus gives one part the keyboard.
func (m *Model) SetFocus(p Part) { m.focus = p }

// SetSizes sets the bodies' sizes: the progress lines' width, the alert
// list's, the detail's and the profile table's.
func (m *Model) SetSizes(progressW, listW, listH, detailW, detailH, profileW, profileH int) {
	m.progressW = progressW
	m.listW, m.listH = listW, listH
	m.list.SetHeight(m.listRows())
	if detailW != m.detailW || detailH != m.detailH {
		m.detailW, m.detailH = detailW, detailH
		m.detail.SetHeight(detailH)
		m.renderDetail(true)
	}
	if profileW != m.profileW || profileH != m.profileH {
		m.profileW, m.profileH = profileW, profileH
		m.renderTable()
	}
}

// listRows is how many alerts the list shows.
func (m Model) listRows() int { return max(m.listH/alertLines(m.listW), 1) }

// Update takes the replay's messages and the focused part's keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case BatchMsg:
		if msg.Seq == m.seq && m.running {
			m.add(msg)
		}
	case DoneMsg:
		if msg.Seq == m.seq && m.running {
			m.finish(msg)
		}
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m *Model) add(msg BatchMsg) {
	if msg.Progress != (events.Progress{}) {
		m.progress, m.elapsed = msg.Progress, msg.Elapsed
	}
	for _, text := range msg.Bad {
		m.badN++
		if len(m.bad) < keptBad {
			m.bad = append(m.bad, text)
		}
	}
	for _, sr := range msg.Results {
		d := sr.Detection
		lr := m.perRule[d.ID]
		if lr == nil {
			lr = &live{}
			m.perRule[d.ID] = lr
		}
		if sr.Result.Error != nil {
			m.errors++
			lr.errors++
		} else {
			m.matched++
			lr.matched++
		}
		a, sampled := shared.Add(m.grouper, m.root, d, sr.Event, sr.Result, sr.EventTime)
		if sampled && m.kept < KeptResults {
			m.samples[a] = append(m.samples[a], Sample{Event: sr.Event, Result: sr.Result})
			m.kept++
		}
	}
	m.reorder()
	m.refresh()
}

func (m *Model) finish(msg DoneMsg) {
	m.running = false
	m.progress, m.elapsed, m.err, m.callsErr = msg.Progress, msg.Elapsed, msg.Err, msg.CallsErr
	if s := msg.Summary; s != nil {
		m.summary = s
		m.profile = map[string]shared.ProfileRow{}
		for _, row := range shared.Profile(s, m.grouper) {
			m.profile[row.Rule] = row
		}
		m.badN = max(m.badN, int(s.Bad))
	}
	if msg.Calls != nil {
		m.calls = map[string]engine.RuleProjection{}
		for _, rp := range msg.Calls.Rules {
			m.calls[rp.Detection] = rp
		}
	}
	m.reorder()
	m.refresh()
}

// reorder lists the alerts: delivered ones most severe first, rule errors,
// then groups that stayed below their threshold. The cursor stays on its
// alert once the user has moved it, on the top one until then.
func (m *Model) reorder() {
	keep, _ := m.Selected()
	delivered, errs, held := alerts.Split(m.grouper.Alerts())
	alerts.BySeverity(delivered)
	alerts.BySeverity(held)
	// Counted here, once per batch, rather than on every frame.
	m.delivered, m.errAlerts, m.held = len(delivered), len(errs), len(held)
	m.order = append(append(append(m.order[:0], delivered...), errs...), held...)
	m.list.SetLen(len(m.order))
	cursor := 0
	if m.moved && keep != nil {
		for i, a := range m.order {
			if a == keep {
				cursor = i
				break
			}
		}
	}
	m.list.Select(cursor)
}

// refresh redraws what depends on the alerts: the detail when its alert
// changed, and the table.
func (m *Model) refresh() {
	a, _ := m.Selected()
	if a != m.shown || (a != nil && a.Events != m.shownEvents) || (a != nil && !m.running) {
		m.renderDetail(a == m.shown)
	}
	m.renderTable()
}

func (m Model) key(msg tea.KeyMsg) (Model, tea.Cmd) {
	k := m.keys
	switch m.focus {
	case PartDetail, PartProfile:
		v := &m.detail
		if m.focus == PartProfile {
			v = &m.table
		}
		if v.Navigate(k.Keys, msg) {
			return m, nil
		}
		switch {
		case key.Matches(msg, k.Event) && m.focus == PartDetail:
			m.showEvent = !m.showEvent
			m.renderDetail(false)
		case key.Matches(msg, k.Open):
			return m, m.open()
		}
		return m, nil
	}
	switch {
	case m.list.Navigate(k.Keys, msg):
	case key.Matches(msg, k.Event):
		m.showEvent = !m.showEvent
		m.renderDetail(false)
		return m, nil
	case key.Matches(msg, k.Open):
		return m, m.open()
	default:
		return m, nil
	}
	m.moved = true
	if a, _ := m.Selected(); a != m.shown {
		m.renderDetail(false)
	}
	return m, nil
}

// open asks the workbench to show the selected alert's first event.
func (m Model) open() tea.Cmd {
	a, ok := m.Selected()
	if !ok {
		return nil
	}
	req := OpenRequest{Detection: a.Detection}
	if s := m.samples[a]; len(s) > 0 {
		req.File, req.Line = s[0].Event.File, s[0].Event.Line
	}
	return func() tea.Msg { return req }
}

// sampleRun is a kept sample as the result pane draws it.
func (m Model) sampleRun(a *alerts.Alert, s Sample) *result.Run {
	label := fmt.Sprintf("%s:%d", shared.RelPath(m.root, s.Event.File), s.Event.Line)
	return &result.Run{
		Detection: a.Detection, Result: s.Result,
		Item: eventlist.Item{Kind: eventlist.KindUser, Label: label, Raw: s.Event.Raw, File: s.Event.File, Line: s.Event.Line},
	}
}

// trimLeft cuts s from the left to w cells, marking the cut with "…": the
// end of a detection ID tells most.
func trimLeft(s string, w int) string {
	r := []rune(s)
	if len(r) <= w || w < 2 {
		return s
	}
	return "…" + string(r[len(r)-w+1:])
}

// plural is n and the word, pluralised.
func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "ch") {
		word += "e"
	}
	return fmt.Sprintf("%s %ss", engine.Count(float64(n)), word)
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
