// Package cacheview is the workbench's cache inspector: the live cache (the
// in-memory mock or DynamoDB, read-only overlay shown as such) with every
// key's value and expiry, the keys the last run changed, that run's
// operation trace, and controls for the clock, snapshots and clearing.
package cacheview

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/mocks"
	"github.com/rulebench/rulebench/ui/pane"
	"github.com/rulebench/rulebench/ui/scroll"
	"github.com/rulebench/rulebench/ui/theme"
)

// Limit is how many keys the inspector lists; a production table can hold
// millions.
const Limit = 500

// Source is the cache the workbench runs against.
type Source struct {
	// Shared is the cache events run against.
	Shared cache.Inspector
	// Memory is set for the in-memory cache: it can be snapshotted,
	// restored and cleared.
	Memory *mocks.Cache
	// Overlay is set for read-only DynamoDB: clearing drops the writes
	// kept in memory; the table is never touched.
	Overlay  *cache.Overlay
	Describe string
	Clock    *engine.Clock
}

// Step is the cache calls one event of a run made.
type Step struct {
	Label string
	Ops   []cache.Op
}

// ItemsMsg is a listing read in the background.
type ItemsMsg struct {
	gen   int
	Items []cache.Item
	More  bool
	Err   error
}

// ActionMsg reports a snapshot, restore or clear.
type ActionMsg struct {
	Text string
	Err  error
}

// Model is the cache inspector.
type Model struct {
	st   theme.Styles
	keys KeyMap
	src  Source

	items   []cache.Item
	more    bool
	err     error
	gen     int
	listed  bool
	fresh   *mocks.Cache
	run     string
	steps   []Step
	changed map[string]bool
	ref     time.Time

	snapshot  *mocks.Snapshot
	snapLabel string

	view    scroll.View
	width   int
	height  int
	focused bool
}

// New returns the inspector for src.
func New(st theme.Styles, src Source) Model {
	m := Model{st: st, keys: DefaultKeyMap(), src: src, changed: map[string]bool{}}
	if src.Memory == nil {
		m.keys.Snapshot.SetEnabled(false)
		m.keys.Restore.SetEnabled(false)
		if src.Overlay == nil {
			// Writes go to a real table: never clear it from here.
			m.keys.Clear.SetEnabled(false)
		}
	}
	m.keys.Restore.SetEnabled(false)
	return m
}

// SetRun shows the trace of a run (label names it; steps are its events)
// and re-reads the cache. fresh is the run's own cache when it had one (a
// unit test): it is listed instead of the shared one.
func (m *Model) SetRun(label string, steps []Step, fresh *mocks.Cache) tea.Cmd {
	m.run, m.steps, m.fresh = label, steps, fresh
	m.changed = map[string]bool{}
	var last int64
	for _, s := range steps {
		for _, op := range s.Ops {
			if op.Before.Exists != op.After.Exists || !op.Before.Item.Equal(op.After.Item) {
				m.changed[op.Key] = true
			}
			last = op.Now
		}
	}
	if last != 0 && m.src.Clock.Mode() == engine.ClockEvent {
		m.ref = time.Unix(last, 0).UTC()
	}
	return m.Refresh()
}

// Refresh re-reads the cache in the background.
func (m *Model) Refresh() tea.Cmd {
	m.gen++
	gen := m.gen
	var insp cache.Inspector = m.src.Shared
	if m.fresh != nil {
		insp = cache.New(m.fresh)
	}
	m.ref = m.reference()
	return func() tea.Msg {
		if insp == nil {
			return ItemsMsg{gen: gen}
		}
		var items []cache.Item
		more := false
		err := insp.List(context.Background(), "", func(it cache.Item) bool {
			if len(items) == Limit {
				more = true
				return false
			}
			items = append(items, it)
			return true
		})
		return ItemsMsg{gen: gen, Items: items, More: more, Err: err}
	}
}

// reference is the "now" expiries are shown against: the fixed time, the
// last event's time, or the wall clock.
func (m Model) reference() time.Time {
	switch m.src.Clock.Mode() {
	case engine.ClockFixed:
		return m.src.Clock.Now(time.Time{}).UTC()
	case engine.ClockEvent:
		return m.ref
	}
	return time.Now().UTC().Truncate(time.Second)
}

// SetSize sets the body size.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	// The first line is the clock's.
	m.view.SetHeight(max(h-1, 1))
	m.render(true)
}

// SetFocused tells the pane whether it has the keyboard.
func (m *Model) SetFocused(f bool) { m.focused = f }

// KeyMap is the pane's keys.
func (m Model) KeyMap() KeyMap { return m.keys }

// Changed reports whether the last run changed key.
func (m Model) Changed(key string) bool { return m.changed[key] }

// Items are the listed keys.
func (m Model) Items() []cache.Item { return m.items }

// Update handles listings, actions and the pane's keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case ItemsMsg:
		if msg.gen != m.gen {
			return m, nil
		}
		m.items, m.more, m.err, m.listed = msg.Items, msg.More, msg.Err, true
		m.render(true)
	case ActionMsg:
		return m, m.Refresh()
	case tea.KeyMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m Model) key(msg tea.KeyMsg) (Model, tea.Cmd) {
	k := m.keys
	if m.view.Navigate(k.Keys, msg) {
		return m, nil
	}
	switch {
	case key.Matches(msg, k.Refresh):
		return m, m.Refresh()
	case key.Matches(msg, k.Clock):
		c := m.src.Clock
		switch c.Mode() {
		case engine.ClockWall:
			c.SetMode(engine.ClockEvent)
		case engine.ClockEvent:
			c.Set(m.startingPoint())
		default:
			c.SetMode(engine.ClockWall)
		}
		return m, tea.Batch(m.Refresh(), say("clock: "+c.String()))
	case key.Matches(msg, k.Later), key.Matches(msg, k.Earlier), key.Matches(msg, k.NextDay), key.Matches(msg, k.PrevDay):
		d := map[bool]time.Duration{true: time.Hour, false: 24 * time.Hour}[key.Matches(msg, k.Later) || key.Matches(msg, k.Earlier)]
		if key.Matches(msg, k.Earlier) || key.Matches(msg, k.PrevDay) {
			d = -d
		}
		c := m.src.Clock
		if c.Mode() != engine.ClockFixed {
			// Move from where the story is, not from today.
			c.Set(m.startingPoint())
		}
		c.Advance(d)
		return m, tea.Batch(m.Refresh(), say("clock: "+c.String()))
	case key.Matches(msg, k.Snapshot):
		snap := m.src.Memory.Snapshot()
		m.snapshot = &snap
		m.snapLabel = fmt.Sprintf("%d keys, after %s", snap.Len(), orDash(m.run))
		m.keys.Restore.SetEnabled(true)
		m.render(true)
		return m, say(fmt.Sprintf("snapshot taken: %d keys (r restores it)", snap.Len()))
	case key.Matches(msg, k.Restore):
		if m.snapshot == nil {
			return m, nil
		}
		snap, mem := *m.snapshot, m.src.Memory
		m.fresh = nil
		return m, action(func() string {
			mem.Restore(snap)
			return fmt.Sprintf("cache restored to the snapshot (%d keys)", snap.Len())
		})
	case key.Matches(msg, k.Clear):
		m.fresh = nil
		if m.src.Memory != nil {
			mem := m.src.Memory
			return m, action(func() string { mem.Clear(); return "cache cleared" })
		}
		if o := m.src.Overlay; o != nil {
			return m, action(func() string {
				o.Reset()
				return "local writes dropped: reads see the table again"
			})
		}
	}
	return m, nil
}

func (m Model) startingPoint() time.Time {
	if !m.ref.IsZero() {
		return m.ref
	}
	return time.Now().UTC().Truncate(time.Second)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func orDash(s string) string {
	if s == "" {
		return "no run"
	}
	return s
}

// action runs fn in the background and reports its message; the listing
// is re-read after it.
func action(fn func() string) tea.Cmd {
	return func() tea.Msg { return ActionMsg{Text: fn()} }
}

// Notice is a message for the status line.
type Notice struct{ Text string }

func say(text string) tea.Cmd { return func() tea.Msg { return Notice{Text: text} } }

// Title is the pane's title.
func (m Model) Title() string { return "Cache" }

// Info is the pane's top-right note.
func (m Model) Info() string {
	n := fmt.Sprint(len(m.items))
	if m.more {
		n += "+"
	}
	if n == "1" {
		return "1 key"
	}
	return n + " keys"
}

func (m *Model) render(keep bool) {
	if m.width <= 0 {
		return
	}
	m.view.SetLines(m.lines(), keep)
}

// View draws the pane's body.
func (m Model) View() string {
	// The clock line is drawn fresh: the clock moves without a re-read.
	head := m.st.Muted.Render("clock ") + m.st.Accent.Render(m.src.Clock.String())
	if ref := m.reference(); !ref.IsZero() && m.src.Clock.Mode() == engine.ClockEvent {
		// In event time, "now" is the last event's time.
		head += m.st.Muted.Render(" · now " + ref.Format("2006-01-02 15:04:05"))
	}
	return strings.Join(append([]string{head}, m.view.Visible()...), "\n")
}

func (m Model) lines() []string {
	st, w := m.st, m.width
	var out []string
	add := func(s string) { out = append(out, s) }
	src := m.src.Describe
	if m.fresh != nil {
		src = "test cache (fresh for this test; the shared cache is untouched)"
	}
	for _, l := range strings.Split(ansi.Wrap(src, max(w, 1), " "), "\n") {
		add(st.Text.Render(l))
	}
	if m.snapshot != nil {
		add(st.Muted.Render("snapshot: " + m.snapLabel))
	}
	switch {
	case m.err != nil:
		add(st.Fail.Render("cannot list the cache: " + m.err.Error()))
	case !m.listed:
		add(st.Muted.Render("reading…"))
	case len(m.items) == 0:
		add(st.Muted.Render("empty"))
	}
	ref := m.ref
	if m.src.Clock.Mode() != engine.ClockEvent {
		ref = m.reference()
	}
	for _, it := range m.items {
		mark, keyStyle := " ", st.Text
		if m.changed[it.Key] {
			mark, keyStyle = st.Changed.Render(theme.GlyphChanged), st.Changed
		}
		// Keys are what rules compute: never cut them.
		for i, part := range pane.HangWrap(keyStyle.Render(pane.Clean(it.Key)), max(w-1, 1)) {
			if i > 0 {
				mark = " "
			}
			add(mark + part)
		}
		for _, l := range describeItem(st, it, ref) {
			for _, part := range pane.WrapIndent(l, max(w-3, 1), 2) {
				add("   " + part)
			}
		}
	}
	if m.more {
		add(st.Muted.Render(fmt.Sprintf("… only the first %d keys are listed", Limit)))
	}
	if m.run != "" {
		calls := 0
		for _, s := range m.steps {
			calls += len(s.Ops)
		}
		add("")
		add(st.Group.Render(fmt.Sprintf("Trace of %s · %s", m.run, plural(calls, "call"))))
		for _, s := range m.steps {
			if len(m.steps) > 1 {
				add(st.Muted.Render(s.Label))
			}
			if len(s.Ops) == 0 && len(m.steps) == 1 {
				add(st.Muted.Render(" no cache calls"))
			}
			for _, op := range s.Ops {
				out = append(out, describeOp(st, op, w)...)
			}
		}
	}
	return out
}

func describeItem(st theme.Styles, it cache.Item, now time.Time) []string {
	var parts []string
	if it.IntCount != nil {
		parts = append(parts, st.Muted.Render("count ")+st.Text.Render(fmt.Sprint(*it.IntCount)))
	}
	if len(it.StringSet) > 0 {
		parts = append(parts, st.Muted.Render(fmt.Sprintf("set(%d) ", len(it.StringSet)))+st.Text.Render(pane.Clean(strings.Join(it.StringSet, ", "))))
	}
	if it.Dictionary != nil {
		parts = append(parts, st.Muted.Render("dict ")+st.Text.Render(pane.Clean(*it.Dictionary)))
	}
	if len(parts) == 0 {
		parts = append(parts, st.Muted.Render("(no value)"))
	}
	if it.ExpiresAt != nil {
		parts = append(parts, expiry(st, *it.ExpiresAt, now))
	}
	return parts
}

func expiry(st theme.Styles, at int64, now time.Time) string {
	t := time.Unix(at, 0).UTC()
	text := "expires " + t.Format("2006-01-02 15:04:05")
	if now.IsZero() {
		return st.Muted.Render(text)
	}
	d := t.Sub(now)
	if at <= now.Unix() {
		return st.Expired.Render(text) + st.Fail.Render(" expired "+span(-d)+" ago")
	}
	return st.Muted.Render(text + " (in " + span(d) + ")")
}

// span prints a duration to the minute, in days beyond two days.
func span(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Truncate(time.Minute).String(), "0s")
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func describeOp(st theme.Styles, op cache.Op, width int) []string {
	out := pane.HangWrap(" "+st.Accent.Render(op.Op)+" "+st.Text.Render(pane.Clean(op.Key)), max(width, 1))
	var res string
	if op.Error != "" {
		res = st.Fail.Render("raised " + pane.Clean(op.Error))
	} else {
		b, _ := json.Marshal(op.Result)
		res = st.Text.Render("→ " + ansi.Truncate(pane.Clean(string(b)), 80, "…"))
	}
	detail := "   " + res + " " + st.Muted.Render(change(op))
	changed := op.Before.Exists != op.After.Exists || !op.Before.Item.Equal(op.After.Item)
	if !op.Written && isWrite(op.Op) && op.Error == "" && changed {
		detail += st.Warn.Render(" (kept in memory, not written)")
	}
	return append(out, pane.WrapIndent(detail, max(width, 1), 5)...)
}

func isWrite(op string) bool {
	switch op {
	case cache.OpGetCounter, cache.OpGetStringSet, cache.OpGetDictionary:
		return false
	}
	return true
}

// change says what a call did to its item.
func change(op cache.Op) string {
	b, a := op.Before, op.After
	note := ""
	if b.Expired {
		note = " (was expired)"
	}
	switch {
	case !b.Exists && !a.Exists:
		return "absent" + note
	case !b.Exists:
		return "created" + note
	case !a.Exists:
		return "deleted" + note
	case b.Item.Equal(a.Item):
		return "unchanged" + note
	}
	var parts []string
	bi, ai := b.Item, a.Item
	if deref(bi.IntCount) != deref(ai.IntCount) {
		parts = append(parts, fmt.Sprintf("count %s→%s", deref(bi.IntCount), deref(ai.IntCount)))
	}
	if strings.Join(bi.StringSet, "\x00") != strings.Join(ai.StringSet, "\x00") {
		parts = append(parts, fmt.Sprintf("set %d→%d", len(bi.StringSet), len(ai.StringSet)))
	}
	if deref(bi.Dictionary) != deref(ai.Dictionary) {
		parts = append(parts, "dict changed")
	}
	if deref(bi.ExpiresAt) != deref(ai.ExpiresAt) {
		parts = append(parts, "expiry "+expiryTime(ai.ExpiresAt))
	}
	return strings.Join(parts, ", ") + note
}

func expiryTime(at *int64) string {
	if at == nil {
		return "removed"
	}
	return time.Unix(*at, 0).UTC().Format("01-02 15:04:05")
}

func deref[T any](p *T) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprint(*p)
}
