package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/alerts"
	"github.com/rulebench/rulebench/engine/events"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/replay"
)

// triageRepo has a passing rule, a rule with two failing tests and a spec
// that does not load.
func triageRepo(t *testing.T) string {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"rules/ok.py": "def rule(event):\n    return event.get('status') == 200\n\ndef title(event):\n    return 'hit ' + event.get('ip')\n",
		"rules/ok.yml": `AnalysisType: rule
RuleID: OK.Rule
Filename: ok.py
Severity: Low
LogTypes: [Nginx.Access]
Tests:
  - {Name: hit, ExpectedResult: true, Log: {status: 200, ip: 1.2.3.4}}
  - {Name: miss, ExpectedResult: false, Log: {status: 404, ip: 1.2.3.4}}
`,
		"rules/bad.py": "def rule(event):\n    return True\n\n\ndef dedup(event):\n    return event['nope']\n",
		"rules/bad.yml": `AnalysisType: rule
RuleID: Bad.Rule
Filename: bad.py
Severity: High
LogTypes: [Other]
Tests:
  - {Name: dedup raises, ExpectedResult: true, Log: {a: 1}}
  - {Name: wrong expectation, ExpectedResult: false, Log: {a: 1}}
`,
		"rules/broken.yml": "AnalysisType: rule\nRuleID: Broken\nFilename: x.py\n\tSeverity: Low\n",
	})
	return dir
}

// update runs a message through the model without a program (no commands
// are run).
func update(m Model, msgs ...tea.Msg) Model {
	for _, msg := range msgs {
		next, _ := m.Update(msg)
		m = next.(Model)
	}
	return m
}

func TestLayoutFillsTheTerminalExactly(t *testing.T) {
	m := New(testConfig(t, triageRepo(t)))
	for _, size := range [][2]int{{80, 24}, {160, 48}, {120, 30}, {100, 40}, {60, 16}} {
		for _, keys := range []string{"", "?", "t", "z", "P", "P?", "Pz", "P\t\t\t"} {
			mm := update(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			if keys == "t" {
				mm.screen = screenTriage
				mm.setFocus(paneTriageList)
				mm = update(mm, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			} else if strings.HasPrefix(keys, "P") {
				// The replay view, with alerts (no engine: its messages are
				// made here).
				mm.replay.Start(1, replay.Scope{Label: "3 rules", Detections: mm.repo.Detections, Files: []string{"x.jsonl"}})
				mm.showReplay()
				mm = update(mm, replayBatch(mm.repo.Detections[0], 6))
				for _, r := range keys[1:] {
					if r == '\t' {
						mm = update(mm, tea.KeyMsg{Type: tea.KeyTab})
					} else {
						mm = update(mm, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
					}
				}
				mm = update(mm, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			} else if keys != "" {
				mm = update(mm, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(keys)})
			}
			lines := strings.Split(mm.View(), "\n")
			if len(lines) != size[1] {
				t.Errorf("%dx%d %q: %d lines:\n%s", size[0], size[1], keys, len(lines), mm.View())
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("%dx%d %q: line %d is %d wide: %q", size[0], size[1], keys, i, w, l)
				}
			}
		}
	}
	small := update(m, tea.WindowSizeMsg{Width: 50, Height: 10})
	if !strings.Contains(small.View(), "needs at least 60×16") {
		t.Errorf("small terminal: %q", small.View())
	}
}

func TestTabMovesBetweenPanesAndNarrowPanesSwitch(t *testing.T) {
	m := update(New(testConfig(t, triageRepo(t))), tea.WindowSizeMsg{Width: 80, Height: 24})
	tab := tea.KeyMsg{Type: tea.KeyTab}
	want := []paneID{paneEvents, paneResult, paneSource, paneCache, paneRules}
	for _, p := range want {
		m = update(m, tab)
		if m.focus != p {
			t.Fatalf("focus %d, want %d", m.focus, p)
		}
		if p == paneSource && !strings.Contains(m.View(), "Result · Source · Cache") {
			t.Errorf("the shared column names its panes:\n%s", m.View())
		}
	}
	if _, ok := m.lay.panes[paneCache]; !ok {
		t.Error("at 80 columns the right column keeps the last of result/source/cache focused")
	}
	m = update(m, tea.KeyMsg{Type: tea.KeyShiftTab})
	if m.focus != paneCache {
		t.Errorf("shift+tab: focus %d", m.focus)
	}
	wide := update(m, tea.WindowSizeMsg{Width: 160, Height: 48})
	for _, p := range benchPanes {
		if _, ok := wide.lay.panes[p]; !ok {
			t.Errorf("at 160x48 pane %d is hidden", p)
		}
	}
}

func TestFilterTakesKeysFirst(t *testing.T) {
	m := update(New(testConfig(t, triageRepo(t))), tea.WindowSizeMsg{Width: 80, Height: 24})
	// Letters that are global keys (q, t) go to the filter while it is typed.
	m = update(m, keys("/"), keys("ok"), keys("q"), keys("t"))
	if m.rules.Filter() != "okqt" || m.screen != screenBench {
		t.Fatalf("filter %q screen %d", m.rules.Filter(), m.screen)
	}
	m = update(m, tea.KeyMsg{Type: tea.KeyBackspace}, tea.KeyMsg{Type: tea.KeyBackspace}, tea.KeyMsg{Type: tea.KeyEnter})
	if m.rules.SelectedID() != "OK.Rule" || m.rules.Filtering() {
		t.Fatalf("selected %q filtering %v", m.rules.SelectedID(), m.rules.Filtering())
	}
	// Runes that arrive in one read are separate key presses.
	m = update(m, keys("?"))
	if !m.help.ShowAll {
		t.Fatal("? shows the full help")
	}
	if v := m.View(); !strings.Contains(v, "run next") || !strings.Contains(v, "open rule in editor") || !strings.Contains(v, "quit") {
		t.Errorf("full help:\n%s", v)
	}
	m = update(m, keys("?z"))
	if m.help.ShowAll || !m.zoom {
		t.Errorf("two runes in one message: help %v zoom %v", m.help.ShowAll, m.zoom)
	}
}

func TestLoadErrorsAreListedAndShown(t *testing.T) {
	m := update(New(testConfig(t, triageRepo(t))), tea.WindowSizeMsg{Width: 100, Height: 30})
	m = update(m, keys("G"))
	view := m.View()
	if !strings.Contains(view, "LOAD ERROR") || !strings.Contains(view, "broken.yml") || !strings.Contains(view, "1 load errors") {
		t.Errorf("view:\n%s", view)
	}
	m = update(m, tea.KeyMsg{Type: tea.KeyEnter})
	if !strings.Contains(m.status, "did not load") {
		t.Errorf("status %q", m.status)
	}
}

// The end-to-end tests drive the real program with real Python workers.

func startProgram(t *testing.T, cfg Config, w, h int) (*teatest.TestModel, probe) {
	t.Helper()
	p := newProbe(New(cfg))
	tm := teatest.NewTestModel(t, p, teatest.WithInitialTermSize(w, h))
	t.Cleanup(func() { tm.Quit() })
	p.waitReady(t)
	return tm, p
}

func send(tm *teatest.TestModel, msgs ...tea.Msg) {
	for _, m := range msgs {
		tm.Send(m)
	}
}

func typeKeys(tm *teatest.TestModel, s string) {
	for _, r := range s {
		tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

func finalView(t *testing.T, tm *teatest.TestModel) string {
	t.Helper()
	typeKeys(tm, "q")
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second))
	return normalise(m.View())
}

// Pick a rule, run a sample event, see title, dedup and alert context;
// then edit the event and run the copy.
func TestWorkbenchRunEvent(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Editor = []string{"sed", "-i", `s/"status": 401/"status": 200/`}
	tm, p := startProgram(t, cfg, 80, 24)
	p.waitText(t, "cloudtrail.jsonl")

	typeKeys(tm, "/brute")
	send(tm, tea.KeyMsg{Type: tea.KeyEnter}, tea.KeyMsg{Type: tea.KeyTab})
	// Three tests, then the story: line 9 is the first 401 on the admin
	// login.
	typeKeys(tm, strings.Repeat("j", 3+8))
	p.waitText(t, "▸·   9 09:30:01")
	send(tm, tea.KeyMsg{Type: tea.KeyEnter})
	view := p.waitText(t, "● ALERT  nginx.jsonl:9 · run 1", "ran nginx.jsonl:9")
	for _, want := range []string{
		"title        Repeated admin panel",
		"dedup        192.0.2.200",
		"severity     MEDIUM",
		"alert context",
		`    "source_ip": "192.0.2.200",`,
		"ran nginx.jsonl:9: ALERT in ",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("result lacks %q:\n%s", want, view)
		}
	}
	t.Run("result", func(t *testing.T) { golden.RequireEqual(t, []byte(normalise(view))) })

	// The edited copy (status 200: no longer a failure) runs at once.
	typeKeys(tm, "e")
	view = p.waitText(t, "○ no alert  edit 1 of nginx.jsonl:9 · run 2")
	if !strings.Contains(view, "▸○ ✎ 1 of nginx.jsonl:9") || !strings.Contains(view, "Edited (1)") {
		t.Errorf("the copy is listed:\n%s", view)
	}
	_ = finalView(t, tm)
}

// Run every test, open the failing one: expected vs actual, the failing
// function, its traceback and the source line; re-run it.
func TestWorkbenchTriage(t *testing.T) {
	tm, p := startProgram(t, testConfig(t, triageRepo(t)), 80, 24)
	typeKeys(tm, "t")
	view := p.waitText(t, "2 passed, 2 failed", "1 spec not loaded")
	for _, want := range []string{
		"! rules/broken.yml",
		"✗ Bad.Rule (2/2 failed)",
		"▸✗   dedup raises",
		"failure      dedup(): KeyError: 'nope'",
		"✗ OK.Rule",
	} {
		if want == "✗ OK.Rule" {
			if strings.Contains(view, want) {
				t.Errorf("OK.Rule passed:\n%s", view)
			}
			continue
		}
		if !strings.Contains(view, want) {
			t.Errorf("triage lacks %q:\n%s", want, view)
		}
	}
	t.Run("triage", func(t *testing.T) { golden.RequireEqual(t, []byte(normalise(view))) })

	// tab, tab: the source beside it, the failing line marked.
	send(tm, tea.KeyMsg{Type: tea.KeyTab}, tea.KeyMsg{Type: tea.KeyTab})
	view = p.waitText(t, "▶6     return event['nope']")
	t.Run("source", func(t *testing.T) { golden.RequireEqual(t, []byte(normalise(view))) })

	// Re-run the test alone.
	send(tm, tea.KeyMsg{Type: tea.KeyShiftTab}, tea.KeyMsg{Type: tea.KeyShiftTab})
	typeKeys(tm, "r")
	p.waitText(t, "re-ran test dedup raises: still fails")

	// enter opens it in the workbench, its result already there.
	send(tm, tea.KeyMsg{Type: tea.KeyEnter})
	view = p.waitText(t, "Unit tests (2)", "▸✗ dedup raises")
	if !strings.Contains(view, "✗ FAIL ● alert  test dedup raises") {
		t.Errorf("the result of the test run is shown:\n%s", view)
	}
	_ = finalView(t, tm)
}

// Run two events of a story one after the other and watch the cache grow.
func TestWorkbenchCacheDemo(t *testing.T) {
	cfg := testConfig(t, "")
	tm, p := startProgram(t, cfg, 160, 48)
	p.waitText(t, "cloudtrail.jsonl")
	typeKeys(tm, "/seentwice")
	send(tm, tea.KeyMsg{Type: tea.KeyEnter}, tea.KeyMsg{Type: tea.KeyTab})
	tests := len(cfg.Repo.Detection("Sample.Custom.BadActorSeenTwice").Tests)
	typeKeys(tm, strings.Repeat("j", tests-1+2)) // to line 2, LAZARUS's first sighting
	p.waitText(t, "▸·   2 08:12:00")
	send(tm, tea.KeyMsg{Type: tea.KeyEnter})
	// The first sighting is stored.
	// n waits for the run to end (a run in flight refuses it).
	p.waitText(t, "Trace of run 1, badactor.jsonl:2 · 2 calls", "*rulebench-samples:bad-actor:sightings:lazarus", " 1 key ", "ran badactor.jsonl:2")
	typeKeys(tm, "n") // line 3, FIN7
	view := p.waitText(t, "Trace of run 2, badactor.jsonl:3 · 2 calls", " 2 keys ", "ran badactor.jsonl:3")
	if !strings.Contains(view, "*rulebench-samples:bad-actor:sightings:fin7") ||
		strings.Contains(view, "*rulebench-samples:bad-actor:sightings:lazarus") {
		t.Errorf("only the key run 2 wrote is marked:\n%s", view)
	}
	t.Run("cache", func(t *testing.T) { golden.RequireEqual(t, []byte(normalise(view))) })
	_ = finalView(t, tm)
}

// Saving a fix reloads the rule in new workers and re-runs what is shown.
func TestWorkbenchReloadsOnChange(t *testing.T) {
	dir := triageRepo(t)
	cfg := testConfig(t, dir)
	cfg.Watch = true
	tm, p := startProgram(t, cfg, 160, 48)
	typeKeys(tm, "/bad")
	send(tm, tea.KeyMsg{Type: tea.KeyEnter}, tea.KeyMsg{Type: tea.KeyEnter})
	p.waitText(t, "✗ FAIL ● alert  test dedup raises · run 1", "▶6")
	writeFiles(t, dir, map[string]string{
		"rules/bad.py": "def rule(event):\n    return True\n\n\ndef dedup(event):\n    return event.get('nope', 'none')\n",
	})
	view := p.waitText(t, "✓ PASS ● alert  test dedup raises · run 2")
	if strings.Contains(view, "▶6") {
		t.Errorf("the error line is still marked:\n%s", view)
	}
	if !strings.Contains(view, "dedup        none") {
		t.Errorf("the new dedup:\n%s", view)
	}
	_ = finalView(t, tm)
}

// The first frame on the samples, and the full help, at 80×24.
func TestWorkbenchFirstFrameAndHelp(t *testing.T) {
	tm, p := startProgram(t, testConfig(t, ""), 80, 24)
	view := p.waitText(t, "cloudtrail.jsonl (34)", "not run yet", "network offline: 2 HTTP")
	t.Run("first", func(t *testing.T) { golden.RequireEqual(t, []byte(normalise(view))) })
	typeKeys(tm, "?")
	view = p.waitText(t, "open rule in editor")
	t.Run("help", func(t *testing.T) { golden.RequireEqual(t, []byte(normalise(view))) })
	_ = finalView(t, tm)
}

// replayBatch is a replay's batch of n matches of d, one alert each.
func replayBatch(d *repo.Detection, n int) replay.BatchMsg {
	msg := replay.BatchMsg{Seq: 1, Progress: events.Progress{Events: int64(n), TotalBytes: 100, ReadBytes: 50}, Elapsed: time.Second}
	for i := 0; i < n; i++ {
		msg.Results = append(msg.Results, engine.StreamResult{
			Event:     events.Event{File: "x.jsonl", Line: i + 1, Seq: int64(i), Raw: []byte(`{"a":1}`)},
			Detection: d,
			Result: &engine.Result{DetectionID: d.ID, Alerted: true, Output: []byte("true"),
				Alert: &engine.Alert{Title: fmt.Sprintf("alert number %d with a long title", i), Dedup: fmt.Sprint(i), Severity: "HIGH", AlertContext: []byte("{}")}},
		})
	}
	return msg
}

// A replay holds every worker: runs and tests wait for it, and it waits
// for them; esc cancels it.
func TestReplayAndRunsExcludeEachOther(t *testing.T) {
	m := update(New(testConfig(t, triageRepo(t))), tea.WindowSizeMsg{Width: 80, Height: 24})
	cancelled := false
	m.replaying = &activeReplay{seq: 1, cancel: func() { cancelled = true }}
	m.setFocus(paneEvents)
	for _, k := range []tea.KeyMsg{{Type: tea.KeyEnter}, keys("n"), keys("R")} {
		m = update(m, k)
		if !strings.Contains(m.status, "a replay is using every worker") || m.running != nil {
			t.Errorf("%s during a replay: status %q", k, m.status)
		}
	}
	m = update(m, keys("t"))
	if m.testing != nil || !strings.Contains(m.status, "a replay is using every worker") {
		t.Errorf("tests during a replay: status %q", m.status)
	}
	m = update(m, keys("P"))
	if !strings.Contains(m.status, "a replay is in progress") {
		t.Errorf("a second replay: status %q", m.status)
	}
	m = update(m, tea.KeyMsg{Type: tea.KeyEsc})
	if !cancelled {
		t.Error("esc does not cancel the replay")
	}
	m.replaying = nil
	m.running = &activeRun{seq: 2, cancel: func() {}}
	m = update(m, keys("P"))
	if m.replaying != nil || !strings.Contains(m.status, "a run is in progress") {
		t.Errorf("a replay during a run: status %q", m.status)
	}
	m.running = nil
	m = update(m, keys("V"))
	if m.screen != screenBench || !strings.Contains(m.status, "no replay yet") {
		t.Errorf("V before any replay: screen %d status %q", m.screen, m.status)
	}
	// ctrl+p without a rule selected (a load error is).
	m = update(m, keys("G"))
	m.setFocus(paneRules)
	m = update(m, keys("G"), tea.KeyMsg{Type: tea.KeyCtrlP})
	if m.replaying != nil || !strings.Contains(m.status, "select a rule") {
		t.Errorf("ctrl+p on a load error: status %q", m.status)
	}
}

// Replay the bundled samples through every enabled rule: the alerts the
// samples' events/README.md describes form, the profile fills in, and an
// alert opens on the bench.
func TestWorkbenchReplay(t *testing.T) {
	cfg := testConfig(t, "")
	tm, p := startProgram(t, cfg, 80, 24)
	p.waitText(t, "cloudtrail.jsonl (34)")
	typeKeys(tm, "P")
	view := p.waitText(t, "replayed 74 events: 17 matches, 10 alerts, 0 rule errors in", "100%  done in")
	for _, want := range []string{
		"Replay of 7 enabled rules",
		"74 events",
		"17 matches · 0 errors · 10 alerts · ",
		"Alerts ──────────────────── 10",
		"▸● CRIT Root console login withou",
		"● ALERT CRITICAL",
		"rule         Sample.AWS.CloudTrail.",
		"             RootConsoleLoginEnriched",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("replay view lacks %q:\n%s", want, view)
		}
	}
	t.Run("replay", func(t *testing.T) { golden.RequireEqual(t, []byte(normalise(view))) })

	// The whole view on a large terminal: alerts, results, source and the
	// profile with its timings.
	tm.Send(tea.WindowSizeMsg{Width: 160, Height: 48})
	// (The source is read in the background: wait for it too.)
	view = p.waitText(t, "╭─ Profile ─", "CACHE-NM", "Sample.Okta.ImpossibleTravel  ", "def rule(event):")
	for _, want := range []string{
		"⚠ Sample.AWS.CloudTrail.AccessDeniedBurst             34       1      0      1",
		"⚠ cache used before it is necessary",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("wide replay view lacks %q:\n%s", want, view)
		}
	}
	t.Run("wide", func(t *testing.T) { golden.RequireEqual(t, []byte(normalise(view))) })

	// Move to the brute force alert: six events, delivered at the fifth;
	// enter opens its first event on the bench.
	typeKeys(tm, "jjjjj")
	p.waitText(t, "events       6 events, delivered at threshold 5")
	send(tm, tea.KeyMsg{Type: tea.KeyEnter})
	p.waitText(t, "▸·   9 09:30:01", "nginx.jsonl:9  not run yet")
	// V: back to the replay, as it was.
	typeKeys(tm, "V")
	p.waitText(t, "Replay of 7 enabled rules", "events       6 events, delivered at threshold 5")

	// ctrl+p: the same files through the rule selected on the bench only.
	send(tm, tea.KeyMsg{Type: tea.KeyCtrlP})
	view = p.waitText(t, "Replay of Sample.Nginx.AdminPanelBruteForce", "replayed 74 events: 6 matches, 1 alert, 0 rule errors in")
	if !strings.Contains(view, "Repeated admin panel auth") || strings.Contains(view, "Root console login") {
		t.Errorf("the replay of one rule:\n%s", view)
	}
	typeKeys(tm, "V")
	p.waitText(t, "╭─ Rules ")

	typeKeys(tm, "q")
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(probe).Model.(Model)
	if id := m.rules.SelectedID(); id != "Sample.Nginx.AdminPanelBruteForce" {
		t.Errorf("enter selected %s on the bench", id)
	}
	if n := len(m.replay.Alerts()); n != 1 {
		t.Errorf("the one-rule replay has %d alerts", n)
	}
}

// The alerts of a replay of the samples are the ones their README lists.
func TestWorkbenchReplayAlertsMatchTheSamplesReadme(t *testing.T) {
	tm, p := startProgram(t, testConfig(t, ""), 120, 40)
	p.waitText(t, "cloudtrail.jsonl (34)")
	typeKeys(tm, "P")
	p.waitText(t, "replayed 74 events: 17 matches, 10 alerts, 0 rule errors in")
	typeKeys(tm, "q")
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(probe).Model.(Model)
	checkSampleAlerts(t, m.replay.Alerts())
}

// checkSampleAlerts compares a replay of the bundled samples with the
// alerts their events/README.md describes (event clock, enabled rules).
func checkSampleAlerts(t *testing.T, got []*alerts.Alert) {
	t.Helper()
	type want struct {
		rule, dedup, title, severity string
		lines                        []int
	}
	wants := []want{
		{"Sample.AWS.CloudTrail.RootConsoleLoginEnriched", "123456789012:192.0.2.44", "Root console login without MFA to account 123456789012 from 192.0.2.44", "CRITICAL", []int{34}},
		{"Sample.Okta.ImpossibleTravel", "alice@example.com", "Impossible travel for alice@example.com: New York, United States to Tokyo, Japan", "HIGH", []int{6}},
		{"Sample.Custom.BadActorSeenTwice", "lazarus", "Bad actor LAZARUS seen again by ids-edge-02", "HIGH", []int{5}},
		{"Sample.Custom.BadActorSeenTwice", "fin7", "Bad actor fin7 seen again by ids-edge-02", "HIGH", []int{9}},
		{"Sample.Nginx.AdminPanelAccess", "203.0.113.54", "Successful admin panel access from 203.0.113.54", "MEDIUM", []int{3, 4, 17}},
		{"Sample.Nginx.AdminPanelBruteForce", "192.0.2.200", "Repeated admin panel authentication failures from 192.0.2.200", "MEDIUM", []int{9, 10, 11, 12, 13}},
		{"Sample.Nginx.AdminPanelAccess", "192.0.2.200", "Successful admin panel access from 192.0.2.200", "MEDIUM", []int{16}},
		{"Sample.Nginx.AdminPanelAccess", "203.0.113.54", "Successful admin panel access from 203.0.113.54", "MEDIUM", []int{18}},
		{"Sample.AWS.CloudTrail.AccessDeniedBurst", "arn:aws:sts::123456789012:assumed-role/ReadOnlyAuditor/mallory", "ReadOnlyAuditor/mallory was denied access 10 times within an hour", "MEDIUM", []int{24}},
		{"Sample.AWS.CloudTrail.AssumeRoleNewSourceIP", "arn:aws:iam::123456789012:role/DeployRole", "Role DeployRole assumed from new source IP 198.51.100.77", "MEDIUM", []int{29}},
	}
	if len(got) != len(wants) {
		for _, a := range got {
			t.Logf("%s %q %q %d", a.RuleID, a.Dedup, a.Title, a.Events)
		}
		t.Fatalf("%d alerts, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		a := got[i]
		var lines []int
		for _, s := range a.Samples {
			lines = append(lines, s.Line)
		}
		if a.RuleID != w.rule || a.Dedup != w.dedup || a.Title != w.title || a.Severity != w.severity || !a.Delivered || a.Error ||
			fmt.Sprint(lines) != fmt.Sprint(w.lines) {
			t.Errorf("alert %d: %s %q %q %s delivered=%v lines %v; want %+v", i, a.RuleID, a.Dedup, a.Title, a.Severity, a.Delivered, lines, w)
		}
	}
	if got[5].Events != 6 {
		t.Errorf("the brute force alert holds %d events, want 6 (lines 9-14)", got[5].Events)
	}
}
