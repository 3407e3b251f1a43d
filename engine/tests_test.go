package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rulebench/rulebench/engine/repo"
)

func runTests(t *testing.T, e *Engine, r *repo.Repository, opts TestOptions) map[string]DetectionReport {
	t.Helper()
	reports, err := e.RunTests(context.Background(), r.Detections, opts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]DetectionReport{}
	for _, rep := range reports {
		out[rep.Detection.ID] = rep
	}
	return out
}

func testByName(t *testing.T, rep DetectionReport, name string) TestResult {
	t.Helper()
	for _, tr := range rep.Tests {
		if tr.Name == name {
			return tr
		}
	}
	t.Fatalf("%s has no test %q", rep.Detection.ID, name)
	return TestResult{}
}

func TestMocksAsPantherAppliesThem(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"m.yml": ruleSpec("Mocked", "m.py", `
			Tests:
			  - Name: string False stays a truthy string
			    ExpectedResult: true
			    Log: {"kind": "truthy"}
			    Mocks:
			      - objectName: lookup
			        returnValue: "False"
			  - Name: JSON string stays a string the rule parses
			    ExpectedResult: true
			    Log: {"kind": "json",}
			    Mocks:
			      - objectName: lookup
			        returnValue: '{"score": 9}'
			  - Name: mapping arrives as a dict
			    ExpectedResult: true
			    Log:
			      kind: dict
			    Mocks:
			      - objectName: lookup
			        returnValue:
			          score: 9
			  - Name: it is a real MagicMock
			    ExpectedResult: true
			    Log: {"kind": "magic"}
			    Mocks:
			      - objectName: lookup
			        returnValue: 1
			  - Name: unmocked again after the tests above
			    ExpectedResult: false
			    Log: {"kind": "real"}
			  - Name: mocking a name the module lacks
			    ExpectedResult: true
			    Log: {"kind": "truthy"}
			    Mocks:
			      - objectName: not_there
			        returnValue: 1
		`),
		"m.py": `
			import json
			from unittest.mock import MagicMock

			def lookup(event):
			    return None

			def rule(event):
			    kind = event.get("kind")
			    value = lookup(event)
			    if kind == "truthy":
			        return isinstance(value, str) and bool(value)
			    if kind == "json":
			        return isinstance(value, str) and json.loads(value)["score"] == 9
			    if kind == "dict":
			        return isinstance(value, dict) and value["score"] == 9
			    if kind == "magic":
			        return isinstance(lookup, MagicMock)
			    return isinstance(lookup, MagicMock)
		`,
	})
	rep := runTests(t, e, r, TestOptions{})["Mocked"]
	for _, name := range []string{
		"string False stays a truthy string", "JSON string stays a string the rule parses",
		"mapping arrives as a dict", "it is a real MagicMock", "unmocked again after the tests above",
	} {
		if tr := testByName(t, rep, name); !tr.Passed {
			t.Errorf("%s: %s", name, tr.Failure)
		}
	}
	bad := testByName(t, rep, "mocking a name the module lacks")
	if bad.Passed || !strings.Contains(bad.Failure, "'not_there'") {
		t.Errorf("missing mock target: passed=%v failure=%q", bad.Passed, bad.Failure)
	}
}

// A rule that hangs, exits the interpreter or fails to import costs only its
// own tests; everything else still runs and reports.
func TestBadRulesAreContained(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"hang.yml": ruleSpec("Hang", "hang.py", `
			Tests:
			  - {Name: before, ExpectedResult: false, Log: {mode: ok}}
			  - {Name: loops, ExpectedResult: false, Log: {mode: loop}}
			  - {Name: swallows the interrupt, ExpectedResult: false, Log: {mode: stubborn}}
			  - {Name: after, ExpectedResult: false, Log: {mode: ok}}
		`),
		"hang.py": `
			def rule(event):
			    mode = event.get("mode")
			    if mode == "loop":
			        while True:
			            pass
			    if mode == "stubborn":
			        while True:
			            try:
			                while True:
			                    pass
			            except BaseException:
			                pass
			    return False
		`,
		"exit.yml": ruleSpec("Exit", "exit.py", `
			Tests:
			  - {Name: first, ExpectedResult: false, Log: {mode: ok}}
			  - {Name: os exit, ExpectedResult: false, Log: {mode: os_exit}}
			  - {Name: sys exit, ExpectedResult: false, Log: {mode: sys_exit}}
			  - {Name: segfault, ExpectedResult: false, Log: {mode: segv}}
			  - {Name: last, ExpectedResult: false, Log: {mode: ok}}
		`),
		"exit.py": `
			import os, sys, ctypes
			def rule(event):
			    mode = event.get("mode")
			    if mode == "os_exit":
			        os._exit(3)
			    if mode == "sys_exit":
			        sys.exit(4)
			    if mode == "segv":
			        ctypes.string_at(0)
			    return False
		`,
		"imp.yml": ruleSpec("ImportFails", "imp.py", `
			Tests:
			  - {Name: one, ExpectedResult: true, Log: {}}
			  - {Name: two, ExpectedResult: false, Log: {}}
		`),
		"imp.py": `
			import module_that_does_not_exist
			def rule(event):
			    return True
		`,
		"good.yml": ruleSpec("Good", "good.py", `
			Tests:
			  - {Name: fine, ExpectedResult: true, Log: {}}
		`),
		"good.py": `
			def rule(event):
			    return True
		`,
	}, withTimeout(time.Second))
	reports := runTests(t, e, r, TestOptions{})

	hang := reports["Hang"]
	for _, name := range []string{"before", "after"} {
		if tr := testByName(t, hang, name); !tr.Passed {
			t.Errorf("Hang/%s: %s", name, tr.Failure)
		}
	}
	loops := testByName(t, hang, "loops")
	if loops.Passed || loops.Result.Error == nil || loops.Result.Error.Type != "RuleTimeout" || (loops.Result.Error.RuleLine != 4 && loops.Result.Error.RuleLine != 5) {
		t.Errorf("loop: %+v (line %d)", loops.Result.Error, loops.Result.Error.RuleLine)
	}
	stubborn := testByName(t, hang, "swallows the interrupt")
	if stubborn.Passed || stubborn.Result.Error == nil || stubborn.Result.Error.Type != ErrTypeTimeout {
		t.Errorf("a rule that swallows the interrupt must be killed: %+v", stubborn.Result.Error)
	}

	ex := reports["Exit"]
	for _, name := range []string{"first", "last"} {
		if tr := testByName(t, ex, name); !tr.Passed {
			t.Errorf("Exit/%s: %s", name, tr.Failure)
		}
	}
	for name, want := range map[string]string{"os exit": ErrTypeCrash, "sys exit": "SystemExit", "segfault": ErrTypeCrash} {
		tr := testByName(t, ex, name)
		if tr.Passed || tr.Result.Error == nil || tr.Result.Error.Type != want {
			t.Errorf("%s: want %s, got %+v", name, want, tr.Result.Error)
		}
	}
	if tr := testByName(t, ex, "segfault"); !strings.Contains(tr.Failure, "Segmentation fault") && !strings.Contains(tr.Failure, "signal") {
		t.Errorf("segfault report should say how the worker died: %q", tr.Failure)
	}

	imp := reports["ImportFails"]
	if imp.LoadError == nil || imp.LoadError.Type != "ModuleNotFoundError" {
		t.Errorf("import failure = %+v", imp.LoadError)
	}
	for _, tr := range imp.Tests {
		if tr.Passed || !strings.Contains(tr.Failure, "module_that_does_not_exist") {
			t.Errorf("ImportFails/%s: %q", tr.Name, tr.Failure)
		}
	}
	if !reports["Good"].Passed() {
		t.Errorf("Good: %+v", reports["Good"].Tests)
	}
}

func TestEachTestStartsWithAnEmptyCache(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"c.yml": ruleSpec("Counter", "c.py", `
			Tests:
			  - {Name: first, ExpectedResult: true, Log: {}}
			  - {Name: second, ExpectedResult: true, Log: {}}
			  - {Name: third, ExpectedResult: true, Log: {}}
		`),
		"c.py": `
			from panther_detection_helpers.caching import get_counter, increment_counter
			def rule(event):
			    increment_counter("shared-key", 1)
			    return get_counter("shared-key") == 1
		`,
	})
	rep := runTests(t, e, r, TestOptions{})["Counter"]
	for _, tr := range rep.Tests {
		if !tr.Passed {
			t.Errorf("%s: %s (cache leaked between tests?)", tr.Name, tr.Failure)
		}
		if len(tr.Result.CacheOps) != 2 {
			t.Errorf("%s: %d cache ops recorded, want 2", tr.Name, len(tr.Result.CacheOps))
		}
	}
}

// Cache state lives in Go: a worker that dies between events loses nothing.
func TestCacheSurvivesWorkerCrash(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"c.yml": ruleSpec("Crashy", "c.py", ""),
		"c.py": `
			import os
			from panther_detection_helpers.caching import increment_counter, get_counter
			def rule(event):
			    if event.get("crash"):
			        os._exit(1)
			    increment_counter("k", 5, epoch_seconds=3600)
			    return get_counter("k") >= 10
		`,
	}, withWorkers(1))
	res := evalOne(t, e, r, "Crashy", `{}`, `{"crash": true}`, `{}`)
	if res[0].Alerted || res[1].Error == nil || res[1].Error.Type != ErrTypeCrash {
		t.Fatalf("results: %+v / %+v", res[0], res[1].Error)
	}
	if !res[2].Alerted {
		t.Errorf("counter was lost with the worker: %+v", res[2])
	}
	if len(res[2].CacheOps) != 2 || res[2].CacheOps[1].Result.(int64) != 10 {
		t.Errorf("trace after the crash: %+v", res[2].CacheOps)
	}
}

func TestMinimumTestsAndFilters(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"one.yml": ruleSpec("OnlyPositive", "r.py", `
			Tags: [Alpha]
			Tests:
			  - {Name: p, ExpectedResult: true, Log: {}}
		`),
		"two.yml": ruleSpec("Both", "r.py", `
			Tags: [beta]
			Tests:
			  - {Name: p, ExpectedResult: true, Log: {}}
			  - {Name: n, ExpectedResult: false, Log: {no: true}}
		`),
		"r.py": `
			def rule(event):
			    return not event.get("no")
		`,
	})
	reports := runTests(t, e, r, TestOptions{MinimumTests: 2})
	if p := reports["OnlyPositive"].Problems; len(p) != 2 {
		t.Errorf("OnlyPositive problems = %v, want too few tests and no negative test", p)
	}
	if !reports["Both"].Passed() {
		t.Errorf("Both: %+v", reports["Both"])
	}
	if got := r.Select(repo.Filter{Tags: []string{"alpha"}}); len(got) != 1 || got[0].ID != "OnlyPositive" {
		t.Errorf("tag filter: %v", got)
	}
	if got := r.Select(repo.Filter{IDs: []string{"B*"}}); len(got) != 1 || got[0].ID != "Both" {
		t.Errorf("ID glob: %v", got)
	}
	rep := runTests(t, e, r, TestOptions{TestName: "n"})["Both"]
	if len(rep.Tests) != 1 || rep.Tests[0].Name != "n" {
		t.Errorf("--test n ran %d tests", len(rep.Tests))
	}
}

func TestSyntaxErrorNamesTheLine(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"s.yml": ruleSpec("Syntax", "s.py", "Tests:\n  - {Name: t, ExpectedResult: true, Log: {}}\n"),
		"s.py":  "def rule(event):\n    return (\n\ndef title(event):\n    return 'x'\n",
	})
	rep := runTests(t, e, r, TestOptions{})["Syntax"]
	if rep.LoadError == nil || rep.LoadError.Type != "SyntaxError" || rep.LoadError.RuleLine == 0 {
		t.Fatalf("load error = %+v", rep.LoadError)
	}
}
