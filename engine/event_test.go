package engine

import (
	"encoding/json"
	"strings"
	"testing"
)

// The rule below asserts the PantherEvent API from inside Python and returns
// a dict of observations through alert_context, so a failure names the
// behaviour that broke.
func TestPantherEventAPI(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"r.yml": ruleSpec("EventAPI", "r.py", ""),
		"r.py": `
			import json
			from collections.abc import Mapping
			from panther_core import PantherEvent
			from panther_core.immutable import ImmutableCaseInsensitiveDict, ImmutableList

			def rule(event):
			    return True

			def alert_context(event):
			    out = {}
			    out["is_panther_event"] = isinstance(event, PantherEvent)
			    out["case_insensitive"] = event.get("userName") == event.get("USERNAME") == "alice"
			    out["contains_folded"] = "USERNAME" in event
			    out["nested_wrapped"] = isinstance(event["Nested"], ImmutableCaseInsensitiveDict) and isinstance(event["Nested"]["list"], ImmutableList)
			    out["list_items_wrapped"] = isinstance(event["Nested"]["list"][1], ImmutableCaseInsensitiveDict)
			    out["list_eq"] = event.get("tags") == ["a", "b"]
			    try:
			        event["x"] = 1
			        out["assign"] = "allowed"
			    except TypeError:
			        out["assign"] = "TypeError"
			    try:
			        event["Nested"]["k"] = 1
			        out["nested_assign"] = "allowed"
			    except TypeError:
			        out["nested_assign"] = "TypeError"
			    out["deep_get"] = event.deep_get("nested", "inner", "value")
			    out["deep_get_default"] = event.deep_get("nested", "nope", default="d")
			    out["deep_walk"] = event.deep_walk("records", "id")
			    out["deep_walk_first"] = event.deep_walk("records", "id", return_val="first")
			    out["deep_walk_missing"] = event.deep_walk("records", "nope", default="none")
			    out["epoch"] = event.event_time_epoch()
			    mutable = event.to_dict()
			    mutable["added"] = True
			    out["to_dict_mutable"] = isinstance(mutable, dict) and "added" not in event
			    out["json_encoder"] = json.loads(json.dumps(event, default=PantherEvent.json_encoder))["Nested"]["inner"]["value"]
			    out["mapping"] = isinstance(event, Mapping)
			    out["lookup"] = event.lookup("geo", "1.2.3.4")
			    return out
		`,
	})
	res := evalOne(t, e, r, "EventAPI", `{
		"userName": "alice", "tags": ["a", "b"],
		"Nested": {"inner": {"value": 42}, "list": [1, {"k": "v"}]},
		"records": [{"id": "r1"}, {"id": "r2"}, {"other": 1}],
		"p_event_time": "2024-05-01 12:00:00.123456789",
		"_mocked_lookup_data_": {"geo": {"1.2.3.4": {"country": "NZ"}}}
	}`)[0]
	if res.Error != nil {
		t.Fatal(res.Error.Traceback)
	}
	var got map[string]any
	if err := json.Unmarshal(res.Alert.AlertContext, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"is_panther_event": true, "case_insensitive": true, "contains_folded": true,
		"nested_wrapped": true, "list_items_wrapped": true, "list_eq": true,
		"assign": "TypeError", "nested_assign": "TypeError",
		"deep_get": 42.0, "deep_get_default": "d",
		"deep_walk": []any{"r1", "r2"}, "deep_walk_first": "r1", "deep_walk_missing": "none",
		"epoch": 1714564800.0, "to_dict_mutable": true, "json_encoder": 42.0, "mapping": true,
		"lookup": map[string]any{"country": "NZ"},
	}
	for k, v := range want {
		gotJSON, _ := json.Marshal(got[k])
		wantJSON, _ := json.Marshal(v)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("%s = %s, want %s", k, gotJSON, wantJSON)
		}
	}
}

func TestDataModelsAndUDM(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"dm.yml": `
			AnalysisType: datamodel
			DataModelID: Test.Model
			Filename: dm.py
			LogTypes: [Test.Log]
			Mappings:
			  - Name: source_ip
			    Path: $.src.ip
			  - Name: bare
			    Path: top
			  - Name: dotted
			    Path: '"dotted.key"'
			  - Name: email
			    Path: $.params[?(@.name == "EMAIL")].value
			  - Name: many
			    Path: $.src.*
			  - Name: actor
			    Method: get_actor
			  - Name: sees_udm
			    Method: has_udm
		`,
		"dm.py": `
			def get_actor(event):
			    return event.get("user", {}).get("name")
			def has_udm(event):
			    return hasattr(event, "udm")
		`,
		"r.yml": ruleSpec("UDM", "r.py", ""),
		"r.py": `
			def rule(event):
			    return True
			def alert_context(event):
			    out = {}
			    for name in ["source_ip", "bare", "dotted", "email", "actor", "sees_udm", "unmapped", "missing_path"]:
			        out[name] = event.udm(name)
			    out["default"] = event.udm("unmapped_and_absent", default="dflt")
			    out["two_keys"] = event.udm("deep", "er")
			    try:
			        event.udm("many")
			        out["many"] = "no error"
			    except Exception as exc:
			        out["many"] = type(exc).__name__
			    try:
			        out["path_of_source_ip"] = event.udm_path("source_ip")
			        out["path_of_email"] = event.udm_path("email")
			        out["path_of_actor"] = event.udm_path("actor")
			    except Exception as exc:
			        out["udm_path_error"] = repr(exc)
			    return out
		`,
		"s.yml": "AnalysisType: scheduled_rule\nRuleID: Sched\nFilename: s.py\nSeverity: Low\nScheduledQueries: [q]\n",
		"s.py": `
			def rule(row):
			    return row.udm("source_ip") is None and row.data_model is None
		`,
	})
	res := evalOne(t, e, r, "UDM", `{
		"p_log_type": "Test.Log", "src": {"ip": "10.0.0.1", "port": 22}, "top": "T", "dotted.key": "D",
		"params": [{"name": "OTHER", "value": "x"}, {"name": "EMAIL", "value": "a@b.c"}],
		"user": {"name": "alice"},
		"unmapped": "from-event",
		"p_udm": {"deep": {"er": "from-p_udm"}}
	}`)[0]
	if res.Error != nil {
		t.Fatal(res.Error.Traceback)
	}
	var got map[string]any
	if err := json.Unmarshal(res.Alert.AlertContext, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"source_ip": "10.0.0.1", "bare": "T", "dotted": "D", "email": "a@b.c", "actor": "alice",
		"sees_udm": false, "unmapped": "from-event", "missing_path": nil, "default": "dflt",
		"two_keys": "from-p_udm", "many": "Exception",
		"path_of_source_ip": "src.ip", "path_of_email": "params.[1].value", "path_of_actor": "get_actor",
	}
	for k, v := range want {
		gotJSON, _ := json.Marshal(got[k])
		wantJSON, _ := json.Marshal(v)
		if string(gotJSON) != string(wantJSON) {
			t.Errorf("udm %s = %s, want %s", k, gotJSON, wantJSON)
		}
	}

	// Without p_log_type there is no data model, and that is not an error.
	res = evalOne(t, e, r, "UDM", `{"src": {"ip": "10.0.0.1"}, "p_udm": {"source_ip": "udm-ip"}}`)[0]
	if res.Error != nil || !strings.Contains(string(res.Alert.AlertContext), `"source_ip": "udm-ip"`) {
		t.Errorf("no data model: err %v context %s", res.Error, res.Alert.AlertContext)
	}

	// Scheduled rules never get a data model.
	if res := evalOne(t, e, r, "Sched", `{"p_log_type": "Test.Log", "src": {"ip": "1.1.1.1"}}`)[0]; !res.Alerted {
		t.Errorf("scheduled rule saw a data model: %+v", res)
	}
}

func TestGlobalsAndModuleIsolation(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"helpers/h.yml": "AnalysisType: global\nGlobalID: shared_helpers\nFilename: h.py\n",
		"helpers/h.py": `
			CALLS = []
			def remember(x):
			    CALLS.append(x)
			    return len(CALLS)
		`,
		"a.yml": ruleSpec("A", "a.py", ""),
		"a.py": `
			from shared_helpers import remember
			STATE = "a"
			def rule(event):
			    return True
			def title(event):
			    return "%s %s %s" % (__name__, STATE, remember("a"))
		`,
		"b.yml": ruleSpec("B", "b.py", ""),
		"b.py": `
			import sys
			def rule(event):
			    return True
			def title(event):
			    return "%s %s %s" % (__name__, globals().get("STATE", "none"), "A" in sys.modules)
		`,
	}, withWorkers(1))
	if got := evalOne(t, e, r, "A", `{}`)[0].Alert.Title; got != "A a 1" {
		t.Errorf("A title = %q", got)
	}
	if got := evalOne(t, e, r, "B", `{}`)[0].Alert.Title; got != "B none False" {
		t.Errorf("B title = %q: modules must be named by ID, separate, and not in sys.modules", got)
	}
}
