package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/events"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/theme"
)

var (
	brute = &repo.Detection{ID: "Nginx.BruteForce", Kind: repo.KindRule, Severity: "Medium", Threshold: 5, DedupPeriodMinutes: 15}
	root  = &repo.Detection{ID: "AWS.RootLogin", Kind: repo.KindRule, Severity: "Critical", Threshold: 1, DedupPeriodMinutes: 60}
	flaky = &repo.Detection{ID: "Custom.Flaky", Kind: repo.KindRule, Severity: "Low", Threshold: 1, DedupPeriodMinutes: 60}
	t0    = time.Date(2024, 5, 1, 9, 30, 0, 0, time.UTC)
)

var seq int64

// match is a detection's alert on an event at t.
func match(d *repo.Detection, title, dedup string, t time.Time) engine.StreamResult {
	seq++
	raw, _ := json.Marshal(map[string]any{"p_event_time": t.Format("2006-01-02 15:04:05.000"), "n": seq})
	return engine.StreamResult{
		Event:     events.Event{File: "/repo/events/story.jsonl", Line: int(seq), Seq: seq, Raw: raw},
		Detection: d, EventTime: t,
		Result: &engine.Result{DetectionID: d.ID, Alerted: true, Output: json.RawMessage("true"),
			Alert: &engine.Alert{Title: title, Dedup: dedup, Severity: strings.ToUpper(string(d.Severity)), AlertContext: json.RawMessage(`{"n":1}`)},
			NetworkCalls: []engine.NetworkCall{{Kind: "http", Target: "GET https://intel.example.net/v1/ip/203.0.113.5", Method: "GET",
				URL: "https://intel.example.net/v1/ip/203.0.113.5", Source: "missing", Function: "alert_context"}}},
	}
}

func ruleError(d *repo.Detection, t time.Time) engine.StreamResult {
	sr := match(d, "", "", t)
	sr.Result = &engine.Result{DetectionID: d.ID, Error: &engine.PyError{Type: "KeyError", Message: "'user'", RuleLine: 3,
		Traceback: "Traceback (most recent call last):\n  File \"rules/flaky.py\", line 3, in rule\nKeyError: 'user'"}}
	return sr
}

func started(w, h int) Model {
	m := New(theme.Monochrome())
	m.SetRoot("/repo")
	m.SetSizes(w, 36, h, 60, h, w, 12)
	m.Start(1, Scope{Label: "3 enabled rules", Detections: []*repo.Detection{root, brute, flaky}, Files: []string{"/repo/events/story.jsonl"}})
	return m
}

func feed(m Model, msgs ...tea.Msg) Model {
	for _, msg := range msgs {
		m, _ = m.Update(msg)
	}
	return m
}

func TestAlertsFormAndAreListedDeliveredErrorsThenHeld(t *testing.T) {
	m := started(100, 30)
	var results []engine.StreamResult
	// Six failures from one address within the dedup period: delivered at
	// the fifth. Three from another: below the threshold.
	for i := 0; i < 6; i++ {
		results = append(results, match(brute, "Brute force from 192.0.2.200", "192.0.2.200", t0.Add(time.Duration(i)*time.Second)))
	}
	for i := 0; i < 3; i++ {
		results = append(results, match(brute, "Brute force from 198.51.100.9", "198.51.100.9", t0.Add(time.Minute+time.Duration(i)*time.Second)))
	}
	results = append(results, ruleError(flaky, t0.Add(2*time.Minute)), ruleError(flaky, t0.Add(3*time.Minute)))
	m = feed(m, BatchMsg{Seq: 1, Results: results[:4], Progress: events.Progress{Events: 4, TotalBytes: 100, ReadBytes: 25}, Elapsed: time.Second})
	if len(m.Alerts()) != 1 || m.Alerts()[0].Delivered {
		t.Fatalf("after 4 failures: one undelivered alert, got %+v", m.Alerts())
	}
	if !strings.Contains(m.ListView(), "4/5 below threshold") {
		t.Errorf("the forming alert shows its count against the threshold:\n%s", m.ListView())
	}
	if v := m.ProgressView(); !strings.Contains(v, " 25%") || !strings.Contains(v, "ETA 3s") || !strings.Contains(v, "4 events · 4 matches · 0 errors · 0 alerts · 4 events/s") {
		t.Errorf("progress:\n%s", v)
	}
	m = feed(m, BatchMsg{Seq: 1, Results: results[4:], Progress: events.Progress{Events: 12, TotalBytes: 100, ReadBytes: 100}, Elapsed: 2 * time.Second})
	m = feed(m, BatchMsg{Seq: 2, Results: []engine.StreamResult{match(root, "stale", "x", t0)}}) // another replay's
	m = feed(m, BatchMsg{Seq: 1, Results: []engine.StreamResult{match(root, "Root login from 192.0.2.44", "192.0.2.44", t0.Add(time.Hour))}})

	list := m.Alerts()
	var got []string
	for _, a := range list {
		got = append(got, fmt.Sprintf("%s/%s/%d/%v/%v", a.RuleID, a.Dedup, a.Events, a.Delivered, a.Error))
	}
	want := []string{
		"AWS.RootLogin/192.0.2.44/1/true/false",
		"Nginx.BruteForce/192.0.2.200/6/true/false",
		"Custom.Flaky/KeyError: 'user'/2/true/true",
		"Nginx.BruteForce/198.51.100.9/3/false/false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("alerts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if info := m.ListInfo(); info != "2 · 1 err · 1 held" {
		t.Errorf("list info %q", info)
	}
	view := m.ListView()
	for _, w := range []string{
		"▸● CRIT Root login from 192.0.2.44",
		" ● MED  Brute force from 192.0.2.200",
		"6 events · 09:30:00→09:30:05",
		" ! ERR  KeyError: 'user'",
		" ○ MED  Brute force from 198.51.100",
		"3/5 below threshold",
		"Nginx.BruteForce",
	} {
		if !strings.Contains(view, w) {
			t.Errorf("list lacks %q:\n%s", w, view)
		}
	}
	if ev, matches, errs, delivered := m.Counts(); ev != 12 || matches != 10 || errs != 2 || delivered != 2 {
		t.Errorf("counts %d %d %d %d", ev, matches, errs, delivered)
	}
	if v := m.ProgressView(); !strings.Contains(v, " 99%") || !strings.Contains(v, "ETA <1s") || !strings.Contains(v, "2 errors") {
		t.Errorf("everything read, still evaluating:\n%s", v)
	}
}

func TestSelectedAlertShowsItsSampleResults(t *testing.T) {
	m := started(100, 30)
	var results []engine.StreamResult
	for i := 0; i < 7; i++ {
		results = append(results, match(brute, "Brute force from 192.0.2.200", "192.0.2.200", t0.Add(time.Duration(i)*time.Second)))
	}
	results = append(results, ruleError(flaky, t0.Add(time.Minute)))
	m = feed(m, BatchMsg{Seq: 1, Results: results})
	a, _ := m.Selected()
	if a.RuleID != brute.ID || len(m.Samples(a)) != 5 {
		t.Fatalf("selected %s with %d kept results", a.RuleID, len(m.Samples(a)))
	}
	m.detail.SetHeight(500)
	view := m.DetailView()
	for _, w := range []string{
		"● ALERT MEDIUM",
		"title        Brute force from 192.0.2.200",
		"rule         Nginx.BruteForce",
		"events       7 events, delivered at threshold 5",
		"first, last  2024-05-01 09:30:00 → 09:30:06",
		"dedup        192.0.2.200",
		"samples      events/story.jsonl:",
		"(+2 more)",
		"── event 1 of 7 ──",
		"── event 5 of 7 ──",
		"● ALERT  events/story.jsonl:",
		"alert context",
		// Outside calls are shown with each result, and what to add for
		// a call offline mode could not answer.
		"outside calls",
		"✗ GET https://intel.example.net/v1/ip/203.0.113.5 ! no",
		"    alert_context()",
		`add to a file in fixtures/:  http: [{method: GET, url:`,
	} {
		if !strings.Contains(view, w) {
			t.Errorf("detail lacks %q:\n%s", w, view)
		}
	}
	if strings.Contains(view, "event 6 of 7") {
		t.Errorf("only the samples' results are kept:\n%s", view)
	}
	// v: the events themselves.
	m = feed(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("v")})
	if view := m.DetailView(); !strings.Contains(view, `"p_event_time": "2024-05-01 09:30:00.000"`) || m.DetailTitle() != "Alert events" {
		t.Errorf("events:\n%s", view)
	}
	// The rule error: its error and traceback, and the line for the source.
	m = feed(m, tea.KeyMsg{Type: tea.KeyDown})
	a, _ = m.Selected()
	if !a.Error || m.ErrorLine() != 3 {
		t.Fatalf("selected %+v, error line %d", a, m.ErrorLine())
	}
	m = feed(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("v")})
	m.detail.SetHeight(500)
	view = m.DetailView()
	for _, w := range []string{"! RULE ERROR LOW", "error        KeyError: 'user'", "rule         Custom.Flaky", `line 3, in rule`} {
		if !strings.Contains(view, w) {
			t.Errorf("error detail lacks %q:\n%s", w, view)
		}
	}
	// enter asks the workbench to open the alert's first event.
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	req, ok := cmd().(OpenRequest)
	if !ok || req.Detection != flaky || req.File != "/repo/events/story.jsonl" || req.Line != int(results[7].Event.Line) {
		t.Errorf("open request %+v", req)
	}
}

func TestCursorStaysOnItsAlertAsAlertsForm(t *testing.T) {
	m := started(100, 30)
	m = feed(m, BatchMsg{Seq: 1, Results: []engine.StreamResult{
		match(flaky, "low one", "a", t0), match(flaky, "low two", "b", t0.Add(time.Second)),
	}})
	m = feed(m, tea.KeyMsg{Type: tea.KeyDown})
	if a, _ := m.Selected(); a.Title != "low two" {
		t.Fatalf("selected %q", a.Title)
	}
	// A critical alert sorts above: the cursor stays on "low two".
	m = feed(m, BatchMsg{Seq: 1, Results: []engine.StreamResult{match(root, "critical", "c", t0.Add(2*time.Second))}})
	if a, _ := m.Selected(); a.Title != "low two" || m.Alerts()[0].Title != "critical" {
		t.Errorf("selected %q, first %q", a.Title, m.Alerts()[0].Title)
	}
}

func TestKeptResultsAreBounded(t *testing.T) {
	m := started(100, 30)
	var results []engine.StreamResult
	for i := 0; i < KeptResults+40; i++ {
		results = append(results, match(flaky, "one of many", fmt.Sprint(i), t0.Add(time.Duration(i)*time.Second)))
	}
	m = feed(m, BatchMsg{Seq: 1, Results: results})
	if m.kept != KeptResults || len(m.Alerts()) != KeptResults+40 {
		t.Fatalf("kept %d of %d alerts", m.kept, len(m.Alerts()))
	}
	last := m.Alerts()[len(m.Alerts())-1]
	if len(m.Samples(last)) != 0 {
		t.Fatal("the last alert's result is kept past the bound")
	}
	m = feed(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("G")})
	m.detail.SetHeight(100)
	if v := m.DetailView(); !strings.Contains(v, "not kept") || !strings.Contains(v, "destinations default (by severity)") {
		t.Errorf("detail of an alert without results:\n%s", v)
	}
}

// profile is an engine profile with counts only: timings need the
// engine's histogram.
func profile(d *repo.Detection, matched, errs, calls, unmatched int64) *engine.Profile {
	return &engine.Profile{Detection: d, Matched: matched, Errors: errs, CacheCalls: calls, CacheCallsUnmatched: unmatched}
}

func TestProfileTableAndCallsAtTheEnd(t *testing.T) {
	m := started(120, 30)
	m = feed(m, BatchMsg{Seq: 1, Results: []engine.StreamResult{
		match(root, "Root login", "x", t0), ruleError(flaky, t0.Add(time.Minute)),
	}})
	if info := m.ProfileInfo(); info != "timings at the end" {
		t.Errorf("info while running %q", info)
	}
	live := m.ProfileView()
	if !strings.Contains(live, "AWS.RootLogin") || !strings.Contains(live, "–") {
		t.Errorf("live profile:\n%s", live)
	}
	sum := &engine.StreamSummary{Events: 40, Profiles: []*engine.Profile{
		profile(root, 1, 0, 0, 0), profile(brute, 0, 0, 30, 27), profile(flaky, 0, 1, 0, 0),
	}, Duration: time.Second}
	calls := &engine.RateProjection{Calls: 4, Rules: []engine.RuleProjection{{Detection: root.ID, Events: 40, Calls: 4, CallsPerEvent: 0.1}}}
	m.SetNetworkMode("offline")
	m = feed(m, DoneMsg{Seq: 1, Summary: sum, Calls: calls, Elapsed: time.Second, Progress: events.Progress{Events: 40, TotalBytes: 10, ReadBytes: 10}})
	if m.Running() {
		t.Fatal("still running")
	}
	m.table.SetHeight(50)
	view := m.ProfileView()
	for _, w := range []string{
		"RULE", "EVENTS", "MATCHED", "ERRORS", "ALERTS", "MEAN", "P99", "CACHE/EV", "CACHE-NM", "CALLS/EV",
		"⚠ Nginx.BruteForce",
		"⚠ cache used before it is necessary",
		"CALLS/EV: outside calls (offline) per evaluated event",
		"0.100",
	} {
		if !strings.Contains(view, w) {
			t.Errorf("profile lacks %q:\n%s", w, view)
		}
	}
	if row, ok := m.Profile(brute.ID); !ok || !row.CacheBeforeNeeded {
		t.Errorf("profile row %+v", row)
	}
	if v := m.ProgressView(); !strings.Contains(v, "100%  done in 1.00s ") {
		t.Errorf("progress when done:\n%s", v)
	}
	// Narrow: columns go, least telling first, and the info says so.
	m.SetSizes(60, 30, 20, 30, 20, 44, 12)
	head := strings.Split(m.ProfileView(), "\n")[0]
	if strings.Contains(head, "EVENTS") || !strings.Contains(head, "MATCHED") || !strings.Contains(head, "ALERTS") {
		t.Errorf("narrow header %q", head)
	}
	if !strings.Contains(m.ProfileInfo(), "columns hidden") {
		t.Errorf("info %q", m.ProfileInfo())
	}
	for i, l := range strings.Split(m.ProfileView(), "\n") {
		if w := ansi.StringWidth(l); w > 44 {
			t.Errorf("line %d is %d wide: %q", i, w, l)
		}
	}
}

func TestCancelledAndFailedReplays(t *testing.T) {
	m := started(100, 30)
	m = feed(m, DoneMsg{Seq: 1, Err: context.Canceled, Elapsed: 1500 * time.Millisecond, Progress: events.Progress{Events: 9, TotalBytes: 10, ReadBytes: 5},
		Summary: &engine.StreamSummary{Events: 9, Profiles: []*engine.Profile{profile(brute, 0, 0, 30, 27)}}})
	if v := m.ProgressView(); !strings.Contains(v, " 50%  cancelled after 1.50s") || m.ProfileInfo() != "incomplete" {
		t.Errorf("cancelled:\n%s\n%s", v, m.ProfileInfo())
	}
	// What was profiled before the cancel is kept.
	if row, ok := m.Profile(brute.ID); !ok || row.CacheCallsUnmatched != 27 {
		t.Errorf("profile after a cancel: %+v", row)
	}
	m = started(100, 30)
	m = feed(m, BatchMsg{Seq: 1, Bad: []string{"story.jsonl:3: not a JSON object"}})
	m = feed(m, DoneMsg{Seq: 1, Err: fmt.Errorf("worker crashed")})
	if v := m.ProgressView(); !strings.Contains(v, "failed") || !strings.Contains(v, "worker crashed") {
		t.Errorf("failed:\n%s", v)
	}
	m = started(100, 30)
	m = feed(m, BatchMsg{Seq: 1, Bad: []string{"story.jsonl:3: not a JSON object"}})
	m = feed(m, DoneMsg{Seq: 1, Summary: &engine.StreamSummary{Events: 3, Bad: 1}})
	if v := m.ProgressView(); !strings.Contains(v, "1 bad input") || !strings.Contains(v, "story.jsonl:3: not a JSON") {
		t.Errorf("bad input:\n%s", v)
	}
}

func TestListFitsItsWidth(t *testing.T) {
	for _, w := range []int{30, 36, 48, 80} {
		m := New(theme.Monochrome())
		m.SetSizes(w, w, 12, 40, 12, w, 8)
		m.Start(1, Scope{Detections: []*repo.Detection{brute}})
		var results []engine.StreamResult
		for i := 0; i < 8; i++ {
			results = append(results, match(brute, strings.Repeat("very long title ", 6), fmt.Sprint(i%3), t0.Add(time.Duration(i)*time.Hour)))
		}
		m = feed(m, BatchMsg{Seq: 1, Results: results})
		lines := strings.Split(m.ListView(), "\n")
		if len(lines) > 12 {
			t.Errorf("width %d: %d lines for a list 12 high", w, len(lines))
		}
		for i, l := range lines {
			if lw := ansi.StringWidth(l); lw > w {
				t.Errorf("width %d: line %d is %d wide: %q", w, i, lw, l)
			}
		}
	}
}
