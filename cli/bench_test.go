package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rulebench/rulebench/engine/worker"
)

// generateRepository writes a repository shaped like a real one: rules,
// global helpers and data models, with three tests per rule (a hit, a miss,
// and a test that mocks a lookup).
func generateRepository(t testing.TB, dir string, rules int) (tests int) {
	t.Helper()
	files := map[string]string{
		"global_helpers/gen_helpers.yml": "AnalysisType: global\nGlobalID: gen_helpers\nFilename: gen_helpers.py\n",
		"global_helpers/gen_helpers.py": `import re
from fnmatch import fnmatch

ADMIN = re.compile(r"(?i)/(admin|wp-admin|phpmyadmin)(/|$)")

def deep_get(d, *keys, default=None):
    for k in keys:
        if not hasattr(d, "get"):
            return default
        d = d.get(k)
        if d is None:
            return default
    return d

def is_admin_path(path):
    return bool(ADMIN.search(path or ""))

def matches_any(value, patterns):
    return any(fnmatch(value or "", p) for p in patterns)

def context(event, *fields):
    return {f: event.get(f) for f in fields}
`,
		"data_models/gen.yml": `AnalysisType: datamodel
DataModelID: Gen.Model
Filename: gen.py
LogTypes: [Gen.Log]
Mappings:
  - Name: source_ip
    Path: $.client.ip
  - Name: actor
    Method: get_actor
`,
		"data_models/gen.py": "def get_actor(event):\n    return event.get('user', {}).get('name')\n",
	}
	for i := 0; i < rules; i++ {
		id := fmt.Sprintf("Gen.Rule.%04d", i)
		file := fmt.Sprintf("gen_rule_%04d", i)
		var py string
		switch i % 3 {
		case 0:
			py = fmt.Sprintf(`from gen_helpers import deep_get, context

def rule(event):
    return deep_get(event, "request", "status") == %d and event.get("action") == "act%d"

def title(event):
    return f"action {event.get('action')} by {deep_get(event, 'user', 'name')}"

def dedup(event):
    return deep_get(event, "user", "name", default="unknown")

def alert_context(event):
    return context(event, "action", "request", "user")
`, 200+i%50, i)
		case 1:
			py = fmt.Sprintf(`from gen_helpers import is_admin_path, matches_any

SUSPICIOUS = ["*sqlmap*", "*nikto*", "*curl/%d*"]

def rule(event):
    if event.udm("source_ip") in ("10.0.0.1", None):
        return False
    return is_admin_path(event.deep_get("request", "path")) and matches_any(event.get("agent"), SUSPICIOUS)

def title(event):
    return f"admin access from {event.udm('source_ip')} as {event.udm('actor')}"

def severity(event):
    return "HIGH" if event.udm("actor") == "root" else "DEFAULT"
`, i)
		default:
			py = fmt.Sprintf(`def lookup_reputation(ip):
    raise RuntimeError("network lookups are mocked in tests")

def rule(event):
    return event.get("score", 0) > %d

def alert_context(event):
    return {"reputation": lookup_reputation(event.udm("source_ip")), "score": event.get("score")}
`, i%100)
		}
		var tests string
		switch i % 3 {
		case 0:
			tests = fmt.Sprintf(`  - Name: hit
    ExpectedResult: true
    Log: {"p_log_type": "Gen.Log", "action": "act%[1]d", "request": {"status": %[2]d}, "user": {"name": "alice"},}
  - Name: miss
    ExpectedResult: false
    Log: {"p_log_type": "Gen.Log", "action": "other", "request": {"status": %[2]d}, "user": {"name": "alice"}}
  - Name: wrong status
    ExpectedResult: false
    Log:
      p_log_type: Gen.Log
      action: act%[1]d
      request:
        status: 500
`, i, 200+i%50)
		case 1:
			tests = fmt.Sprintf(`  - Name: hit
    ExpectedResult: true
    Log: {"p_log_type": "Gen.Log", "client": {"ip": "203.0.113.%[1]d"}, "request": {"path": "/admin/users"}, "agent": "sqlmap/1.%[1]d", "user": {"name": "root"}}
  - Name: internal
    ExpectedResult: false
    Log: {"p_log_type": "Gen.Log", "client": {"ip": "10.0.0.1"}, "request": {"path": "/admin/"}, "agent": "sqlmap"}
  - Name: plain page
    ExpectedResult: false
    Log: {"p_log_type": "Gen.Log", "client": {"ip": "203.0.113.9"}, "request": {"path": "/index.html"}, "agent": "curl/%[1]d.0"}
`, i%250)
		default:
			tests = fmt.Sprintf(`  - Name: high score
    ExpectedResult: true
    Log: {"p_log_type": "Gen.Log", "score": %[1]d, "client": {"ip": "198.51.100.7"}}
    Mocks:
      - objectName: lookup_reputation
        returnValue: '{"malicious": 3}'
  - Name: low score
    ExpectedResult: false
    Log: {"p_log_type": "Gen.Log", "score": 0}
  - Name: equal score
    ExpectedResult: false
    Log: {"p_log_type": "Gen.Log", "score": %[2]d}
`, i%100+10, i%100)
		}
		files["rules/"+file+".py"] = py
		files["rules/"+file+".yml"] = fmt.Sprintf("AnalysisType: rule\nRuleID: %s\nFilename: %s.py\nEnabled: true\nSeverity: Medium\nLogTypes: [Gen.Log]\nTags: [Generated]\nTests:\n%s", id, file, tests)
		tests += ""
	}
	writeFiles(t, dir, files)
	return rules * 3
}

// BenchmarkTestCommand compares `rulebench test` on a generated repository
// of 1,000 rules and 3,000 tests, end to end (load, start workers, run,
// report), with a plain single-process CPython loop over the same tests.
// It reports x_faster = baseline time / rulebench time.
func BenchmarkTestCommand(b *testing.B) {
	py, err := worker.FindPython(context.Background(), "")
	if err != nil {
		b.Skip(err)
	}
	if exec.Command(py.Path, "-c", "import yaml").Run() != nil {
		b.Skip("the baseline needs PyYAML in " + py.Path)
	}
	dir := b.TempDir()
	tests := generateRepository(b, dir, 1000)
	harness, _ := filepath.Abs("../engine/worker/harness")

	runBoth := func() (base, ours time.Duration) {
		start := time.Now()
		out, err := exec.Command(py.Path, "testdata/baseline_tests.py", harness, dir).CombinedOutput()
		base = time.Since(start)
		var counts struct{ Passed, Failed int }
		if err != nil || json.Unmarshal(out, &counts) != nil || counts.Passed != tests {
			b.Fatalf("baseline: %v %s", err, out)
		}

		start = time.Now()
		var stdout bytes.Buffer
		code := Main([]string{"test", dir, "--format", "json"}, Env{Stdout: &stdout, Stderr: io.Discard})
		ours = time.Since(start)
		if code != ExitOK || !strings.Contains(stdout.String(), fmt.Sprintf(`"tests_passed": %d`, tests)) {
			b.Fatalf("rulebench exit %d: %.2000s", code, stdout.String())
		}
		return base, ours
	}
	// The first run of each is cold: rulebench compiles and caches the rules
	// and specs, the baseline has the OS file cache warmed for it.
	coldBase, coldOurs := runBoth()
	b.ResetTimer()
	var base, ours time.Duration
	for i := 0; i < b.N; i++ {
		bt, ot := runBoth()
		base += bt
		ours += ot
	}
	b.ReportMetric(base.Seconds()/float64(b.N), "baseline_s")
	b.ReportMetric(ours.Seconds()/float64(b.N), "rulebench_s")
	b.ReportMetric(base.Seconds()/ours.Seconds(), "x_faster")
	b.ReportMetric(coldBase.Seconds()/coldOurs.Seconds(), "x_faster_cold")
	b.ReportMetric(0, "ns/op")
}
