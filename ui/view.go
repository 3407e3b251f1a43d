package ui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/rulebench/rulebench/engine/worker"
	"github.com/rulebench/rulebench/ui/pane"
	"github.com/rulebench/rulebench/ui/theme"
)

// Breakpoints of the layout.
const (
	// wideWidth: from here result, source and cache sit side by side;
	// below it they share the right-hand column and tab switches them.
	wideWidth = 120
	// tallHeight: from here source and cache are stacked in the wide
	// layout; below it they share the right column.
	tallHeight = 36
	minWidth   = 60
	minHeight  = 16
)

// box is a pane's outer size; a zero box is not shown.
type box struct{ w, h int }

func (b box) shown() bool { return b.w > 0 && b.h > 0 }

// layout is where every pane goes, computed on each update from the
// terminal size, the focus and the help's height.
type layout struct {
	bodyH int
	wide  bool
	leftW int
	// tall: the replay's profile spans the width under the other panes.
	tall  bool
	panes map[paneID]box
}

func (m *Model) computeLayout() layout {
	w := m.width
	helpH := lipgloss.Height(m.helpView())
	bodyH := max(m.height-2-helpH, 4)
	lay := layout{bodyH: bodyH, wide: w >= wideWidth, panes: map[paneID]box{}}
	if lay.wide {
		lay.leftW = min(max(w/4, 32), 48)
	} else {
		lay.leftW = min(max(w*2/5, 30), 44)
	}
	rest := w - lay.leftW
	if m.screen == screenReplay {
		m.replayLayout(&lay)
	} else if m.screen == screenTriage {
		lay.panes[paneTriageList] = box{lay.leftW, bodyH}
		if lay.wide {
			half := rest / 2
			lay.panes[paneTriageDetail] = box{half, bodyH}
			lay.panes[paneTriageSource] = box{rest - half, bodyH}
		} else {
			lay.panes[m.triageRight] = box{rest, bodyH}
		}
	} else {
		// The rules pane takes what its list needs, up to half; the events
		// get the rest.
		rulesH := min((bodyH+1)/2, max(m.rules.Rows()+2, 5))
		lay.panes[paneRules] = box{lay.leftW, rulesH}
		lay.panes[paneEvents] = box{lay.leftW, bodyH - rulesH}
		if lay.wide {
			half := rest / 2
			lay.panes[paneResult] = box{half, bodyH}
			if m.height >= tallHeight {
				top := (bodyH + 1) / 2
				lay.panes[paneSource] = box{rest - half, top}
				lay.panes[paneCache] = box{rest - half, bodyH - top}
			} else {
				lay.panes[m.rightWide] = box{rest - half, bodyH}
			}
		} else {
			lay.panes[m.right] = box{rest, bodyH}
		}
	}
	if m.zoom {
		lay.panes = map[paneID]box{m.focus: {w, bodyH}}
	}
	return lay
}

// replayProgressH is the progress pane's height: two lines and the frame.
const replayProgressH = 4

// replayLayout places the replay view: the progress across the top, the
// alerts on the left, the selected alert's results beside them, then the
// rule's source and the profile; panes that do not fit take turns (tab).
func (m *Model) replayLayout(lay *layout) {
	w := m.width
	if lay.wide {
		lay.leftW = min(max(w/4, 36), 52)
	} else {
		lay.leftW = min(max(w*9/20, 34), 48)
	}
	lay.panes[paneReplayProgress] = box{w, replayProgressH}
	rowH := lay.bodyH - replayProgressH
	lay.tall = m.height >= tallHeight
	if lay.tall {
		profH := min(max(m.replay.ProfileLines()+2, 5), rowH*2/5)
		lay.panes[paneReplayProfile] = box{w, profH}
		rowH -= profH
	}
	lay.panes[paneReplayList] = box{lay.leftW, rowH}
	rest := w - lay.leftW
	switch {
	case lay.wide:
		half := rest / 2
		lay.panes[paneReplayDetail] = box{half, rowH}
		right := m.replayRightWide
		if lay.tall {
			right = paneReplaySource
		}
		lay.panes[right] = box{rest - half, rowH}
	case lay.tall:
		right := m.replayRight
		if right == paneReplayProfile {
			right = paneReplayDetail
		}
		lay.panes[right] = box{rest, rowH}
	default:
		lay.panes[m.replayRight] = box{rest, rowH}
	}
}

// resize lays the panes out and tells each its size. Hidden panes are
// sized as if shown in their usual place, so they are ready when they are.
func (m *Model) resize() {
	if m.width == 0 {
		return
	}
	m.help.Width = m.width
	m.lay = m.computeLayout()
	size := func(p paneID, fallback box) (int, int) {
		b, ok := m.lay.panes[p]
		if !ok {
			b = fallback
		}
		return max(b.w-2, 1), max(b.h-2, 1)
	}
	rest := box{m.width - m.lay.leftW, m.lay.bodyH}
	if m.lay.wide {
		rest.w /= 2
	}
	m.rules.SetSize(size(paneRules, box{m.lay.leftW, (m.lay.bodyH + 1) / 2}))
	m.events.SetSize(size(paneEvents, box{m.lay.leftW, m.lay.bodyH / 2}))
	m.result.SetSize(size(paneResult, rest))
	m.source.SetSize(size(paneSource, rest))
	m.cache.SetSize(size(paneCache, rest))
	lw, lh := size(paneTriageList, box{m.lay.leftW, m.lay.bodyH})
	dw, dh := size(paneTriageDetail, rest)
	m.triage.SetSizes(lw, lh, dw, dh)
	m.tsource.SetSize(size(paneTriageSource, rest))
	pw, _ := size(paneReplayProgress, box{m.width, replayProgressH})
	listW, listH := size(paneReplayList, box{m.lay.leftW, m.lay.bodyH - replayProgressH})
	detailW, detailH := size(paneReplayDetail, rest)
	profW, profH := size(paneReplayProfile, box{m.width - m.lay.leftW, m.lay.bodyH - replayProgressH})
	m.replay.SetSizes(pw, listW, listH, detailW, detailH, profW, profH)
	m.rsource.SetSize(size(paneReplaySource, rest))
}

// View draws the workbench.
func (m Model) View() string {
	if m.width == 0 {
		return ""
	}
	if m.width < minWidth || m.height < minHeight {
		return fmt.Sprintf("rulebench needs at least %d×%d (this terminal is %d×%d)", minWidth, minHeight, m.width, m.height)
	}
	var body string
	switch m.screen {
	case screenTriage:
		body = m.triageView()
	case screenReplay:
		body = m.replayView()
	default:
		body = m.benchView()
	}
	return strings.Join([]string{m.headerView(), body, m.statusView(), m.helpView()}, "\n")
}

func (m Model) render(p paneID, title, info, body string) string {
	b := m.lay.panes[p]
	if !b.shown() {
		return ""
	}
	return pane.Render(m.st, pane.Frame{Title: title, Info: info, Body: body, Width: b.w, Height: b.h, Focused: m.focus == p})
}

func (m Model) benchView() string {
	title := func(p paneID, name string) string { return pane.Title(m.st, name, m.focus == p) }
	rules := m.render(paneRules, title(paneRules, m.rules.Title()), m.rules.Info(), m.rules.View())
	events := m.render(paneEvents, title(paneEvents, m.events.Title()), m.events.Info(), m.events.View())
	// When panes share a column, their title lists the others: tab says
	// where it goes.
	var resultGroup, sourceGroup []paneID
	switch {
	case m.lay.wide && m.height >= tallHeight:
	case m.lay.wide:
		sourceGroup = []paneID{paneSource, paneCache}
	default:
		resultGroup = []paneID{paneResult, paneSource, paneCache}
		sourceGroup = resultGroup
	}
	sourceName := m.source.Title()
	titleFor := func(p paneID, name string) string {
		group := sourceGroup
		if p == paneResult {
			group = resultGroup
		}
		if len(group) < 2 || m.zoom {
			return title(p, name)
		}
		names := make([]string, len(group))
		for i, g := range group {
			switch g {
			case paneResult:
				names[i] = "Result"
			case paneSource:
				names[i] = "Source"
			case paneCache:
				names[i] = "Cache"
			}
			if g == p {
				names[i] = name
			}
		}
		return pane.Tabs(m.st, names, indexOf(group, p), m.focus == p)
	}
	result := m.render(paneResult, titleFor(paneResult, m.result.Title()), m.result.Info(), m.result.View())
	source := m.render(paneSource, titleFor(paneSource, sourceName), m.source.Info(), m.source.View())
	cache := m.render(paneCache, titleFor(paneCache, m.cache.Title()), m.cache.Info(), m.cache.View())
	if m.zoom {
		return firstNonEmpty(rules, events, result, source, cache)
	}
	left := lipgloss.JoinVertical(lipgloss.Left, rules, events)
	if m.lay.wide {
		right := lipgloss.JoinVertical(lipgloss.Left, nonEmpty(source, cache)...)
		return lipgloss.JoinHorizontal(lipgloss.Top, left, result, right)
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, left, firstNonEmpty(result, source, cache))
}

func (m Model) triageView() string {
	title := func(p paneID, name string) string { return pane.Title(m.st, name, m.focus == p) }
	list := m.render(paneTriageList, title(paneTriageList, "Tests"), m.triage.ListInfo(), m.triage.ListView(m.spin.View()))
	detailTitle := title(paneTriageDetail, m.triage.DetailTitle())
	sourceTitle := title(paneTriageSource, m.tsource.Title())
	if !m.lay.wide && !m.zoom {
		detailTitle = pane.Tabs(m.st, []string{m.triage.DetailTitle(), "Source"}, 0, m.focus == paneTriageDetail)
		sourceTitle = pane.Tabs(m.st, []string{"Detail", m.tsource.Title()}, 1, m.focus == paneTriageSource)
	}
	detail := m.render(paneTriageDetail, detailTitle, m.triage.DetailInfo(), m.triage.DetailView())
	source := m.render(paneTriageSource, sourceTitle, m.tsource.Info(), m.tsource.View())
	if m.zoom {
		return firstNonEmpty(list, detail, source)
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, nonEmpty(list, detail, source)...)
}

func (m Model) replayView() string {
	title := func(p paneID, name string) string { return pane.Title(m.st, name, m.focus == p) }
	// Panes sharing a column name the others in their title: tab says
	// where it goes.
	var group []paneID
	switch {
	case m.lay.wide && m.lay.tall:
	case m.lay.wide:
		group = []paneID{paneReplaySource, paneReplayProfile}
	case m.lay.tall:
		group = []paneID{paneReplayDetail, paneReplaySource}
	default:
		group = []paneID{paneReplayDetail, paneReplaySource, paneReplayProfile}
	}
	names := map[paneID]string{paneReplayDetail: "Results", paneReplaySource: "Source", paneReplayProfile: "Profile"}
	titleFor := func(p paneID, name string) string {
		if m.zoom || !slices.Contains(group, p) {
			return title(p, name)
		}
		tabs := make([]string, len(group))
		for i, g := range group {
			tabs[i] = names[g]
			if g == p {
				tabs[i] = name
			}
		}
		return pane.Tabs(m.st, tabs, indexOf(group, p), m.focus == p)
	}
	r := m.replay
	progress := m.render(paneReplayProgress, m.st.Title.Render(r.ProgressTitle()), r.ProgressInfo(), r.ProgressView())
	list := m.render(paneReplayList, title(paneReplayList, r.ListTitle()), r.ListInfo(), r.ListView())
	detail := m.render(paneReplayDetail, titleFor(paneReplayDetail, r.DetailTitle()), r.DetailInfo(), r.DetailView())
	source := m.render(paneReplaySource, titleFor(paneReplaySource, m.rsource.Title()), m.rsource.Info(), m.rsource.View())
	profile := m.render(paneReplayProfile, titleFor(paneReplayProfile, r.ProfileTitle()), r.ProfileInfo(), r.ProfileView())
	if m.zoom {
		return firstNonEmpty(list, detail, source, profile)
	}
	if m.lay.tall {
		row := lipgloss.JoinHorizontal(lipgloss.Top, nonEmpty(list, detail, source)...)
		return lipgloss.JoinVertical(lipgloss.Left, progress, row, profile)
	}
	row := lipgloss.JoinHorizontal(lipgloss.Top, nonEmpty(list, detail, source, profile)...)
	return lipgloss.JoinVertical(lipgloss.Left, progress, row)
}

func indexOf(list []paneID, p paneID) int {
	for i, x := range list {
		if x == p {
			return i
		}
	}
	return 0
}

func nonEmpty(parts ...string) []string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func firstNonEmpty(parts ...string) string {
	for _, p := range parts {
		if p != "" {
			return p
		}
	}
	return ""
}

func (m Model) headerView() string {
	st := m.st
	_, total, passed, failed := m.rules.Counts()
	left := st.Header.Render("rulebench") + " " + st.Text.Render(m.cfg.Label)
	counts := fmt.Sprintf(" · %d detections", total)
	if passed+failed > 0 {
		counts += fmt.Sprintf(" (%d✓ %d✗)", passed, failed)
	}
	left += st.Muted.Render(counts)
	if n := len(m.repo.Errors); n > 0 {
		left += st.Warn.Render(fmt.Sprintf(" · %d load errors", n))
	}
	py, ready, err := m.h.status()
	pyStyle := st.Muted
	switch {
	case err != nil:
		pyStyle, py = st.Fail, "python failed"
	case !ready:
		pyStyle = st.Warn
	}
	clock := st.Muted.Render("clock " + m.cfg.Cache.Clock.String())
	// Outside calls: offline is the quiet default; real mode (calls leave
	// the machine) and broken fixtures are news.
	var network string
	netNews := false
	if mode, _, nerr, ok := m.h.network(); ok {
		switch {
		case nerr != nil:
			network, netNews = st.Fail.Render("fixtures "+theme.GlyphFail), true
		case mode == worker.NetworkReal:
			network, netNews = st.Warn.Render("network real"), true
		default:
			network = st.Muted.Render("network " + mode)
		}
	}
	sep := st.Muted.Render(" · ")
	join := func(parts ...string) string { return strings.Join(nonEmpty(parts...), sep) }
	right := join(clock, network, pyStyle.Render(py))
	// Short of room, Python's version goes first, then the network mode,
	// unless they are news.
	fits := func(r string) bool { return ansi.StringWidth(left)+ansi.StringWidth(r)+2 <= m.width }
	if !fits(right) {
		pyPart := ""
		if !ready {
			pyPart = pyStyle.Render(py)
		}
		right = join(clock, network, pyPart)
		if !fits(right) && !netNews {
			right = join(clock, pyPart)
		}
		if !fits(right) {
			right = join(network, pyPart)
		}
	}
	gap := m.width - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		return pane.Fit(left, m.width)
	}
	return left + strings.Repeat(" ", gap) + right
}

func (m Model) statusView() string {
	text := m.status
	style := m.st.Status
	if m.statusErr {
		style = m.st.StatusError
	}
	if m.testing != nil {
		passed, failed, total := m.triage.Counts()
		text = fmt.Sprintf("%s running tests: %d/%d done, %d failed", m.spin.View(), passed+failed, total, failed)
		style = m.st.Text
	}
	return pane.Fit(style.Render(text), m.width)
}

// helpView is the footer: the focused pane's keys, then the global ones.
// bubbles/help can overrun its width with full help: lines are cut.
func (m Model) helpView() string {
	lines := strings.Split(m.help.View(m.helpMap()), "\n")
	for i, l := range lines {
		if ansi.StringWidth(l) > m.width {
			lines[i] = ansi.Truncate(l, m.width, "…")
		}
	}
	return strings.Join(lines, "\n")
}

func (m Model) helpMap() helpMap {
	k := m.keys
	var paneShort []key.Binding
	var paneFull [][]key.Binding
	switch m.focus {
	case paneRules:
		if m.rules.Filtering() {
			f := m.rules.KeyMap().FilterHelp()
			return helpMap{short: f, full: [][]key.Binding{f}}
		}
		paneShort, paneFull = m.rules.KeyMap().ShortHelp(), m.rules.KeyMap().FullHelp()
	case paneEvents:
		paneShort, paneFull = m.events.KeyMap().ShortHelp(), m.events.KeyMap().FullHelp()
	case paneResult:
		paneShort, paneFull = m.result.KeyMap().ShortHelp(), m.result.KeyMap().FullHelp()
	case paneSource, paneTriageSource:
		paneShort, paneFull = m.source.KeyMap().ShortHelp(), m.source.KeyMap().FullHelp()
	case paneCache:
		paneShort, paneFull = m.cache.KeyMap().ShortHelp(), m.cache.KeyMap().FullHelp()
	case paneTriageList, paneTriageDetail:
		paneShort, paneFull = m.triage.KeyMap().ShortHelp(), m.triage.KeyMap().FullHelp()
	case paneReplayList, paneReplayDetail, paneReplayProfile:
		paneShort, paneFull = m.replay.KeyMap().ShortHelp(), m.replay.KeyMap().FullHelp()
	case paneReplaySource:
		paneShort, paneFull = m.rsource.KeyMap().ShortHelp(), m.rsource.KeyMap().FullHelp()
	}
	if m.screen == screenReplay {
		return helpMap{
			short: append(paneShort, k.Replay, k.NextPane, k.Zoom, k.Cancel, k.Help, k.Quit),
			full: append(paneFull, []key.Binding{k.Replay, k.ReplayRule, k.ReplayView, k.Tests},
				[]key.Binding{k.NextPane, k.PrevPane, k.Move, k.Zoom, k.Cancel, k.Help, k.Quit}),
		}
	}
	if m.screen == screenTriage {
		global := []key.Binding{k.Tests, k.NextPane, k.Zoom, k.Help, k.Quit}
		return helpMap{
			short: append(paneShort, global...),
			full:  append(paneFull, []key.Binding{k.Tests, k.Triage, k.NextPane, k.PrevPane, k.Move, k.Zoom, k.Cancel, k.Help, k.Quit}),
		}
	}
	// The pane's own keys first: the global ones are the same everywhere
	// and ? lists them all.
	short := append(paneShort, k.Run, k.RunNext, k.Tests, k.NextPane, k.Filter, k.Help, k.Quit)
	// The pane's columns first: on a narrow terminal the last columns are
	// the ones left out.
	full := append(paneFull,
		[]key.Binding{k.Run, k.RunNext, k.RunRest, k.Tests, k.Triage, k.ReplayBoth, k.Pin, k.Edit, k.OpenRule},
		[]key.Binding{k.NextPane, k.PrevPane, k.Move, k.Filter, k.Zoom, k.ReplayView, k.Cancel, k.Help, k.Quit},
	)
	return helpMap{short: short, full: full}
}
