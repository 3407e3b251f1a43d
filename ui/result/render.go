package result

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/engine/worker"
	"github.com/rulebench/rulebench/ui/eventlist"
	"github.com/rulebench/rulebench/ui/highlight"
	"github.com/rulebench/rulebench/ui/pane"
	"github.com/rulebench/rulebench/ui/theme"
)

// Run is one run of a detection on one item, as the result pane shows it.
type Run struct {
	// Seq numbers runs, so that a re-run with the same output is still
	// visibly new.
	Seq       int
	Detection *repo.Detection
	Item      eventlist.Item
	Result    *engine.Result
	// Test is the judged outcome when the item ran as a unit test.
	Test *engine.TestResult
	// Fresh: the run had an empty cache of its own, not the shared one.
	Fresh bool
	// Err: the engine could not run the item at all.
	Err error
	// Index and Total place the run in a sequence of events (Total > 1).
	Index, Total int
}

// Outcome is the run's outcome as the events pane marks it.
func (r *Run) Outcome() eventlist.Outcome {
	switch {
	case r.Test != nil && r.Test.Passed:
		return eventlist.Pass
	case r.Test != nil:
		return eventlist.Fail
	case r.Err != nil || r.Result == nil || r.Result.Error != nil:
		return eventlist.Error
	case r.Result.Alerted:
		return eventlist.Alert
	}
	return eventlist.Quiet
}

// ErrorLine is the line of the detection's own file that the run's first
// error points at (0: none).
func (r *Run) ErrorLine() int {
	if r == nil || r.Result == nil {
		return 0
	}
	if e := r.Result.Error; e != nil && e.RuleLine > 0 {
		return e.RuleLine
	}
	if n := syntaxErrorLine(r.Result.Error, r.Detection); n > 0 {
		return n
	}
	for _, name := range r.Result.FunctionNames() {
		if e := r.Result.Functions[name].Error; e != nil && e.RuleLine > 0 {
			return e.RuleLine
		}
	}
	return 0
}

// syntaxLocation is where Python's message puts a syntax error: "invalid
// syntax (rule.py, line 2)".
var syntaxLocation = regexp.MustCompile(`\(([^(),]+), line (\d+)\)$`)

// syntaxErrorLine finds the line of a syntax error in the detection's file.
// The error has no frame in the file (it never ran), so the worker's
// rule_line is empty; the location is in the message.
func syntaxErrorLine(e *engine.PyError, d *repo.Detection) int {
	if e == nil || d == nil || d.PythonFile == "" {
		return 0
	}
	switch e.Type {
	case "SyntaxError", "IndentationError", "TabError":
	default:
		return 0
	}
	m := syntaxLocation.FindStringSubmatch(e.Message)
	if m == nil || filepath.Base(m[1]) != filepath.Base(d.PythonFile) {
		return 0
	}
	n, _ := strconv.Atoi(m[2])
	return n
}

// fieldValues are the parts of a run compared between pinned and current.
func fieldValues(r *Run) map[string]string {
	v := map[string]string{}
	if r == nil {
		return v
	}
	v["outcome"] = fmt.Sprint(r.Outcome())
	if r.Result == nil {
		return v
	}
	if a := r.Result.Alert; a != nil {
		v["title"], v["dedup"], v["severity"] = a.Title, a.Dedup, a.Severity
		v["destinations"] = destinations(a)
		v["alert context"] = string(a.AlertContext)
		v["description"], v["runbook"], v["reference"] = a.Description, a.Runbook, a.Reference
	}
	v["printed"] = r.Result.Stdout
	var calls []string
	for _, c := range r.Result.NetworkCalls {
		calls = append(calls, c.String())
	}
	v["outside calls"] = strings.Join(calls, "\n")
	if r.Result.Error != nil {
		v["error"] = r.Result.Error.Error()
	}
	return v
}

func destinations(a *engine.Alert) string {
	switch {
	case a.Suppressed:
		return "none (suppressed by destinations())"
	case len(a.Destinations) == 0:
		return "default (by severity)"
	}
	return strings.Join(a.Destinations, ", ")
}

// lines builds the text of a column.
type lines struct {
	st    theme.Styles
	width int
	// gutter is set when comparing: a column for the ≠ marker.
	gutter bool
	// root is cut from paths in tracebacks.
	root string
	out  []string
	// sections mark where each field starts in out, so that two runs
	// drawn side by side can be aligned field by field.
	sections []section
}

type section struct {
	key   string
	start int
}

// begin starts the section of a field.
func (b *lines) begin(key string) {
	b.sections = append(b.sections, section{key: key, start: len(b.out)})
}

// split returns the drawn lines cut into their sections.
func (b *lines) split() []block {
	var out []block
	for i, s := range b.sections {
		end := len(b.out)
		if i+1 < len(b.sections) {
			end = b.sections[i+1].start
		}
		out = append(out, block{key: s.key, lines: b.out[s.start:end]})
	}
	return out
}

type block struct {
	key   string
	lines []string
}

const labelWidth = 13

func (b *lines) stacked() bool { return b.width < 40 }

func (b *lines) add(s string) { b.out = append(b.out, s) }

func (b *lines) mark(diff bool) string {
	if !b.gutter {
		return ""
	}
	if diff {
		return b.st.Diff.Render(theme.GlyphDiff) + " "
	}
	return "  "
}

func (b *lines) inner() int {
	if b.gutter {
		return b.width - 2
	}
	return b.width
}

// field adds "label  value", the value wrapped under itself.
func (b *lines) field(label, value string, style lipgloss.Style, diff bool) {
	if value == "" {
		return
	}
	b.begin(label)
	value = pane.Clean(value)
	labelStyle := b.st.Label
	if diff {
		labelStyle = b.st.Diff
	}
	w := b.inner()
	if b.stacked() {
		b.add(b.mark(diff) + labelStyle.Render(label))
		for _, l := range wrap(value, w-2) {
			b.add(b.mark(false) + "  " + style.Render(l))
		}
		return
	}
	for i, l := range wrap(value, w-labelWidth) {
		head := strings.Repeat(" ", labelWidth)
		if i == 0 {
			head = labelStyle.Render(fmt.Sprintf("%-*s", labelWidth, label))
			b.add(b.mark(diff) + head + style.Render(l))
			continue
		}
		b.add(b.mark(false) + head + style.Render(l))
	}
}

// block adds a label on its own line and pre-styled lines under it. Long
// lines are cut at the edge and continue indented under themselves, which
// keeps JSON and tracebacks readable where word wrapping would not.
func (b *lines) block(label string, body []string, diff bool) {
	labelStyle := b.st.Label
	if diff {
		labelStyle = b.st.Diff
	}
	b.begin(label)
	b.add(b.mark(diff) + labelStyle.Render(label))
	for _, l := range body {
		for _, part := range pane.HangWrap(l, max(b.inner()-2, 1)) {
			b.add(b.mark(false) + "  " + part)
		}
	}
}

// breaks are where a value without spaces may wrap: ARNs, paths, keys.
const breaks = "/:,"

func wrap(s string, w int) []string {
	s = strings.TrimRight(s, "\n")
	if w < 1 {
		w = 1
	}
	var out []string
	for _, para := range strings.Split(s, "\n") {
		out = append(out, strings.Split(ansi.Wrap(para, w, breaks), "\n")...)
	}
	return out
}

// Lines draws a run on its own in width columns, for other views (test
// triage) that show runs.
func Lines(st theme.Styles, run *Run, width int, root string) []string {
	return render(st, run, nil, width, "", root).out
}

// EventLines draws an item's event (and a test's expectation and mocks).
func EventLines(st theme.Styles, it eventlist.Item, d *repo.Detection, width int, note string) []string {
	return renderEvent(st, it, d, width, note).out
}

// render draws run in width columns; other, when set, is the run it is
// compared with, and differing fields are marked.
func render(st theme.Styles, run, other *Run, width int, caption, root string) *lines {
	b := &lines{st: st, width: width, gutter: other != nil, root: root}
	mine, theirs := fieldValues(run), fieldValues(other)
	diff := func(k string) bool { return other != nil && mine[k] != theirs[k] }
	if caption != "" {
		b.begin("caption")
		b.add(st.Muted.Render(caption))
	}
	b.header(run, diff("outcome"))
	if run.Err != nil {
		b.field("could not run", run.Err.Error(), st.Fail, false)
		return b
	}
	res := run.Result
	if res == nil {
		return b
	}
	if t := run.Test; t != nil {
		main := mainFunction(run.Detection)
		b.field("expected", fmt.Sprintf("%s() → %v", main, t.Expected), st.Text, false)
		got := "error"
		var out bool
		if res.Error == nil && json.Unmarshal(res.Output, &out) == nil {
			got = fmt.Sprintf("%s() → %v", main, out)
		} else if res.Error == nil && len(res.Output) > 0 {
			got = fmt.Sprintf("%s() → %s", main, res.Output)
		}
		gotStyle := st.Pass
		if !t.Passed {
			gotStyle = st.Fail
		}
		b.field("got", got, gotStyle, false)
		if t.Failure != "" {
			b.field("failure", t.Failure, st.Fail, false)
		}
	}
	if a := res.Alert; a != nil {
		b.field("title", a.Title, st.Bold, diff("title"))
		b.field("dedup", a.Dedup, st.Text, diff("dedup"))
		b.field("severity", strings.ToUpper(a.Severity), st.Severity(a.Severity), diff("severity"))
		b.field("destinations", destinations(a), st.Text, diff("destinations"))
		ctx := highlight.JSON(a.AlertContext)
		body := make([]string, len(ctx))
		for i, l := range ctx {
			body[i] = l.Render(st, false)
		}
		b.block("alert context", body, diff("alert context"))
		b.field("description", a.Description, st.Text, diff("description"))
		b.field("runbook", a.Runbook, st.Text, diff("runbook"))
		b.field("reference", a.Reference, st.Accent, diff("reference"))
	}
	if e := res.Error; e != nil {
		b.pyError("error", e, diff("error"))
	}
	b.functions(res)
	if res.Stdout != "" {
		out := strings.Split(strings.TrimRight(pane.Clean(res.Stdout), "\n"), "\n")
		if res.StdoutTruncated > 0 {
			out = append(out, st.Warn.Render(fmt.Sprintf("… %d more bytes not kept", res.StdoutTruncated)))
		}
		b.block("printed", out, diff("printed"))
	}
	cacheNote := fmt.Sprintf("%d calls", len(res.CacheOps))
	if len(res.CacheOps) == 1 {
		cacheNote = "1 call"
	}
	if run.Fresh {
		cacheNote += " on a fresh test cache"
	} else {
		cacheNote += " on the shared cache"
	}
	if len(res.CacheOps) > 0 || !run.Fresh {
		b.field("cache", cacheNote, st.Muted, false)
	}
	b.calls(res.NetworkCalls, diff("outside calls"))
	b.field("took", FormatDuration(res.Duration), st.Muted, false)
	return b
}

// calls lists the outside calls (HTTP, AWS, refused connections) the
// evaluation made, beside its cache calls: what was called and the answer,
// then where the answer came from, how long it took and which function
// made it. A call offline mode could not answer says what to add.
func (b *lines) calls(calls []engine.NetworkCall, diff bool) {
	if len(calls) == 0 {
		return
	}
	st := b.st
	var body []string
	for _, c := range calls {
		glyph, style := st.Pass.Render(theme.GlyphPass), st.Text
		if c.Failed() {
			glyph, style = st.Fail.Render(theme.GlyphFail), st.Fail
		}
		// Lines are word-wrapped here: the block would cut them at the
		// edge, mid-word.
		w := max(b.inner()-2, 8)
		wrapped := func(line string, indent int) {
			body = append(body, pane.WrapIndent(line, w, indent)...)
		}
		// The target is cut at the edge (a URL has no spaces to wrap at).
		body = append(body, pane.HangWrap(glyph+" "+style.Render(pane.Clean(c.Target))+" "+st.Muted.Render(callAnswer(c)), w)...)
		var tags []string
		switch {
		case c.Source == worker.CallFixture && c.Fixture != "" && c.Fixture != "built-in":
			tags = append(tags, "fixture "+strings.TrimPrefix(c.Fixture, b.root+"/"))
		case c.Source == worker.CallFixture:
			tags = append(tags, "built-in answer")
		case c.Source == worker.CallReal:
			tags = append(tags, "real")
		}
		if c.DurationNS > 0 {
			tags = append(tags, FormatDuration(time.Duration(c.DurationNS)))
		}
		if c.Function != "" {
			tags = append(tags, c.Function+"()")
		}
		wrapped("  "+st.Muted.Render(pane.Clean(strings.Join(tags, " · "))), 2)
		if hint := c.FixtureHint(); hint != "" {
			wrapped("  "+st.Warn.Render(pane.Clean(hint)), 4)
		}
	}
	label := "outside calls"
	if len(calls) > 1 {
		label += fmt.Sprintf(" (%d)", len(calls))
	}
	b.block(label, body, diff)
	// The section is keyed without its count, so that runs with different
	// numbers of calls still line up side by side.
	b.sections[len(b.sections)-1].key = "outside calls"
}

// callAnswer is what a call got: an HTTP status, an AWS error code, or why
// it had no answer.
func callAnswer(c engine.NetworkCall) string {
	switch c.Source {
	case worker.CallMissing:
		if c.Kind == "aws" && c.Code != "" && c.Code != "RulebenchNoFixture" {
			return "! no fixture (answered " + c.Code + ")"
		}
		return "! no fixture"
	case worker.CallBlocked:
		return "! blocked (offline)"
	}
	var parts []string
	if c.Status != 0 {
		parts = append(parts, fmt.Sprintf("%s %d", theme.GlyphArrow, c.Status))
	}
	switch {
	case c.Code != "":
		parts = append(parts, c.Code)
	case c.Error != "":
		line, _, _ := strings.Cut(c.Error, "\n")
		parts = append(parts, "! "+line)
	}
	return strings.Join(parts, " ")
}

func (b *lines) header(run *Run, diff bool) {
	b.begin("header")
	st := b.st
	var badge string
	res := run.Result
	switch {
	case run.Test != nil && run.Test.Passed:
		badge = st.Pass.Render(theme.GlyphPass + " PASS")
	case run.Test != nil:
		badge = st.Fail.Render(theme.GlyphFail + " FAIL")
	case run.Err != nil || res == nil || res.Error != nil:
		badge = st.Fail.Render(theme.GlyphError + " ERROR")
	case res.Alerted:
		badge = st.Warn.Render(theme.GlyphAlert + " ALERT")
	default:
		badge = st.Muted.Render(theme.GlyphQuiet + " no alert")
	}
	if run.Test != nil && res != nil && res.Alerted {
		badge += " " + st.Warn.Render(theme.GlyphAlert+" alert")
	}
	where := pane.Clean(run.Item.Label)
	if run.Total > 1 {
		where += fmt.Sprintf(" (%d/%d)", run.Index+1, run.Total)
	}
	head := badge + "  " + st.Text.Render(where)
	if run.Seq > 0 {
		head += st.Muted.Render(fmt.Sprintf(" · run %d", run.Seq))
	}
	for i, l := range strings.Split(ansi.Wrap(head, max(b.inner(), 1), ""), "\n") {
		b.add(b.mark(diff && i == 0) + l)
	}
}

func (b *lines) pyError(label string, e *engine.PyError, diff bool) {
	st := b.st
	body := []string{st.Fail.Render(pane.Clean(e.Error()))}
	if e.RuleLine > 0 {
		body = append(body, st.Muted.Render(fmt.Sprintf("at line %d of the rule", e.RuleLine)))
	}
	tb := strings.TrimRight(pane.Clean(e.Traceback), "\n")
	if b.root != "" {
		tb = strings.ReplaceAll(tb, b.root+"/", "")
	}
	if tb != "" {
		for _, l := range strings.Split(tb, "\n") {
			body = append(body, st.Muted.Render(l))
		}
	}
	b.block(label, body, diff)
}

func (b *lines) functions(res *engine.Result) {
	names := res.FunctionNames()
	if len(names) == 0 {
		return
	}
	st := b.st
	var body []string
	var failed []string
	for _, name := range names {
		f := res.Functions[name]
		switch {
		case f.Error != nil:
			body = append(body, st.Fail.Render(fmt.Sprintf("%s %s() %s", theme.GlyphFail, name, pane.Clean(f.Error.Error()))))
			failed = append(failed, name)
		case name == "alert_context":
			body = append(body, st.Pass.Render(theme.GlyphPass)+" "+st.Text.Render(name+"()")+st.Muted.Render(" (above)"))
		default:
			out := string(f.Output)
			if out == "" {
				out = "None"
			}
			body = append(body, st.Pass.Render(theme.GlyphPass)+" "+st.Text.Render(name+"()")+" "+st.Muted.Render(ansi.Truncate(pane.Clean(out), 200, "…")))
		}
		if f.Warning != "" {
			body = append(body, "  "+st.Warn.Render(pane.Clean(f.Warning)))
		}
	}
	b.block("functions", body, false)
	for _, name := range failed {
		b.pyError(name+"()", res.Functions[name].Error, false)
	}
}

func mainFunction(d *repo.Detection) string {
	if d != nil && d.Kind == repo.KindPolicy {
		return "policy"
	}
	return "rule"
}

// FormatDuration prints a run's duration the way people read them.
func FormatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// renderEvent draws an item that has not been run: its JSON, and for a
// test its expectation and mocks.
func renderEvent(st theme.Styles, it eventlist.Item, d *repo.Detection, width int, note string) *lines {
	b := &lines{st: st, width: width}
	head := st.Text.Render(pane.Clean(it.Label)) + st.Muted.Render(note)
	b.begin("header")
	for _, l := range strings.Split(ansi.Wrap(head, max(width, 1), ""), "\n") {
		b.add(l)
	}
	if t := it.Test; t != nil {
		b.field("expected", fmt.Sprintf("%s() → %v", mainFunction(d), t.ExpectedResult), st.Text, false)
		for _, mk := range t.Mocks {
			b.field("mock", mk.ObjectName+" → "+string(mk.ReturnValue), st.Text, false)
		}
	}
	ev := highlight.JSON(it.Raw)
	body := make([]string, len(ev))
	for i, l := range ev {
		body[i] = l.Render(st, false)
	}
	b.block("event", body, false)
	return b
}
