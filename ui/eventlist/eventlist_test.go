package eventlist

import (
	"encoding/json"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/rulebench/rulebench/engine/events"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/theme"
)

func ev(file string, line int, raw string) events.Event {
	return events.Event{File: file, Line: line, Raw: []byte(raw)}
}

var (
	rule = &repo.Detection{ID: "R", Kind: repo.KindRule, LogTypes: []string{"Nginx.Access"}, Tests: []repo.Test{
		{Name: "hit", ExpectedResult: true, Data: json.RawMessage(`{"status":200}`)},
		{Name: "miss", ExpectedResult: false, Data: json.RawMessage(`{"status":404}`)},
	}}
	policy  = &repo.Detection{ID: "P", Kind: repo.KindPolicy, LogTypes: []string{"AWS.S3.Bucket"}}
	samples = []events.Event{
		ev("/s/events/nginx.jsonl", 1, `{"p_log_type":"Nginx.Access","p_event_time":"2024-05-01 09:00:01.000","remoteAddr":"192.0.2.1","request":"GET / HTTP/1.1","status":200}`),
		ev("/s/events/nginx.jsonl", 2, `{"p_log_type":"Nginx.Access","remoteAddr":"192.0.2.2","status":401}`),
		ev("/s/events/okta.jsonl", 1, `{"p_log_type":"Okta.SystemLog","eventType":"user.session.start"}`),
		ev("/s/events/s3.jsonl", 1, `{"ResourceType":"AWS.S3.Bucket","Name":"b"}`),
	}
	user = []events.Event{
		ev("/home/me/mine.json", 1, `{"status":500}`),
		ev("/home/me/mine.json", 2, `{"p_log_type":"Okta.SystemLog"}`),
	}
)

func labels(m Model) []string {
	var out []string
	for _, rw := range m.rows {
		if rw.header != "" {
			out = append(out, "["+rw.header+"]")
		} else {
			out = append(out, m.items[rw.item].Label)
		}
	}
	return out
}

func newModel(d *repo.Detection) Model {
	m := New(theme.Monochrome())
	m.SetSize(50, 20)
	m.SetDetection(d)
	m.SetEvents(samples, user)
	return m
}

func TestItemsAreRoutedByLogType(t *testing.T) {
	m := newModel(rule)
	want := "[Unit tests (2)] test hit test miss [nginx.jsonl (2)] nginx.jsonl:1 nginx.jsonl:2 [mine.json (1)] mine.json:1"
	if got := strings.Join(labels(m), " "); got != want {
		t.Errorf("items:\n got %s\nwant %s", got, want)
	}
	if it, ok := m.Selected(); !ok || it.Key != "test:hit" || !it.IsTest() {
		t.Errorf("the first item (not the header) starts selected: %+v", it)
	}
	// Policies see resources by ResourceType.
	p := newModel(policy)
	if got := strings.Join(labels(p), " "); got != "[s3.jsonl (1)] s3.jsonl:1 [mine.json (1)] mine.json:1" {
		t.Errorf("policy items: %s", got)
	}
	// a: every event, whatever its type.
	m, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'a'}})
	if n := len(m.items); n != 2+len(samples)+len(user) || cmd == nil {
		t.Errorf("all events: %d items", n)
	}
}

func TestCursorSkipsHeadersAndStepsWithinAGroup(t *testing.T) {
	m := newModel(rule)
	down := tea.KeyMsg{Type: tea.KeyDown}
	m, _ = m.Update(down)
	m, _ = m.Update(down) // over the nginx header
	if it, _ := m.Selected(); it.Label != "nginx.jsonl:1" {
		t.Fatalf("selected %q", it.Label)
	}
	if rest := m.Rest(); len(rest) != 2 || rest[1].Label != "nginx.jsonl:2" {
		t.Fatalf("rest of the group: %+v", rest)
	}
	if !m.SelectNext() {
		t.Fatal("SelectNext inside a group")
	}
	if m.SelectNext() {
		t.Fatal("SelectNext must stop at the end of the group")
	}
	if !m.SelectKey("test:miss") {
		t.Fatal("SelectKey")
	}
	// A reload keeps the cursor on the same item.
	m.SetDetection(rule)
	if it, _ := m.Selected(); it.Key != "test:miss" {
		t.Fatalf("after SetDetection: %q", it.Key)
	}
}

func TestOutcomesAreShown(t *testing.T) {
	m := newModel(rule)
	m.SetOutcome("R", "test:hit", Pass)
	m.SetOutcome("R", "test:miss", Fail)
	m.SetOutcome("R", "file:/s/events/nginx.jsonl:1", Alert)
	m.SetOutcome("R", "file:/s/events/nginx.jsonl:2", Quiet)
	view := m.View()
	for _, want := range []string{"▸✓ hit", " ✗ miss", " ●   1 09:00:01 192.0.2.1 GET / HTTP/1.1 200", " ○   2 192.0.2.2 401"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	m.ClearOutcomes("R")
	if m.Outcome("R", "test:hit") != NotRun {
		t.Error("ClearOutcomes")
	}
}

func TestEditMakesACopyAndAsksToRunIt(t *testing.T) {
	m := newModel(rule)
	orig, _ := m.Selected()
	m, cmd := m.Update(EditedMsg{Of: orig, Original: []byte("{\n  \"status\": 200\n}\n"), Data: []byte(`{"status": 201, "extra": 1.50}`)})
	if cmd == nil {
		t.Fatal("no command after an edit")
	}
	if _, ok := cmd().(RunRequest); !ok {
		t.Fatal("an edit asks for a run")
	}
	it, ok := m.Selected()
	if !ok || it.Kind != KindEdited || string(it.Raw) != `{"status":201,"extra":1.50}` {
		t.Fatalf("selected after edit: %+v", it)
	}
	if it.Test == nil || it.Test.Name != "hit" || string(it.Test.Data) != string(it.Raw) {
		t.Fatalf("an edited test keeps its expectation and mocks: %+v", it.Test)
	}
	if !strings.Contains(m.View(), "✎ 1 of test hit") {
		t.Errorf("view:\n%s", m.View())
	}
	// Editing the copy again changes it in place.
	m, _ = m.Update(EditedMsg{Of: it, Original: []byte("x"), Data: []byte(`{"status": 202}`)})
	if got := len(m.edited["R"]); got != 1 {
		t.Fatalf("%d edited copies, want 1", got)
	}
	if it, _ := m.Selected(); string(it.Raw) != `{"status":202}` {
		t.Fatalf("copy after re-edit: %s", it.Raw)
	}
}

func TestBadEditIsKeptAsADraft(t *testing.T) {
	m := newModel(rule)
	orig, _ := m.Selected()
	m, cmd := m.Update(EditedMsg{Of: orig, Original: []byte("{}"), Data: []byte(`{"status": 201,`)})
	n, ok := cmd().(Notice)
	if !ok || !n.Err || !strings.Contains(n.Text, "not valid JSON") {
		t.Fatalf("notice %+v", n)
	}
	if string(m.drafts[orig.Key]) != `{"status": 201,` {
		t.Fatalf("draft not kept: %q", m.drafts[orig.Key])
	}
	m, cmd = m.Update(EditedMsg{Of: orig, Original: []byte("[1]"), Data: []byte(`[1, 2]`)})
	if n := cmd().(Notice); !strings.Contains(n.Text, "not a JSON object") {
		t.Fatalf("notice %+v", n)
	}
	// Unchanged: nothing to run.
	_, cmd = m.Update(EditedMsg{Of: orig, Original: []byte("{}\n"), Data: []byte("{}")})
	if n := cmd().(Notice); !strings.Contains(n.Text, "unchanged") {
		t.Fatalf("notice %+v", n)
	}
}

func TestDescribe(t *testing.T) {
	got := Describe([]byte(`{"eventVersion":"1.08","eventTime":"x","eventName":"GetObject","userIdentity":{"a":1},"errorCode":"AccessDenied","requestID":"abc","p_log_type":"X","p_event_time":"2024-05-01T08:01:00Z"}`))
	if got != "08:01:00 GetObject AccessDenied" {
		t.Errorf("Describe = %q", got)
	}
}
