package replay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/alerts"
	"github.com/rulebench/rulebench/ui/pane"
	"github.com/rulebench/rulebench/ui/result"
	"github.com/rulebench/rulebench/ui/theme"
)

// ProgressTitle is the progress pane's title.
func (m Model) ProgressTitle() string {
	if m.scope.Label == "" {
		return "Replay"
	}
	return "Replay of " + m.scope.Label
}

// ProgressInfo is the progress pane's top-right note: the input.
func (m Model) ProgressInfo() string {
	n := len(m.scope.Files)
	if n == 1 {
		return shortPath(m.root, m.scope.Files[0])
	}
	return fmt.Sprintf("%d files", n)
}

func shortPath(root, p string) string {
	rel := strings.TrimPrefix(p, root+"/")
	return pane.Clean(rel)
}

// ProgressView is two lines: the bar with its percentage and ETA (or how
// the replay ended), and the counts.
func (m Model) ProgressView() string {
	st, w := m.st, m.progressW
	if !m.started {
		return st.Muted.Render("P replays the event files through the enabled rules; ctrl+p through the selected rule")
	}
	p := m.progress
	frac := 0.0
	if p.TotalBytes > 0 {
		frac = min(float64(p.ReadBytes)/float64(p.TotalBytes), 1)
	}
	var end string
	endStyle := st.Muted
	switch {
	case m.running && frac >= 1:
		// Everything is read; the last rounds are still being evaluated.
		frac = 0.99
		end = "ETA <1s"
	case m.running && frac > 0:
		secs := m.elapsed.Seconds() * (1 - frac) / frac
		end = "ETA " + (time.Duration(secs * float64(time.Second))).Round(time.Second).String()
	case m.running:
		end = "starting…"
	case errors.Is(m.err, context.Canceled):
		end, endStyle = "cancelled after "+result.FormatDuration(m.elapsed), st.Warn
	case m.err != nil:
		end, endStyle = "failed", st.Fail
	default:
		frac = 1
		end = "done in " + result.FormatDuration(m.elapsed)
	}
	pct := fmt.Sprintf("%3.0f%%", frac*100)
	// The bar's length does not follow the text after it: it would jump
	// as the ETA changes.
	const endW = 24
	end = pane.Fit(end, endW)
	barW := max(w-len(pct)-endW-4, 4)
	full := int(frac * float64(barW))
	barStyle := st.BarFull
	if !m.running && m.err == nil {
		barStyle = st.BarDone
	}
	bar := barStyle.Render(strings.Repeat(theme.GlyphBarFull, full)) + st.BarEmpty.Render(strings.Repeat(theme.GlyphBarEmpty, barW-full))
	line1 := bar + " " + st.Text.Render(pct) + "  " + endStyle.Render(end)

	rate := 0.0
	if s := m.elapsed.Seconds(); s > 0 {
		rate = float64(p.Events) / s
	}
	_, _, _, delivered := m.Counts()
	sep := st.Muted.Render(" · ")
	errStyle := st.Text
	if m.errors > 0 {
		errStyle = st.Fail
	}
	parts := []string{
		st.Text.Render(plural(p.Events, "event")),
		st.Text.Render(plural(m.matched, "match")),
		errStyle.Render(plural(m.errors, "error")),
		st.Warn.Render(plural(int64(delivered), "alert")),
	}
	if m.badN > 0 {
		parts = append(parts, st.Fail.Render(fmt.Sprintf("%d bad input", m.badN)))
	}
	parts = append(parts, st.Text.Render(engine.Count(rate)+" events/s"))
	line2 := strings.Join(parts, sep)
	if m.err != nil && !errors.Is(m.err, context.Canceled) {
		line2 = st.Fail.Render(pane.Clean(m.err.Error()))
	} else if m.badN > 0 && len(m.bad) > 0 && !m.running {
		line2 += sep + st.Muted.Render(pane.Clean(strings.ReplaceAll(m.bad[0], m.root+"/", "")))
	}
	return pane.Fit(line1, w) + "\n" + pane.Fit(line2, w)
}

// ListTitle is the alert list's title.
func (m Model) ListTitle() string { return "Alerts" }

// ListInfo counts the alerts by kind.
func (m Model) ListInfo() string {
	delivered, errs, held := m.delivered, m.errAlerts, m.held
	parts := []string{fmt.Sprint(delivered)}
	if errs > 0 {
		parts = append(parts, fmt.Sprintf("%d err", errs))
	}
	if held > 0 {
		parts = append(parts, fmt.Sprintf("%d held", held))
	}
	return strings.Join(parts, " · ")
}

// ListView draws the alerts, two lines each.
func (m Model) ListView() string {
	st := m.st
	if len(m.order) == 0 {
		switch {
		case !m.started:
			return st.Muted.Render("no replay yet")
		case m.running:
			return st.Muted.Render("no alert yet…")
		}
		return st.Muted.Render("no alert")
	}
	var lines []string
	start, end := m.list.Visible()
	for i := start; i < end; i++ {
		lines = append(lines, m.alertRow(m.order[i], i == m.list.Cursor)...)
	}
	return strings.Join(lines, "\n")
}

// alertLines is how many lines an alert takes in the list: two when its
// rule, count and times fit on the second line, else three.
func alertLines(width int) int {
	if width >= 72 {
		return 2
	}
	return 3
}

func (m Model) alertRow(a *alerts.Alert, selected bool) []string {
	st, w := m.st, m.listW
	cursor := " "
	if selected {
		cursor = theme.GlyphCursor
	}
	glyph, glyphStyle := theme.GlyphAlert, st.Severity(a.Severity)
	sev, sevStyle := theme.SeverityLabel(a.Severity), st.Severity(a.Severity)
	titleStyle := st.Text
	switch {
	case a.Error:
		glyph, glyphStyle = theme.GlyphError, st.Fail
		sev, sevStyle = "ERR ", st.Fail
	case !a.Delivered:
		glyph, glyphStyle = theme.GlyphQuiet, st.Muted
		sevStyle, titleStyle = st.Muted, st.Muted
	}
	title := pane.Clean(strings.ReplaceAll(a.Title, "\n", " "))
	count := plural(int64(a.Events), "event")
	if !a.Error && !a.Delivered {
		count = fmt.Sprintf("%d/%d below threshold", a.Events, a.Threshold)
	}
	meta := joinNonEmpty(" · ", count, span(a.FirstTime, a.LastTime))
	rule := pane.Clean(a.RuleID)
	const indent = "   "
	var rest []string
	if alertLines(w) == 2 {
		rest = []string{indent + meta + " · " + trimLeft(rule, max(w-len(indent)-ansi.StringWidth(meta)-3, 8))}
	} else {
		for short := 1; short <= 2 && ansi.StringWidth(meta) > w-len(indent); short++ {
			meta = joinNonEmpty(" · ", count, shortSpan(a.FirstTime, a.LastTime, short))
		}
		rest = []string{indent + trimLeft(rule, w-len(indent)), indent + meta}
	}
	if selected {
		style := st.SelectedBlur
		if m.focus == PartList {
			style = st.Selected
		}
		out := []string{style.Render(pane.Fit(cursor+glyph+" "+sev+" "+title, w))}
		for _, l := range rest {
			out = append(out, style.Render(pane.Fit(l, w)))
		}
		return out
	}
	out := []string{cursor + glyphStyle.Render(glyph) + " " + sevStyle.Render(sev) + " " + titleStyle.Render(ansi.Truncate(title, max(w-8, 1), "…"))}
	for _, l := range rest {
		out = append(out, st.Muted.Render(ansi.Truncate(l, max(w, 1), "…")))
	}
	return out
}

// shortSpan is span made shorter: at level 1 without the date when the
// events are on one day, at level 2 without seconds too.
func shortSpan(first, last time.Time, level int) string {
	if first.IsZero() {
		return ""
	}
	first, last = first.UTC(), last.UTC()
	clock := "15:04:05"
	if level > 1 {
		clock = "15:04"
	}
	if last.IsZero() || last.Equal(first) {
		return first.Format(clock)
	}
	if first.YearDay() == last.YearDay() && first.Year() == last.Year() {
		return first.Format(clock) + theme.GlyphArrow + last.Format(clock)
	}
	if level > 1 {
		return first.Format("01-02") + theme.GlyphArrow + last.Format("01-02")
	}
	return first.Format("01-02 15:04") + theme.GlyphArrow + last.Format("01-02 15:04")
}

// span is an alert's first to last event time, as short as it reads: the
// time of day alone when both are on one day.
func span(first, last time.Time) string {
	if first.IsZero() {
		return ""
	}
	first, last = first.UTC(), last.UTC()
	if last.Equal(first) || last.IsZero() {
		return first.Format("01-02 15:04:05")
	}
	if first.YearDay() == last.YearDay() && first.Year() == last.Year() {
		return first.Format("01-02 15:04:05") + theme.GlyphArrow + last.Format("15:04:05")
	}
	return first.Format("01-02 15:04") + theme.GlyphArrow + last.Format("01-02 15:04")
}

// DetailTitle is the detail pane's title.
func (m Model) DetailTitle() string {
	if m.showEvent {
		return "Alert events"
	}
	return "Alert results"
}

// DetailInfo is how much of the detail lies below.
func (m Model) DetailInfo() string {
	if more := m.detail.More(); more > 0 {
		return fmt.Sprintf("%d more ↓", more)
	}
	return ""
}

// DetailView draws the selected alert.
func (m Model) DetailView() string { return strings.Join(m.detail.Visible(), "\n") }

const labelWidth = 13

type block struct {
	st    theme.Styles
	width int
	out   []string
}

func (b *block) add(lines ...string) { b.out = append(b.out, lines...) }

// field adds "label  value", the value wrapped under itself at spaces and,
// in a long word, at breaks (for IDs, paths and ARNs).
func (b *block) field(label, value string, style lipgloss.Style) {
	b.fieldBreaks(label, value, style, "/:,.")
}

func (b *block) fieldBreaks(label, value string, style lipgloss.Style, breaks string) {
	if value == "" {
		return
	}
	value = pane.Clean(value)
	w := max(b.width-labelWidth, 8)
	for i, l := range strings.Split(ansi.Wrap(value, w, breaks), "\n") {
		head := strings.Repeat(" ", labelWidth)
		if i == 0 {
			head = b.st.Label.Render(fmt.Sprintf("%-*s", labelWidth, label))
		}
		b.add(head + style.Render(l))
	}
}

// rule is a separator line with a caption.
func (b *block) rule(caption string) {
	line := theme.GlyphRule + theme.GlyphRule + " " + caption + " "
	fill := max(b.width-ansi.StringWidth(line), 0)
	b.add(b.st.Muted.Render(line + strings.Repeat(theme.GlyphRule, fill)))
}

func (m *Model) renderDetail(keepOffset bool) {
	a, _ := m.Selected()
	m.shown = a
	m.shownEvents = 0
	if a != nil {
		m.shownEvents = a.Events
	}
	if m.detailW <= 0 {
		return
	}
	m.detail.SetLines(m.detailLines(a), keepOffset)
}

func (m Model) detailLines(a *alerts.Alert) []string {
	st := m.st
	b := &block{st: st, width: m.detailW}
	if a == nil {
		switch {
		case !m.started:
			b.add(st.Muted.Render("P replays the event files through the enabled rules"))
		case m.running:
			b.add(st.Muted.Render("alerts appear here as they form"))
		default:
			b.add(st.Muted.Render("the replay raised no alert"))
		}
		return b.out
	}
	var badge string
	switch {
	case a.Error:
		badge = st.Fail.Render(theme.GlyphError + " RULE ERROR")
	case a.Delivered:
		badge = st.Warn.Render(theme.GlyphAlert + " ALERT")
	default:
		badge = st.Muted.Render(theme.GlyphQuiet + " BELOW THRESHOLD")
	}
	head := badge + " " + st.Severity(a.Severity).Render(strings.ToUpper(a.Severity))
	for _, l := range strings.Split(ansi.Wrap(head, max(m.detailW, 1), ""), "\n") {
		b.add(l)
	}
	if a.Error {
		b.field("error", a.Title, st.Fail)
	} else {
		b.field("title", a.Title, st.Bold)
	}
	b.field("rule", a.RuleID, st.Text)
	events := plural(int64(a.Events), "event")
	switch {
	case a.Error:
	case a.Delivered && a.Threshold > 1:
		events += fmt.Sprintf(", delivered at threshold %d", a.Threshold)
	case !a.Delivered:
		events += fmt.Sprintf(" of the %d its threshold needs: not delivered", a.Threshold)
	}
	b.field("events", events, st.Text)
	if !a.FirstTime.IsZero() {
		first, last := a.FirstTime.UTC(), a.LastTime.UTC()
		when := first.Format("2006-01-02 15:04:05")
		switch {
		case last.Equal(first) || last.IsZero():
		case first.Format("2006-01-02") == last.Format("2006-01-02"):
			when += " " + theme.GlyphArrow + " " + last.Format("15:04:05")
		default:
			when += " " + theme.GlyphArrow + " " + last.Format("2006-01-02 15:04:05")
		}
		b.fieldBreaks("first, last", when, st.Text, "")
	}
	if !a.Error {
		b.field("dedup", a.Dedup, st.Text)
	}
	if !a.Error && len(m.samples[a]) == 0 {
		// Without a kept result, the alert's own fields are all there is.
		dest := "default (by severity)"
		switch {
		case a.Suppressed:
			dest = "none (suppressed by destinations())"
		case len(a.Destinations) > 0:
			dest = strings.Join(a.Destinations, ", ")
		}
		b.field("destinations", dest, st.Text)
	}
	var refs []string
	for _, s := range a.Samples {
		refs = append(refs, fmt.Sprintf("%s:%d", s.File, s.Line))
	}
	more := ""
	if a.Events > len(a.Samples) {
		more = fmt.Sprintf(" (+%d more)", a.Events-len(a.Samples))
	}
	b.fieldBreaks("samples", strings.Join(refs, ", ")+more, st.Muted, "")

	kept := m.samples[a]
	for i, s := range kept {
		run := m.sampleRun(a, s)
		b.add("")
		b.rule(fmt.Sprintf("event %d of %d", i+1, a.Events))
		if m.showEvent {
			b.add(result.EventLines(st, run.Item, a.Detection, m.detailW, "")...)
			continue
		}
		b.add(result.Lines(st, run, m.detailW, m.root)...)
	}
	if len(kept) < len(a.Samples) {
		b.add("")
		b.add(st.Muted.Render(fmt.Sprintf("(results of %d sample events not kept: the view keeps %d results in all)", len(a.Samples)-len(kept), KeptResults)))
	}
	return b.out
}

// ProfileTitle is the profile pane's title.
func (m Model) ProfileTitle() string { return "Profile" }

// ProfileInfo says when the timings arrive.
func (m Model) ProfileInfo() string {
	switch {
	case m.running:
		return "timings at the end"
	case m.started && (m.summary == nil || m.err != nil):
		return "incomplete"
	case m.dropped > 0:
		return fmt.Sprintf("%d columns hidden", m.dropped)
	}
	if more := m.table.More(); more > 0 {
		return fmt.Sprintf("%d more ↓", more)
	}
	return ""
}

// ProfileView draws the table, its header kept in view.
func (m Model) ProfileView() string {
	if !m.started {
		return m.st.Muted.Render("no replay yet")
	}
	return strings.Join(append([]string{m.tableHead}, m.table.Visible()...), "\n")
}

// profileRow is one detection's row: live counts while the replay runs,
// the engine's profile once it is done.
type profileRow struct {
	rule                    string
	events, matched, errors int64
	alerts                  int
	mean, p99               float64
	cachePerEvent           float64
	cacheUnmatched          int64
	cacheBeforeNeeded, done bool
	callsPerEvent           float64
	calls                   int64
}

type column struct {
	head  string
	width int
	// keep orders the columns to drop when the table is too wide: lowest
	// first.
	keep int
	cell func(r profileRow) string
}

func (m Model) columns() []column {
	dash := func(done bool, s string) string {
		if !done {
			return "–"
		}
		return s
	}
	cols := []column{
		{"EVENTS", 7, 2, func(r profileRow) string { return dash(r.done, engine.Count(float64(r.events))) }},
		{"MATCHED", 7, 9, func(r profileRow) string { return engine.Count(float64(r.matched)) }},
		{"ERRORS", 6, 7, func(r profileRow) string { return engine.Count(float64(r.errors)) }},
		{"ALERTS", 6, 8, func(r profileRow) string { return engine.Count(float64(r.alerts)) }},
		{"MEAN", 7, 3, func(r profileRow) string { return dash(r.done, micros(r.mean)) }},
		{"P99", 7, 6, func(r profileRow) string { return dash(r.done, micros(r.p99)) }},
		{"CACHE/EV", 8, 5, func(r profileRow) string { return dash(r.done, fmt.Sprintf("%.3f", r.cachePerEvent)) }},
		{"CACHE-NM", 8, 4, func(r profileRow) string { return dash(r.done, engine.Count(float64(r.cacheUnmatched))) }},
	}
	if m.calls != nil {
		cols = append(cols, column{"CALLS/EV", 8, 5, func(r profileRow) string {
			if r.calls == 0 {
				return "0"
			}
			return fmt.Sprintf("%.3f", r.callsPerEvent)
		}})
	}
	return cols
}

// micros prints a duration given in microseconds.
func micros(us float64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%.1fµs", us)
	case us < 1e6:
		return fmt.Sprintf("%.1fms", us/1000)
	}
	return fmt.Sprintf("%.2fs", us/1e6)
}

func (m Model) rows() []profileRow {
	alertsPerRule := map[string]int{}
	for _, a := range m.grouper.Delivered() {
		if !a.Error {
			alertsPerRule[a.RuleID]++
		}
	}
	var rows []profileRow
	for _, d := range m.scope.Detections {
		r := profileRow{rule: d.ID, alerts: alertsPerRule[d.ID]}
		if lr := m.perRule[d.ID]; lr != nil {
			r.matched, r.errors = lr.matched, lr.errors
		}
		if p, ok := m.profile[d.ID]; ok {
			r.done = true
			r.events, r.matched, r.errors, r.alerts = p.Events, p.Matched, p.Errors, p.Alerts
			r.mean, r.p99 = p.MeanUS, p.P99US
			r.cachePerEvent, r.cacheUnmatched, r.cacheBeforeNeeded = p.CacheCallsPerEvent, p.CacheCallsUnmatched, p.CacheBeforeNeeded
		}
		if c, ok := m.calls[d.ID]; ok {
			r.calls, r.callsPerEvent = c.Calls, c.CallsPerEvent
		}
		rows = append(rows, r)
	}
	return rows
}

// renderTable lays the profile out in the pane's width: the rule column
// takes what is left, and columns are dropped, least telling first, when
// even a short rule column does not fit.
func (m *Model) renderTable() {
	w := m.profileW
	if w <= 0 {
		return
	}
	st := m.st
	rows := m.rows()
	cols := m.columns()
	const ruleMin = 14
	width := func(cs []column) int {
		n := 0
		for _, c := range cs {
			n += c.width + 1
		}
		return n
	}
	for len(cols) > 0 && ruleMin+width(cols) > w {
		drop := 0
		for i, c := range cols {
			if c.keep < cols[drop].keep {
				drop = i
			}
		}
		cols = append(cols[:drop], cols[drop+1:]...)
	}
	longest := 4
	for _, r := range rows {
		longest = max(longest, ansi.StringWidth(r.rule))
	}
	// The first column flags the cache pitfall, whichever columns show.
	ruleW := min(max(w-2-width(cols), ruleMin), longest)
	line := func(flag, rule string, cells []string) string {
		var b strings.Builder
		b.WriteString(flag)
		b.WriteString(fmt.Sprintf("%-*s", ruleW, rule))
		for i, c := range cols {
			b.WriteString(" ")
			b.WriteString(fmt.Sprintf("%*s", c.width, cells[i]))
		}
		return b.String()
	}
	heads := make([]string, len(cols))
	for i, c := range cols {
		heads[i] = c.head
	}
	m.tableHead = st.Label.Render(pane.Fit(line("  ", "RULE", heads), w))
	m.dropped = len(m.columns()) - len(cols)
	var out []string
	flagged := false
	for _, r := range rows {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = c.cell(r)
		}
		flag := "  "
		if r.cacheBeforeNeeded {
			flag = theme.GlyphWarn + " "
		}
		text := line(flag, trimLeft(pane.Clean(r.rule), ruleW), cells)
		style := st.Text
		switch {
		case r.errors > 0:
			style = st.Fail
		case r.cacheBeforeNeeded:
			style = st.Warn
		case r.matched == 0:
			style = st.Muted
		}
		flagged = flagged || r.cacheBeforeNeeded
		out = append(out, style.Render(text))
	}
	if flagged {
		out = append(out, "", st.Warn.Render(theme.GlyphWarn+" cache used before it is necessary"),
			st.Muted.Render("  most of the rule's cache calls came on events it did not match: filter before the cache"))
	}
	if m.calls != nil {
		mode := ""
		if m.callsMode != "" {
			mode = " (" + m.callsMode + ")"
		}
		out = append(out, st.Muted.Render("CALLS/EV: outside calls"+mode+" per evaluated event, on every event, matched or not"))
	}
	if m.callsErr != nil {
		out = append(out, st.Fail.Render("outside calls: "+pane.Clean(m.callsErr.Error())))
	}
	// Long notes wrap rather than run out of the pane.
	var wrapped []string
	for _, l := range out {
		wrapped = append(wrapped, pane.WrapIndent(l, w, 2)...)
	}
	m.table.SetHeight(max(m.profileH-1, 1))
	m.table.SetLines(wrapped, true)
}

// ProfileLines is how many lines the profile needs: its header, a row per
// detection and its notes.
// It does not depend on the width (notes are counted unwrapped), so the
// layout that asks does not change with the size it gives.
func (m Model) ProfileLines() int {
	if !m.started {
		return 1
	}
	n := 1 + len(m.scope.Detections)
	for _, row := range m.profile {
		if row.CacheBeforeNeeded {
			n += 3
			break
		}
	}
	if m.calls != nil {
		n++
	}
	if m.callsErr != nil {
		n++
	}
	return n
}
