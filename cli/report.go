package cli

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/theme"
)

func colorMode(mode string, isTerminal bool) theme.TextStyles {
	switch mode {
	case "always":
		r := lipgloss.NewRenderer(io.Discard)
		r.SetColorProfile(termenv.ANSI256)
		return theme.WithRenderer(r)
	case "never":
		return theme.Plain()
	}
	if !isTerminal {
		return theme.Plain()
	}
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.EnvColorProfile())
	return theme.WithRenderer(r)
}

// textReport writes the headless test output: per detection its ID, a line
// per test and under it a line per function, then a summary ending in
// "N passed, M failed".
type textReport struct {
	w         io.Writer
	st        theme.TextStyles
	showCache bool
	root      string
	// showCalls prints every outside call (failed ones always show).
	showCalls bool
}

func newTextReport(w io.Writer, st theme.TextStyles, showCache bool) *textReport {
	return &textReport{w: w, st: st, showCache: showCache}
}

func (t *textReport) detection(rep engine.DetectionReport) {
	d := rep.Detection
	fmt.Fprintf(t.w, "%s %s\n", t.st.Header.Render(d.ID), t.st.Muted.Render("("+relPath(t.root, d.SpecFile)+")"))
	if rep.LoadError != nil && len(rep.Tests) == 0 {
		fmt.Fprintf(t.w, "    %s import failed: %s\n", t.st.Fail.Render("[FAIL]"), rep.LoadError.Error())
		t.traceback(rep.LoadError.Traceback, 8)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(t.w, "    %s %s\n", t.st.Fail.Render("[FAIL]"), p)
	}
	if len(rep.Tests) == 0 && len(rep.Problems) == 0 && rep.LoadError == nil {
		fmt.Fprintf(t.w, "    %s\n", t.st.Muted.Render("no tests"))
	}
	for _, tr := range rep.Tests {
		t.test(d, tr)
	}
	fmt.Fprintln(t.w)
}

func (t *textReport) test(d *repo.Detection, tr engine.TestResult) {
	mark := t.st.Pass.Render("[PASS]")
	if !tr.Passed {
		mark = t.st.Fail.Render("[FAIL]")
	}
	fmt.Fprintf(t.w, "    %s %s\n", mark, tr.Name)
	r := tr.Result
	if r == nil {
		return
	}
	if r.Error != nil && r.Functions[mainName(d)].Error == nil {
		// Failures outside a function: import errors, timeouts, crashes, mocks.
		fmt.Fprintf(t.w, "        %s %s\n", t.st.Fail.Render("[FAIL]"), r.Error.Error())
		t.traceback(r.Error.Traceback, 12)
	}
	for _, name := range r.FunctionNames() {
		fn := r.Functions[name]
		switch {
		case fn.Error != nil:
			fmt.Fprintf(t.w, "        %s [%s] %s\n", t.st.Fail.Render("[FAIL]"), name, fn.Error.Error())
			t.traceback(fn.Error.Traceback, 12)
		case name == mainName(d) && tr.Mismatch:
			fmt.Fprintf(t.w, "        %s [%s] %s (expected %v)\n", t.st.Fail.Render("[FAIL]"), name, displayValue(fn.Output, 200), tr.Expected)
		default:
			fmt.Fprintf(t.w, "        %s [%s] %s\n", t.st.Pass.Render("[PASS]"), name, displayValue(fn.Output, 200))
			if fn.Warning != "" {
				fmt.Fprintf(t.w, "               %s\n", t.st.Warn.Render(fn.Warning))
			}
		}
	}
	if r.Stdout != "" && !tr.Passed {
		fmt.Fprintf(t.w, "        %s\n", t.st.Muted.Render("printed:"))
		for _, line := range strings.Split(strings.TrimRight(firstLines(r.Stdout, 10), "\n"), "\n") {
			fmt.Fprintf(t.w, "            %s\n", line)
		}
	}
	if t.showCache {
		for _, op := range r.CacheOps {
			fmt.Fprintf(t.w, "        %s %s\n", t.st.Accent.Render("cache"), formatOp(op))
		}
	}
	t.calls(r)
}

func (t *textReport) traceback(tb string, indent int) {
	tb = strings.TrimRight(tb, "\n")
	if tb == "" {
		return
	}
	pad := strings.Repeat(" ", indent)
	for _, line := range strings.Split(lastLinesOf(tb, 12), "\n") {
		fmt.Fprintf(t.w, "%s%s\n", pad, t.st.Muted.Render(line))
	}
}

func (t *textReport) summary(r *repo.Repository, reports []engine.DetectionReport, s summary) {
	w, st := t.w, t.st
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "%s\n", st.Fail.Render(fmt.Sprintf("Load errors (%d):", len(r.Errors))))
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %s\n", relLoadError(r.Root, e))
		}
		fmt.Fprintln(w)
	}
	var failed []string
	for _, rep := range reports {
		if rep.Detection != nil && !rep.Passed() {
			p, f := rep.Counts()
			what := fmt.Sprintf("%d of %d tests failed", f, p+f)
			if f == 0 {
				what = strings.Join(rep.Problems, "; ")
			}
			failed = append(failed, fmt.Sprintf("  %s: %s", rep.Detection.ID, what))
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "%s\n%s\n\n", st.Fail.Render(fmt.Sprintf("Failed detections (%d):", len(failed))), strings.Join(failed, "\n"))
	}
	fmt.Fprintf(w, "Detections: %d passed, %d failed %s\n", s.RulesPassed, s.RulesFailed,
		st.Muted.Render(fmt.Sprintf("(%s)", (time.Duration(s.DurationMS)*time.Millisecond).String())))
	line := fmt.Sprintf("%d passed, %d failed", s.TestsPassed, s.TestsFailed)
	if s.TestsFailed > 0 || s.RulesFailed > 0 || s.LoadErrors > 0 {
		fmt.Fprintln(w, st.Fail.Render(line))
	} else {
		fmt.Fprintln(w, st.Pass.Render(line))
	}
}

func mainName(d *repo.Detection) string {
	if d.Kind == repo.KindPolicy {
		return "policy"
	}
	return "rule"
}

// displayValue shows a function's output compactly: strings bare, other
// values as JSON, cut at limit characters.
func displayValue(raw json.RawMessage, limit int) string {
	if len(raw) == 0 {
		return "None"
	}
	var s string
	text := string(raw)
	if json.Unmarshal(raw, &s) == nil {
		text = s
	} else if string(raw) == "null" {
		text = "None"
	}
	text = strings.ReplaceAll(text, "\n", `\n`)
	if r := []rune(text); len(r) > limit {
		text = string(r[:limit]) + "…"
	}
	return text
}

func formatOp(op cache.Op) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s(%q", op.Op, op.Key)
	b.WriteString(")")
	if op.Error != "" {
		fmt.Fprintf(&b, " ! %s", op.Error)
		return b.String()
	}
	if op.Result != nil {
		res, _ := json.Marshal(op.Result)
		fmt.Fprintf(&b, " → %s", res)
	}
	if change := itemChange(op.Before, op.After); change != "" {
		fmt.Fprintf(&b, "  [%s]", change)
	}
	if !op.Written && isWrite(op.Op) {
		b.WriteString("  (not written: read-only)")
	}
	return b.String()
}

func isWrite(op string) bool {
	return !strings.HasPrefix(op, "get_")
}

// itemChange describes how an item's attributes changed.
func itemChange(before, after cache.ItemState) string {
	var parts []string
	attr := func(name string, a, b string) {
		if a != b {
			parts = append(parts, fmt.Sprintf("%s: %s → %s", name, orDash(a), orDash(b)))
		}
	}
	attr("intCount", intStr(before.Item.IntCount, before.Exists), intStr(after.Item.IntCount, after.Exists))
	attr("stringSet", setStr(before.Item.StringSet, before.Exists), setStr(after.Item.StringSet, after.Exists))
	attr("dictionary", strPtr(before.Item.Dictionary, before.Exists), strPtr(after.Item.Dictionary, after.Exists))
	attr("expiresAt", timeStr(before.Item.ExpiresAt, before.Exists), timeStr(after.Item.ExpiresAt, after.Exists))
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func intStr(p *int64, exists bool) string {
	if !exists || p == nil {
		return ""
	}
	return fmt.Sprint(*p)
}

func setStr(s []string, exists bool) string {
	if !exists || s == nil {
		return ""
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func strPtr(p *string, exists bool) string {
	if !exists || p == nil {
		return ""
	}
	if len(*p) > 80 {
		return (*p)[:80] + "…"
	}
	return *p
}

func timeStr(p *int64, exists bool) string {
	if !exists || p == nil {
		return ""
	}
	return time.Unix(*p, 0).UTC().Format(time.RFC3339)
}

func relPath(root, p string) string {
	if root == "" {
		return p
	}
	if rel, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

func relLoadError(root string, e *repo.LoadError) string {
	c := *e
	c.File = relPath(root, e.File)
	return c.Error()
}

func firstLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		return strings.Join(lines[:n], "") + fmt.Sprintf("… (%d more lines)\n", len(lines)-n)
	}
	return s
}

func lastLinesOf(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// JSON report.

type jsonReport struct {
	Summary    summary         `json:"summary"`
	Root       string          `json:"root"`
	LoadErrors []jsonLoadError `json:"load_errors"`
	Rules      []jsonDetection `json:"rules"`
}

type jsonLoadError struct {
	File  string `json:"file"`
	Line  int    `json:"line,omitempty"`
	Error string `json:"error"`
}

type jsonDetection struct {
	ID       string     `json:"id"`
	File     string     `json:"file"`
	Python   string     `json:"python_file"`
	Type     string     `json:"type"`
	Enabled  bool       `json:"enabled"`
	Passed   bool       `json:"passed"`
	Error    *string    `json:"error"`
	Problems []string   `json:"problems,omitempty"`
	Tests    []jsonTest `json:"tests"`
}

type jsonTest struct {
	Name       string                  `json:"name"`
	Passed     bool                    `json:"passed"`
	Expected   bool                    `json:"expected"`
	Result     json.RawMessage         `json:"result"`
	Error      *string                 `json:"error"`
	Failure    string                  `json:"failure,omitempty"`
	Traceback  string                  `json:"traceback,omitempty"`
	Functions  map[string]jsonFunction `json:"functions"`
	Alert      *engine.Alert           `json:"alert,omitempty"`
	Stdout     string                  `json:"stdout"`
	DurationMS float64                 `json:"duration_ms"`
	CacheOps   []cache.Op              `json:"cache_ops"`
	// NetworkCalls are the test's outside calls (HTTP, AWS).
	NetworkCalls []engine.NetworkCall `json:"network_calls"`
}

type jsonFunction struct {
	Output    json.RawMessage `json:"output"`
	Error     *string         `json:"error"`
	Traceback string          `json:"traceback,omitempty"`
	Line      int             `json:"line,omitempty"`
}

func errString(e *engine.PyError) *string {
	if e == nil {
		return nil
	}
	s := e.Error()
	return &s
}

func writeJSONReport(w io.Writer, r *repo.Repository, reports []engine.DetectionReport, s summary) error {
	out := jsonReport{Summary: s, Root: r.Root, LoadErrors: []jsonLoadError{}, Rules: []jsonDetection{}}
	for _, e := range r.Errors {
		out.LoadErrors = append(out.LoadErrors, jsonLoadError{File: relPath(r.Root, e.File), Line: e.Line, Error: e.Err.Error()})
	}
	for _, rep := range reports {
		if rep.Detection == nil {
			continue
		}
		d := rep.Detection
		jd := jsonDetection{
			ID: d.ID, File: relPath(r.Root, d.SpecFile), Python: relPath(r.Root, d.PythonFile),
			Type: string(d.Kind), Enabled: d.Enabled, Passed: rep.Passed(),
			Error: errString(rep.LoadError), Problems: rep.Problems, Tests: []jsonTest{},
		}
		for _, tr := range rep.Tests {
			res := tr.Result
			jt := jsonTest{
				Name: tr.Name, Passed: tr.Passed, Expected: tr.Expected, Failure: tr.Failure,
				Result: json.RawMessage("null"), Functions: map[string]jsonFunction{}, CacheOps: []cache.Op{},
				NetworkCalls: []engine.NetworkCall{},
			}
			if res != nil {
				if len(res.Output) > 0 {
					jt.Result = res.Output
				}
				jt.Error = errString(res.Error)
				if res.Error != nil {
					jt.Traceback = res.Error.Traceback
				}
				for name, fn := range res.Functions {
					jf := jsonFunction{Output: fn.Output, Error: errString(fn.Error)}
					if len(jf.Output) == 0 {
						jf.Output = json.RawMessage("null")
					}
					if fn.Error != nil {
						jf.Traceback = fn.Error.Traceback
						jf.Line = fn.Error.RuleLine
					}
					jt.Functions[name] = jf
				}
				jt.Alert = res.Alert
				jt.Stdout = res.Stdout
				jt.DurationMS = float64(res.Duration.Microseconds()) / 1000
				if res.CacheOps != nil {
					jt.CacheOps = res.CacheOps
				}
				if res.NetworkCalls != nil {
					jt.NetworkCalls = res.NetworkCalls
				}
			}
			jd.Tests = append(jd.Tests, jt)
		}
		out.Rules = append(out.Rules, jd)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// JUnit XML, as CI systems (GitHub, GitLab, Jenkins) render it.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	File     string      `xml:"file,attr,omitempty"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func writeJUnitReport(w io.Writer, r *repo.Repository, reports []engine.DetectionReport, s summary) error {
	suites := junitSuites{Name: "rulebench", Time: seconds(time.Duration(s.DurationMS) * time.Millisecond)}
	if len(r.Errors) > 0 {
		suite := junitSuite{Name: "load errors", Time: "0.000"}
		for _, e := range r.Errors {
			file := relPath(r.Root, e.File)
			suite.Cases = append(suite.Cases, junitCase{
				Name: file, Classname: "load", File: file, Line: e.Line, Time: "0.000",
				Error: &junitMessage{Message: e.Err.Error(), Type: "LoadError", Body: relLoadError(r.Root, e)},
			})
			suite.Tests++
			suite.Errors++
		}
		suites.Suites = append(suites.Suites, suite)
	}
	for _, rep := range reports {
		if rep.Detection == nil {
			continue
		}
		d := rep.Detection
		file := relPath(r.Root, d.SpecFile)
		suite := junitSuite{Name: d.ID, File: file, Time: seconds(rep.Duration)}
		for _, p := range rep.Problems {
			suite.Cases = append(suite.Cases, junitCase{Name: "requirements", Classname: d.ID, File: file, Time: "0.000",
				Failure: &junitMessage{Message: p, Type: "Requirement", Body: p}})
			suite.Tests++
			suite.Failures++
		}
		testLines := map[string]int{}
		for _, t := range d.Tests {
			testLines[t.Name] = t.Line
		}
		for _, tr := range rep.Tests {
			c := junitCase{Name: tr.Name, Classname: d.ID, File: file, Line: testLines[tr.Name], Time: "0.000"}
			if tr.Result != nil {
				c.Time = seconds(tr.Result.Duration)
				c.SystemOut = tr.Result.Stdout
			}
			if !tr.Passed {
				body := tr.Failure
				kind := "AssertionError"
				if tr.Result != nil && tr.Result.Error != nil {
					kind = tr.Result.Error.Type
					body += "\n" + tr.Result.Error.Traceback
				}
				if tr.Result != nil {
					for _, name := range tr.Result.FunctionErrors() {
						body += "\n" + tr.Result.Functions[name].Error.Traceback
					}
				}
				c.Failure = &junitMessage{Message: tr.Failure, Type: kind, Body: strings.TrimSpace(body)}
				suite.Failures++
			}
			suite.Tests++
			suite.Cases = append(suite.Cases, c)
		}
		suites.Suites = append(suites.Suites, suite)
	}
	for _, su := range suites.Suites {
		suites.Tests += su.Tests
		suites.Failures += su.Failures
		suites.Errors += su.Errors
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(suites); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
