package engine

import (
	"encoding/json"
	"strings"
	"testing"
)

// Every SPEC §2 function and its fallback, evaluated by real CPython.
func TestAlertFunctionsAndFallbacks(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"bare.yml": ruleSpec("Bare", "bare.py", "DisplayName: Bare Rule\nOutputIds: [slack-secops]\nDescription: spec description\nRunbook: spec runbook\nReference: https://spec.example\n"),
		"bare.py": `
			def rule(event):
			    return True
		`,
		"noname.yml": ruleSpec("NoName", "noname.py", ""),
		"noname.py": `
			def rule(event):
			    return True
		`,
		"funcs.yml": ruleSpec("Funcs", "funcs.py", "DisplayName: Funcs\nOutputIds: [default-dest]\nDescription: spec description\n"),
		"funcs.py": `
			def rule(event):
			    return True
			def title(event):
			    return event.get("title")
			def dedup(event):
			    return event.get("dedup")
			def severity(event):
			    return event.get("severity", "DEFAULT")
			def destinations(event):
			    value = event.get("destinations")
			    # event values are read-only ImmutableLists; Panther wants a list
			    return value.copy() if hasattr(value, "copy") else value
			def description(event):
			    return event.get("description", "")
			def runbook(event):
			    return "run " + event.get("who", "it")
			def reference(event):
			    return ""
			def alert_context(event):
			    kind = event.get("context")
			    if kind == "big":
			        return {"blob": "x" * (210 * 1024)}
			    if kind == "set":
			        return {"s": {1, 2}}
			    if kind == "list":
			        return ["not", "a", "dict"]
			    if kind == "event":
			        return {"nested": event.get("nested"), "items": event.get("items")}
			    return {"who": event.get("who")}
		`,
	})

	t.Run("defaults from the spec", func(t *testing.T) {
		res := evalOne(t, e, r, "Bare", `{}`)[0]
		if !res.Alerted || res.Alert == nil {
			t.Fatalf("want an alert, got %+v", res)
		}
		a := res.Alert
		if a.Title != "Bare Rule" || a.Dedup != "Bare Rule" {
			t.Errorf("title/dedup = %q/%q, want DisplayName for both", a.Title, a.Dedup)
		}
		if a.Severity != "MEDIUM" || a.Description != "spec description" || a.Runbook != "spec runbook" || a.Reference != "https://spec.example" {
			t.Errorf("spec fields not used: %+v", a)
		}
		if strings.Join(a.Destinations, ",") != "slack-secops" || string(a.AlertContext) != "{}" {
			t.Errorf("destinations %v context %s", a.Destinations, a.AlertContext)
		}
		if got := evalOne(t, e, r, "NoName", `{}`)[0].Alert.Title; got != "NoName" {
			t.Errorf("title without DisplayName = %q, want the rule ID", got)
		}
	})

	t.Run("function outputs win", func(t *testing.T) {
		res := evalOne(t, e, r, "Funcs", `{"title":"T","dedup":"D","severity":"high","destinations":["a","b"],"description":"desc","who":"bob"}`)[0]
		a := res.Alert
		if a.Title != "T" || a.Dedup != "D" || a.Severity != "HIGH" || a.Description != "desc" || a.Runbook != "run bob" {
			t.Errorf("alert = %+v", a)
		}
		if a.Reference != "" {
			t.Errorf("empty reference() should fall back to the (empty) spec value, got %q", a.Reference)
		}
		if strings.Join(a.Destinations, ",") != "a,b" {
			t.Errorf("destinations %v", a.Destinations)
		}
		if string(a.AlertContext) != `{"who": "bob"}` {
			t.Errorf("alert_context = %s", a.AlertContext)
		}
		if len(res.FunctionErrors()) != 0 {
			t.Errorf("unexpected function errors %v", res.FunctionErrors())
		}
	})

	t.Run("falsy and wrong types fall back", func(t *testing.T) {
		res := evalOne(t, e, r, "Funcs", `{"title":"","dedup":"","severity":"DEFAULT","destinations":null}`)[0]
		if res.Alert.Title != "Funcs" || res.Alert.Dedup != "Funcs" || res.Alert.Severity != "MEDIUM" {
			t.Errorf("alert = %+v", res.Alert)
		}
		if strings.Join(res.Alert.Destinations, ",") != "default-dest" {
			t.Errorf("destinations() returning None must use OutputIds, got %v", res.Alert.Destinations)
		}
		if len(res.FunctionErrors()) != 0 {
			t.Errorf("falsy strings are not errors: %v", res.FunctionErrors())
		}

		res = evalOne(t, e, r, "Funcs", `{"title":123,"dedup":["x"],"severity":"bogus","destinations":"slack"}`)[0]
		if res.Alert.Title != "Funcs" || res.Alert.Dedup != "Funcs" || res.Alert.Severity != "MEDIUM" {
			t.Errorf("fallbacks after errors: %+v", res.Alert)
		}
		for _, name := range []string{"title", "dedup", "severity", "destinations"} {
			if res.Functions[name].Error == nil {
				t.Errorf("%s: want an error for a wrong return type", name)
			}
		}
		if msg := res.Functions["title"].Error.Message; !strings.Contains(msg, "returned [int], expected [str]") {
			t.Errorf("title error = %q", msg)
		}
	})

	t.Run("empty destinations suppress", func(t *testing.T) {
		res := evalOne(t, e, r, "Funcs", `{"destinations":[]}`)[0]
		if !res.Alert.Suppressed || len(res.Alert.Destinations) != 0 {
			t.Errorf("alert = %+v", res.Alert)
		}
	})

	t.Run("truncation at 1000 characters", func(t *testing.T) {
		long := strings.Repeat("a", 1500)
		res := evalOne(t, e, r, "Funcs", `{"title":"`+long+`","dedup":"`+long+`"}`)[0]
		for name, v := range map[string]string{"title": res.Alert.Title, "dedup": res.Alert.Dedup} {
			if len(v) != 1000 || !strings.HasSuffix(v, "... (truncated)") {
				t.Errorf("%s: len %d suffix %q", name, len(v), v[len(v)-20:])
			}
		}
	})

	t.Run("alert_context limits", func(t *testing.T) {
		res := evalOne(t, e, r, "Funcs", `{"context":"big"}`)[0]
		var ctx map[string]string
		if err := json.Unmarshal(res.Alert.AlertContext, &ctx); err != nil || !strings.Contains(ctx["_error"], "bigger than maximum of [204800]") {
			t.Errorf("oversized context = %s", res.Alert.AlertContext)
		}
		if res.Functions["alert_context"].Warning == "" {
			t.Error("oversized context should carry a warning")
		}

		res = evalOne(t, e, r, "Funcs", `{"context":"set"}`)[0]
		if res.Functions["alert_context"].Error == nil || !strings.Contains(string(res.Alert.AlertContext), "_error") {
			t.Errorf("unserialisable context: %+v %s", res.Functions["alert_context"], res.Alert.AlertContext)
		}
		res = evalOne(t, e, r, "Funcs", `{"context":"list"}`)[0]
		if fe := res.Functions["alert_context"].Error; fe == nil || !strings.Contains(fe.Message, "expected [Mapping]") {
			t.Errorf("non-mapping context error = %+v", fe)
		}
		res = evalOne(t, e, r, "Funcs", `{"context":"event","nested":{"a":[1,{"b":2}]},"items":[1,2]}`)[0]
		if string(res.Alert.AlertContext) != `{"nested": {"a": [1, {"b": 2}]}, "items": [1, 2]}` {
			t.Errorf("read-only event values must serialise: %s", res.Alert.AlertContext)
		}
	})
}

func TestMainFunctionResults(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"r.yml": ruleSpec("R", "r.py", ""),
		"r.py": `
			def rule(event):
			    mode = event.get("mode")
			    if mode == "str":
			        return "True"
			    if mode == "none":
			        return None
			    if mode == "raise":
			        return event["missing"]
			    return mode == "yes"
			def title(event):
			    raise ValueError("title broke")
		`,
		"p.yml": "AnalysisType: policy\nPolicyID: P\nFilename: p.py\nSeverity: High\nResourceTypes: [AWS.S3.Bucket]\n",
		"p.py": `
			def policy(resource):
			    return resource.get("Encrypted", False)
			def title(resource):
			    return "bucket " + resource.get("Name")
		`,
	})
	res := evalOne(t, e, r, "R", `{"mode":"str"}`, `{"mode":"none"}`, `{"mode":"raise"}`, `{"mode":"yes"}`, `{"mode":"no"}`)
	for i, want := range []string{"returned [str], expected [bool]", "returned [NoneType], expected [bool]", "KeyError"} {
		if res[i].Error == nil || !strings.Contains(res[i].Error.Error(), want) || res[i].Alerted {
			t.Errorf("event %d: error %v, want %q and no alert", i, res[i].Error, want)
		}
	}
	if res[2].Error.RuleLine != 8 || !strings.Contains(res[2].Error.Traceback, `return event["missing"]`) {
		t.Errorf("raise: rule line %d traceback %q", res[2].Error.RuleLine, res[2].Error.Traceback)
	}
	if !res[3].Alerted || res[3].Alert.Title != "R" || res[3].Functions["title"].Error == nil {
		t.Errorf("title raising must fall back and be reported: %+v", res[3])
	}
	if res[4].Alerted || res[4].Error != nil || len(res[4].Functions) != 1 {
		t.Errorf("no match must run only rule(): %+v", res[4])
	}

	pol := evalOne(t, e, r, "P", `{"Name":"open","Encrypted":false}`, `{"Name":"locked","Encrypted":true}`)
	if !pol[0].Alerted || pol[0].Alert.Title != "bucket open" || pol[0].Alert.Severity != "HIGH" {
		t.Errorf("failing resource must alert: %+v", pol[0])
	}
	if pol[1].Alerted {
		t.Errorf("passing resource must not alert")
	}
}

func TestPrintedOutputIsCaptured(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"r.yml": ruleSpec("R", "r.py", ""),
		"r.py": `
			import sys
			def rule(event):
			    print("looking at", event.get("n"))
			    print("warn", file=sys.stderr)
			    if event.get("flood"):
			        for _ in range(200000):
			            print("x" * 40)
			    return False
		`,
	})
	res := evalOne(t, e, r, "R", `{"n":1}`, `{"flood":true}`, `{"n":3}`)
	if res[0].Stdout != "looking at 1\nwarn\n" {
		t.Errorf("stdout = %q", res[0].Stdout)
	}
	if res[1].StdoutTruncated < 8_000_000 || len(res[1].Stdout) > 70_000 || res[1].Error != nil {
		t.Errorf("megabytes of output: kept %d of %d, error %v", len(res[1].Stdout), res[1].StdoutTruncated, res[1].Error)
	}
	if res[2].Stdout != "looking at 3\nwarn\n" {
		t.Errorf("output after the flood = %q", res[2].Stdout)
	}
}
