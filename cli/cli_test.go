package cli

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(args, Env{Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), code
}

// A small repository with one passing rule, one failing rule and one broken
// spec, as a CI run would meet them.
func mixedRepo(t *testing.T) string {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"rules/ok.py": "def rule(event):\n    return event.get('status') == 200\n\ndef title(event):\n    return 'hit ' + event.get('ip')\n",
		"rules/ok.yml": `AnalysisType: rule
RuleID: OK.Rule
Filename: ok.py
Severity: Low
LogTypes: [Nginx.Access]
Tags: [web]
Tests:
  - {Name: hit, ExpectedResult: true, Log: {status: 200, ip: 1.2.3.4}}
  - {Name: miss, ExpectedResult: false, Log: {status: 404, ip: 1.2.3.4}}
`,
		"rules/bad.py": "def rule(event):\n    return True\n\ndef dedup(event):\n    return event['nope']\n",
		"rules/bad.yml": `AnalysisType: rule
RuleID: Bad.Rule
Filename: bad.py
Severity: Low
LogTypes: [Other]
Tests:
  - {Name: dedup raises, ExpectedResult: true, Log: {a: 1}}
  - {Name: wrong expectation, ExpectedResult: false, Log: {a: 1}}
`,
		"rules/broken.yml": "AnalysisType: rule\nRuleID: Broken\nFilename: x.py\n\tSeverity: Low\n",
	})
	return dir
}

func TestTestCommandText(t *testing.T) {
	out, _, code := run(t, "test", mixedRepo(t), "--workers", "2")
	if code != ExitFailed {
		t.Errorf("exit code %d, want %d", code, ExitFailed)
	}
	for _, want := range []string{
		"OK.Rule", "[PASS] hit", "[PASS] [title] hit 1.2.3.4",
		"Bad.Rule", "[FAIL] dedup raises", "[FAIL] [dedup] KeyError: 'nope'",
		"[FAIL] wrong expectation", "Load errors (1):", "broken.yml: line ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; last != "2 passed, 2 failed" {
		t.Errorf("last line %q", last)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes in output that is not a terminal")
	}
}

func TestTestCommandJSON(t *testing.T) {
	out, _, code := run(t, "test", mixedRepo(t), "--format", "json")
	if code != ExitFailed {
		t.Errorf("exit code %d", code)
	}
	var rep struct {
		Summary    map[string]int `json:"summary"`
		LoadErrors []struct {
			File, Error string
			Line        int
		} `json:"load_errors"`
		Rules []struct {
			ID, File, Type string
			Error          *string
			Tests          []struct {
				Name      string
				Passed    bool
				Expected  bool
				Result    any
				Error     *string
				Functions map[string]struct {
					Output any
					Error  *string
				}
				Stdout     string
				DurationMS *float64 `json:"duration_ms"`
			}
		} `json:"rules"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Summary["tests_passed"] != 2 || rep.Summary["tests_failed"] != 2 || rep.Summary["rules_passed"] != 1 || rep.Summary["rules_failed"] != 1 {
		t.Errorf("summary %v", rep.Summary)
	}
	if len(rep.LoadErrors) != 1 || rep.LoadErrors[0].File != "rules/broken.yml" || rep.LoadErrors[0].Line == 0 {
		t.Errorf("load errors %+v", rep.LoadErrors)
	}
	var bad = rep.Rules[0]
	if bad.ID != "Bad.Rule" || bad.File != "rules/bad.yml" || bad.Type != "rule" {
		t.Fatalf("rules[0] = %+v", bad)
	}
	tr := bad.Tests[0]
	if tr.Passed || tr.Result != true || tr.Functions["dedup"].Error == nil || tr.Functions["rule"].Output != true || tr.DurationMS == nil {
		t.Errorf("dedup test = %+v", tr)
	}
}

func TestTestCommandJUnitAndFilters(t *testing.T) {
	dir := mixedRepo(t)
	out, _, code := run(t, "test", dir, "--format", "junit", "--tag", "web")
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(out), &suites); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// Only OK.Rule is tagged web; the broken spec is still reported.
	if suites.Tests != 3 || suites.Failures != 0 || suites.Errors != 1 || len(suites.Suites) != 2 {
		t.Errorf("junit totals tests=%d failures=%d errors=%d suites=%d", suites.Tests, suites.Failures, suites.Errors, len(suites.Suites))
	}
	if code != ExitFailed {
		t.Errorf("a load error must fail the run, got %d", code)
	}

	out, _, code = run(t, "test", dir, "--filter", "OK.*", "--test", "miss")
	if !strings.HasSuffix(strings.TrimSpace(out), "1 passed, 0 failed") {
		t.Errorf("--filter/--test output:\n%s", out)
	}
	_ = code
}

func TestTestCommandSamplesPass(t *testing.T) {
	out, errOut, code := run(t, "test", "--minimum-tests", "2")
	if code != ExitOK {
		t.Fatalf("bundled samples failed (%d):\n%s\n%s", code, out, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	if _, errOut, code := run(t, "test", "--format", "yaml"); code != ExitUsage || !strings.Contains(errOut, "--format") {
		t.Errorf("bad format: %d %q", code, errOut)
	}
	if _, errOut, code := run(t, "run"); code != ExitUsage || !strings.Contains(errOut, "--events is required") {
		t.Errorf("run without events: %d %q", code, errOut)
	}
	if _, errOut, code := run(t, "test", filepath.Join(t.TempDir(), "missing")); code != ExitRuntime || !strings.Contains(errOut, "missing") {
		t.Errorf("missing dir: %d %q", code, errOut)
	}
}

func TestRunCommand(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"repo/r.py": `from panther_detection_helpers.caching import increment_counter

def rule(event):
    if event.get("status") != 401:
        return False
    return increment_counter("fails-" + event.get("ip"), epoch_seconds=3600) >= 3

def title(event):
    return "brute force from " + event.get("ip")
`,
		"repo/r.yml": "AnalysisType: rule\nRuleID: Brute\nFilename: r.py\nSeverity: High\nLogTypes: [Web]\n",
		"events.jsonl": `{"p_log_type": "Web", "status": 401, "ip": "1.1.1.1"}
{"p_log_type": "Web", "status": 401, "ip": "1.1.1.1"}
this is not json
{"p_log_type": "Other", "status": 401, "ip": "1.1.1.1"}
{"p_log_type": "Web", "status": 401, "ip": "1.1.1.1"}
`,
	})
	out, errOut, code := run(t, "run", filepath.Join(dir, "repo"), "--events", filepath.Join(dir, "events.jsonl"), "--format", "json", "--show-cache")
	if code != ExitFailed {
		t.Errorf("a bad input line must make the exit code non-zero, got %d", code)
	}
	if !strings.Contains(errOut, "events.jsonl:3") {
		t.Errorf("bad line not reported by file and line: %q", errOut)
	}
	var rep struct {
		Summary map[string]float64
		Matches []struct {
			Rule, Title, File string
			Line              int
			CacheOps          []map[string]any `json:"cache_ops"`
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Summary["events"] != 4 || len(rep.Matches) != 1 {
		t.Fatalf("summary %v matches %+v", rep.Summary, rep.Matches)
	}
	m := rep.Matches[0]
	if m.Rule != "Brute" || m.Line != 5 || m.Title != "brute force from 1.1.1.1" || len(m.CacheOps) != 1 {
		t.Errorf("match %+v", m)
	}

	out, _, _ = run(t, "run", filepath.Join(dir, "repo"), "--events", filepath.Join(dir, "events.jsonl"), "--rule", "Brute")
	if !strings.Contains(out, "MATCH Brute") || !strings.Contains(out, "events.jsonl:4") {
		t.Errorf("--rule runs on every event whatever its log type:\n%s", out)
	}
}
