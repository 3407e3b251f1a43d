package triage

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/theme"
)

var (
	ok  = &repo.Detection{ID: "OK.Rule", SpecFile: "/r/ok.yml", Tests: []repo.Test{{Name: "hit"}, {Name: "miss"}}}
	bad = &repo.Detection{ID: "Bad.Rule", SpecFile: "/r/bad.yml", Tests: []repo.Test{
		{Name: "dedup raises", ExpectedResult: true, Data: json.RawMessage(`{"a":1}`), Line: 7},
		{Name: "fine", ExpectedResult: true},
	}}
	r = &repo.Repository{Root: "/r", Detections: []*repo.Detection{ok, bad},
		Errors: []*repo.LoadError{{File: "/r/broken.yml", Line: 3, Err: errors.New("bad indent")}}}
)

func pass(name string) engine.TestResult {
	return engine.TestResult{Name: name, Passed: true, Result: &engine.Result{Output: json.RawMessage("true")}}
}

func failing() engine.TestResult {
	return engine.TestResult{Name: "dedup raises", Expected: true, Failure: "dedup(): KeyError: 'nope'", Result: &engine.Result{
		Output: json.RawMessage("true"), Alerted: true,
		Functions: map[string]engine.FunctionResult{
			"rule":  {Output: json.RawMessage("true")},
			"dedup": {Error: &engine.PyError{Type: "KeyError", Message: "'nope'", RuleLine: 5, Traceback: "Traceback...\nKeyError: 'nope'"}},
		},
	}}
}

func TestFailuresFirstWithDetail(t *testing.T) {
	m := New(theme.Monochrome())
	m.SetSizes(40, 12, 70, 40)
	m.Start(r, r.Detections)
	if !m.Running() || !strings.Contains(m.ListView("*"), "0/4") {
		t.Fatalf("progress at start:\n%s", m.ListView("*"))
	}
	m.Add(engine.DetectionReport{Detection: ok, Tests: []engine.TestResult{pass("hit"), pass("miss")}})
	m.Add(engine.DetectionReport{Detection: bad, Tests: []engine.TestResult{failing(), pass("fine")}})
	m.Finish(nil, 0)
	list := m.ListView("*")
	want := []string{
		"3 passed, 1 failed",
		" ! broken.yml",
		" ✗ Bad.Rule (1/2 failed)",
		"▸✗   dedup raises",
		" ✓ OK.Rule (2)",
	}
	got := strings.Split(list, "\n")
	for i := range got {
		got[i] = strings.TrimRight(got[i], " ")
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("list:\n%s\nwant:\n%s", list, strings.Join(want, "\n"))
	}
	if m.ErrorLine() != 5 || m.DetailTitle() != "Bad.Rule › dedup raises" {
		t.Errorf("error line %d, title %q", m.ErrorLine(), m.DetailTitle())
	}
	detail := m.DetailView()
	for _, w := range []string{"bad.yml, test at line 7", "✗ FAIL", "expected     rule() → true", "failure      dedup(): KeyError: 'nope'", "at line 5 of the rule", `    "a": 1`} {
		if !strings.Contains(detail, w) {
			t.Errorf("detail lacks %q:\n%s", w, detail)
		}
	}
	// r asks for the selected test; enter opens it in the workbench.
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'r'}})
	if req := cmd().(RerunRequest); req.Detection != bad || req.TestName != "dedup raises" {
		t.Errorf("rerun request %+v", req)
	}
	_, cmd = m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if req := cmd().(OpenRequest); req.Detection != bad || req.TestName != "dedup raises" {
		t.Errorf("open request %+v", req)
	}
}

func TestRerunOfOneTestMerges(t *testing.T) {
	m := New(theme.Monochrome())
	m.SetSizes(40, 12, 70, 40)
	m.Start(r, r.Detections)
	m.Add(engine.DetectionReport{Detection: bad, Tests: []engine.TestResult{failing(), pass("fine")}})
	m.Finish(nil, 0)
	m.Add(engine.DetectionReport{Detection: bad, Tests: []engine.TestResult{pass("dedup raises")}})
	passed, failed, total := m.Counts()
	if passed != 2 || failed != 0 || total != 4 {
		t.Fatalf("counts %d %d %d", passed, failed, total)
	}
	if row, _ := m.Selected(); row.Report == nil || row.Report.Detection != bad || row.Test != nil {
		t.Fatalf("after the fix the detection's row stays selected: %+v", row)
	}
}
