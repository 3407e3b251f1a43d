package repo

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadClassifiesAndReportsErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"rules/good.py": "def rule(e): return True\n",
		"rules/good.yml": `AnalysisType: rule
RuleID: Good.Rule
Filename: good.py
Enabled: true
Severity: high
LogTypes: [AWS.CloudTrail]
Tags: [AWS]
UnknownKey: {whatever: 1}
Tests:
  - Name: flow mapping with trailing comma
    ExpectedResult: true
    Log: {"a": 1, "b": 1.0, "c": [1, 2,], "t": 2024-05-01T00:00:00Z, "n": null,}
    Mocks:
      - objectName: lookup
        returnValue: "False"
      - ObjectName: other
        ReturnValue: {k: [1, 2]}
  - Name: block with anchors
    ExpectedResult: false
    Log:
      base: &b {x: 1, y: 2}
      merged:
        <<: *b
        y: 3
  - Name: JSON string log
    ExpectedResult: false
    Log: '{"z": 26}'
`,
		"rules/broken.yml":   "AnalysisType: rule\nRuleID: Broken\n  Filename: [oops\n",
		"rules/nofile.yml":   "AnalysisType: rule\nRuleID: NoFile\nFilename: missing.py\nSeverity: Low\n",
		"rules/zdup.yml":     "AnalysisType: rule\nRuleID: Good.Rule\nFilename: good.py\nSeverity: Low\n",
		"rules/badsev.yml":   "AnalysisType: rule\nRuleID: BadSev\nFilename: good.py\nSeverity: Urgent\n",
		"rules/badtest.yml":  "AnalysisType: rule\nRuleID: BadTest\nFilename: good.py\nSeverity: Low\nTests:\n  - Name: x\n    Log: {}\n",
		"rules/nopy.yml":     "AnalysisType: rule\nRuleID: NoPy\nSeverity: Low\n",
		"rules/weird.yml":    "AnalysisType: detector\nRuleID: Weird\n",
		"policies/p.py":      "def policy(r): return True\n",
		"policies/p.yml":     "AnalysisType: policy\nPolicyID: P\nFilename: p.py\nSeverity: Info\nResourceTypes: [AWS.S3.Bucket]\nTests:\n  - {Name: r, ExpectedResult: true, Resource: {Name: b}}\n",
		"helpers/h.py":       "X = 1\n",
		"helpers/h.yml":      "AnalysisType: global\nGlobalID: h\nFilename: h.py\n",
		"models/m.yml":       "AnalysisType: datamodel\nDataModelID: M\nLogTypes: [AWS.CloudTrail]\nMappings:\n  - {Name: ip, Path: $.ip}\n",
		"models/bad.yml":     "AnalysisType: datamodel\nDataModelID: Bad\nLogTypes: [X]\nMappings:\n  - {Name: ip, Method: get_ip}\n",
		"queries/q.yml":      "AnalysisType: scheduled_query\nQueryName: q\nQuery: select 1\n",
		".github/ci.yml":     "on: push\n",
		"schemas/custom.yml": "schema: Custom.Thing\nfields: []\n",
	})
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Detections) != 2 || r.Detection("Good.Rule") == nil || r.Detection("P") == nil {
		t.Fatalf("detections: %v", r.Detections)
	}
	if len(r.Globals) != 1 || len(r.DataModels) != 1 || len(r.Items) != 1 {
		t.Errorf("globals %d data models %d items %d", len(r.Globals), len(r.DataModels), len(r.Items))
	}
	if r.DataModelFor("AWS.CloudTrail") == nil {
		t.Error("data model not indexed by log type")
	}

	errs := map[string]string{}
	for _, e := range r.Errors {
		errs[filepath.Base(e.File)] = e.Error()
	}
	want := map[string]string{
		"broken.yml":  "broken.yml: line 3",
		"nofile.yml":  "line 3: Filename missing.py: no such file",
		"zdup.yml":    `duplicate ID "Good.Rule"`,
		"badsev.yml":  `line 4: unknown Severity "Urgent"`,
		"badtest.yml": `line 6: test "x" has no ExpectedResult`,
		"nopy.yml":    "missing Filename",
		"weird.yml":   `line 1: unknown AnalysisType "detector"`,
		"bad.yml":     "has no Filename",
	}
	for file, fragment := range want {
		if !strings.Contains(errs[file], fragment) {
			t.Errorf("%s: error %q, want it to contain %q", file, errs[file], fragment)
		}
	}
	if len(r.Errors) != len(want) {
		t.Errorf("got %d load errors, want %d: %v", len(r.Errors), len(want), errs)
	}

	d := r.Detection("Good.Rule")
	if d.Severity != "High" || d.Threshold != 1 || d.DedupPeriodMinutes != 60 || !d.Enabled {
		t.Errorf("defaults: %+v", d)
	}
	if got := string(d.Tests[0].Data); got != `{"a":1,"b":1.0,"c":[1,2],"t":"2024-05-01T00:00:00Z","n":null}` {
		t.Errorf("flow mapping JSON = %s", got)
	}
	if m := d.Tests[0].Mocks; len(m) != 2 || m[0].ObjectName != "lookup" || string(m[0].ReturnValue) != `"False"` || string(m[1].ReturnValue) != `{"k":[1,2]}` {
		t.Errorf("mocks = %+v", m)
	}
	if got := string(d.Tests[1].Data); got != `{"base":{"x":1,"y":2},"merged":{"y":3,"x":1}}` {
		t.Errorf("anchors and merge = %s", got)
	}
	if got := string(d.Tests[2].Data); got != `{"z": 26}` {
		t.Errorf("JSON string Log = %s", got)
	}
	if p := r.Detection("P"); string(p.Tests[0].Data) != `{"Name":"b"}` || p.LogTypes[0] != "AWS.S3.Bucket" {
		t.Errorf("policy = %+v", p)
	}
}

func TestLoadMissingRoot(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("want an error for a missing directory")
	}
}

func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	files := map[string]string{}
	for i := 0; i < 500; i++ {
		id := "Rule" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strconv.Itoa(i)
		files["rules/"+id+".py"] = "def rule(e):\n    return True\n"
		files["rules/"+id+".yml"] = "AnalysisType: rule\nRuleID: " + id + "\nFilename: " + id + ".py\nSeverity: Low\nLogTypes: [X]\nTests:\n" +
			"  - Name: t\n    ExpectedResult: true\n    Log: {\"a\": {\"b\": [1, 2, 3], \"c\": \"d\"}, \"e\": 1.5,}\n"
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Load(dir)
		if err != nil || len(r.Detections) != 500 {
			b.Fatalf("%v %d %v", err, len(r.Detections), r.Errors)
		}
	}
}

func TestSpecCacheSeesEdits(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"r.py":  "def rule(e): return True\n",
		"r.yml": "AnalysisType: rule\nRuleID: R\nFilename: r.py\nSeverity: Low\n",
	})
	for i, want := range []Severity{"Low", "Low"} {
		r, err := Load(dir)
		if err != nil || r.Detection("R") == nil || r.Detection("R").Severity != want {
			t.Fatalf("load %d: %v %v", i, err, r.Errors)
		}
	}
	// Same size, different content and time: the cache must not hide it.
	write(t, dir, map[string]string{"r.yml": "AnalysisType: rule\nRuleID: R\nFilename: r.py\nSeverity: Hig\n"})
	r, _ := Load(dir)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Error(), `unknown Severity "Hig"`) {
		t.Fatalf("edited spec not reparsed: %v", r.Errors)
	}
	write(t, dir, map[string]string{"r.yml": "AnalysisType: rule\nRuleID: R\nFilename: r.py\nSeverity: High\n"})
	if r, _ := Load(dir); r.Detection("R") == nil || r.Detection("R").Severity != "High" {
		t.Fatalf("fixed spec not reparsed: %v", r.Errors)
	}
	if err := os.Remove(filepath.Join(dir, "r.py")); err != nil {
		t.Fatal(err)
	}
	if r, _ := Load(dir); len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Error(), "no such file") {
		t.Fatalf("deleted Python file hidden by the cache: %v", r.Errors)
	}
}
