package result

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/eventlist"
	"github.com/rulebench/rulebench/ui/theme"
)

var det = &repo.Detection{ID: "R", Kind: repo.KindRule}

func alertRun(seq int, title, dedup string) *Run {
	return &Run{
		Seq: seq, Detection: det,
		Item: eventlist.Item{Kind: eventlist.KindSample, Key: "file:x:3", Label: "nginx.jsonl:3", Raw: json.RawMessage(`{"a":1}`)},
		Result: &engine.Result{
			Output: json.RawMessage("true"), Alerted: true, Duration: 420 * time.Microsecond,
			Alert: &engine.Alert{Title: title, Dedup: dedup, Severity: "HIGH", Runbook: "Block the address.",
				AlertContext: json.RawMessage(`{"source_ip":"203.0.113.54","count":2}`)},
			Functions: map[string]engine.FunctionResult{
				"rule":  {Output: json.RawMessage("true")},
				"title": {Output: json.RawMessage(`"` + title + `"`)},
			},
			Stdout: "checked 203.0.113.54\n",
		},
	}
}

func model(w, h int) Model {
	m := New(theme.Monochrome())
	m.SetSize(w, h)
	return m
}

func TestAlertFields(t *testing.T) {
	m := model(70, 40)
	m.SetRun(alertRun(3, "Admin access from 203.0.113.54", "203.0.113.54"))
	view := m.View()
	for _, want := range []string{
		"● ALERT  nginx.jsonl:3 · run 3",
		"title        Admin access from 203.0.113.54",
		"dedup        203.0.113.54",
		"severity     HIGH",
		"destinations default (by severity)",
		"alert context",
		`    "source_ip": "203.0.113.54",`,
		"runbook      Block the address.",
		"✓ rule() true",
		"printed",
		"  checked 203.0.113.54",
		"took         0.42ms",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
}

func TestTestVerdictAndFunctionErrors(t *testing.T) {
	run := alertRun(1, "t", "d")
	run.Item = eventlist.Item{Kind: eventlist.KindTest, Label: "test dedup raises", Test: &repo.Test{Name: "dedup raises", ExpectedResult: true}}
	run.Result.Functions["dedup"] = engine.FunctionResult{Error: &engine.PyError{
		Type: "KeyError", Message: "'nope'", RuleLine: 5,
		Traceback: "Traceback (most recent call last):\n  File \"rules/bad.py\", line 5, in dedup\nKeyError: 'nope'",
	}}
	tr := engine.Judge(det, *run.Item.Test, run.Result)
	run.Test = &tr
	if run.ErrorLine() != 5 || run.Outcome() != eventlist.Fail {
		t.Fatalf("error line %d outcome %v", run.ErrorLine(), run.Outcome())
	}
	m := model(70, 60)
	m.SetRun(run)
	view := m.View()
	for _, want := range []string{
		"✗ FAIL ● alert  test dedup raises · run 1",
		"expected     rule() → true",
		"got          rule() → true",
		"failure      dedup(): KeyError: 'nope'",
		"✗ dedup() KeyError: 'nope'",
		"dedup()",
		"  at line 5 of the rule",
		`    File "rules/bad.py", line 5, in dedup`,
	} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
}

func TestPinnedRunIsComparedSideBySide(t *testing.T) {
	m := model(100, 30)
	m.SetRun(alertRun(1, "first", "same"))
	if msg := m.TogglePin(); !strings.Contains(msg, "pinned run 1") {
		t.Fatalf("pin: %q", msg)
	}
	m.SetRun(alertRun(2, "second", "same"))
	lines := strings.Split(m.View(), "\n")
	if !strings.Contains(lines[0], "pinned") || !strings.Contains(lines[0], "│ current") {
		t.Fatalf("header line %q", lines[0])
	}
	var title, dedup string
	for _, l := range lines {
		if strings.Contains(l, "title ") && title == "" {
			title = l
		}
		if strings.Contains(l, "dedup ") && dedup == "" {
			dedup = l
		}
	}
	if strings.Count(title, "≠ title") != 2 || !strings.Contains(title, "first") || !strings.Contains(title, "second") {
		t.Errorf("titles differ and are marked: %q", title)
	}
	if strings.Contains(dedup, "≠") {
		t.Errorf("equal dedups are not marked: %q", dedup)
	}
	if m.Info() != "pinned 1" {
		t.Errorf("info %q", m.Info())
	}
	m.TogglePin()
	if m.Pinned() != nil || strings.Contains(m.View(), "│ current") {
		t.Error("unpin")
	}
}

func TestPreviewErrorsAndLoadErrors(t *testing.T) {
	m := model(60, 30)
	it := eventlist.Item{Label: "test hit", Raw: json.RawMessage(`{"x":1}`), Test: &repo.Test{Name: "hit", ExpectedResult: true,
		Mocks: []repo.Mock{{ObjectName: "lookup", ReturnValue: json.RawMessage(`"False"`)}}}}
	m.SetPreview(it, det)
	for _, want := range []string{"test hit  not run yet: enter runs it", "expected     rule() → true", `mock         lookup → "False"`, `    "x": 1`} {
		if !strings.Contains(m.View(), want) {
			t.Errorf("preview lacks %q:\n%s", want, m.View())
		}
	}
	m.SetRun(&Run{Seq: 4, Detection: det, Item: it, Result: &engine.Result{Error: &engine.PyError{Type: "SyntaxError", Message: "invalid syntax", RuleLine: 2}}})
	if v := m.View(); !strings.Contains(v, "! ERROR") || !strings.Contains(v, "SyntaxError: invalid syntax") {
		t.Errorf("error view:\n%s", v)
	}
	m.SetBusy("⠋ running")
	if v := m.View(); !strings.HasPrefix(v, "⠋ running\n! ERROR") {
		t.Errorf("busy line goes above the content:\n%s", v)
	}
}

func TestTextFromRulesCannotDriveTheTerminal(t *testing.T) {
	m := model(70, 40)
	run := alertRun(1, "evil\x1b[2Jtitle", "d")
	run.Result.Stdout = "\x1b]0;pwned\x07\n"
	m.SetRun(run)
	view := m.View()
	if strings.Contains(view, "\x1b") {
		t.Fatalf("an escape sequence reached the screen: %q", view)
	}
	if !strings.Contains(view, `evil\x1b[2Jtitle`) || !strings.Contains(view, `\x1b]0;pwned\x07`) {
		t.Errorf("escaped text missing:\n%s", view)
	}
}

func TestSyntaxErrorLineComesFromTheMessage(t *testing.T) {
	d := &repo.Detection{ID: "R", PythonFile: "/repo/rules/ok.py"}
	run := &Run{Detection: d, Result: &engine.Result{Error: &engine.PyError{Type: "SyntaxError", Message: "invalid syntax (ok.py, line 2)"}}}
	if n := run.ErrorLine(); n != 2 {
		t.Errorf("line %d, want 2", n)
	}
	run.Result.Error.Message = "invalid syntax (helper.py, line 9)"
	if n := run.ErrorLine(); n != 0 {
		t.Errorf("a syntax error in another file marks line %d of the rule", n)
	}
}

// Outside calls are listed under the cache calls: what was called and the
// answer, where the answer came from, how long it took, which function
// made it, and for a call offline mode could not answer what to add.
func TestOutsideCalls(t *testing.T) {
	run := alertRun(2, "t", "d")
	run.Result.NetworkCalls = []engine.NetworkCall{
		{Kind: "aws", Target: "secretsmanager:GetSecretValue", Service: "secretsmanager", Operation: "GetSecretValue", Status: 200,
			Source: "fixture", Fixture: "/repo/fixtures/intel.yml:3", Function: "alert_context", DurationNS: 400000},
		{Kind: "http", Target: "GET https://intel.example.net/v1/ip/1.2.3.4", Method: "GET", URL: "https://intel.example.net/v1/ip/1.2.3.4?full=1",
			Status: 429, Source: "real", Function: "alert_context", DurationNS: 12000000},
		{Kind: "http", Target: "GET https://other.example.net/", Method: "GET", URL: "https://other.example.net/?q=1", Source: "missing", Function: "rule"},
		{Kind: "dns", Target: "dns evil.example.com", Source: "blocked", Function: "rule"},
	}
	m := model(100, 60)
	m.SetRoot("/repo")
	m.SetRun(run)
	view := m.View()
	for _, want := range []string{
		"outside calls (4)",
		"  ✓ secretsmanager:GetSecretValue → 200",
		"    fixture fixtures/intel.yml:3 · 0.40ms · alert_context()",
		"  ✗ GET https://intel.example.net/v1/ip/1.2.3.4 → 429",
		"    real · 12.0ms · alert_context()",
		"  ✗ GET https://other.example.net/ ! no fixture",
		"    rule()\n",
		`    add to a file in fixtures/:  http: [{method: GET, url: "https://other.example.net/*", json:`,
		"  ✗ dns evil.example.com ! blocked (offline)",
		"and AWS (boto3) calls can be answered offline",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	// Pinned beside a run without calls, the difference is marked.
	m.TogglePin()
	m.SetRun(alertRun(3, "t", "d"))
	if view := m.View(); !strings.Contains(view, "≠ outside calls (4)") {
		t.Errorf("compared:\n%s", view)
	}
}
