package cli

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// replayRepo has a stateless rule with a threshold, a stateful rule whose
// alerts depend on the order events reach its cache, and a rule that raises.
var replayRepo = map[string]string{
	"logins.py": "def rule(event):\n    return event.get('kind') == 'login'\n\ndef dedup(event):\n    return event.get('user')\n\ndef title(event):\n    return 'logins by ' + event.get('user')\n",
	"logins.yml": "AnalysisType: rule\nRuleID: Logins\nFilename: logins.py\nSeverity: Low\nLogTypes: [Gen.Auth]\n" +
		"Threshold: 3\nDedupPeriodMinutes: 10\n",
	"stateful.py": `from panther_detection_helpers.caching import increment_counter

def rule(event):
    if event.get("kind") != "fail":
        return False
    return increment_counter("fails:" + event.get("user"), epoch_seconds=86400) % 2 == 0

def dedup(event):
    return event.get("user")
`,
	"stateful.yml": "AnalysisType: rule\nRuleID: Stateful\nFilename: stateful.py\nSeverity: High\nLogTypes: [Gen.Auth]\n",
	"broken.py":    "def rule(event):\n    if event.get('boom'):\n        return event['missing'] == 1\n    return False\n",
	"broken.yml":   "AnalysisType: rule\nRuleID: Broken\nFilename: broken.py\nSeverity: Medium\nLogTypes: [Gen.Auth]\nDedupPeriodMinutes: 30\n",
}

type genEvent struct {
	User, Kind string
	Time       time.Time
	Boom       bool
}

// generateLogs makes events whose times cross the dedup windows' edges:
// gaps are drawn from a set that includes exactly 10 minutes.
func generateLogs(n int) []genEvent {
	rng := rand.New(rand.NewSource(42))
	t := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	gaps := []time.Duration{0, time.Second, 30 * time.Second, 2 * time.Minute, 599 * time.Second, 10 * time.Minute, 31 * time.Minute}
	kinds := []string{"login", "login", "fail", "fail", "other"}
	var out []genEvent
	for i := 0; i < n; i++ {
		t = t.Add(gaps[rng.Intn(len(gaps))])
		out = append(out, genEvent{User: fmt.Sprintf("u%d", rng.Intn(5)), Kind: kinds[rng.Intn(len(kinds))], Time: t, Boom: rng.Intn(40) == 0})
	}
	return out
}

type expectedAlert struct {
	Rule, Dedup string
	Events      int
	First, Last time.Time
	Delivered   bool
}

// expectedAlerts computes, without rulebench, the alerts SPEC §5 gives.
func expectedAlerts(evs []genEvent) []expectedAlert {
	var out []expectedAlert
	open := map[string]int{} // rule|dedup -> index in out
	add := func(rule, dedup string, period time.Duration, threshold int, t time.Time) {
		k := rule + "|" + dedup
		i, ok := open[k]
		if !ok || !t.Before(out[i].First.Add(period)) {
			out = append(out, expectedAlert{Rule: rule, Dedup: dedup, First: t})
			i = len(out) - 1
			open[k] = i
		}
		out[i].Events++
		out[i].Last = t
		out[i].Delivered = out[i].Events >= threshold
	}
	fails := map[string]int{}
	for _, e := range evs {
		// Rules run in ID order for each event.
		if e.Boom {
			add("Broken", "KeyError: 'missing'", 30*time.Minute, 1, e.Time)
		}
		if e.Kind == "login" {
			add("Logins", e.User, 10*time.Minute, 3, e.Time)
		}
		if e.Kind == "fail" {
			fails[e.User]++
			if fails[e.User]%2 == 0 {
				add("Stateful", e.User, 60*time.Minute, 1, e.Time)
			}
		}
	}
	return out
}

func TestReplayGroupsAlertsAsPantherDoes(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for k, v := range replayRepo {
		files["repo/"+k] = v
	}
	evs := generateLogs(3000)
	var b strings.Builder
	for _, e := range evs {
		line, _ := json.Marshal(map[string]any{"p_log_type": "Gen.Auth", "p_event_time": e.Time.Format("2006-01-02 15:04:05.000"),
			"user": e.User, "kind": e.Kind, "boom": e.Boom})
		b.Write(line)
		b.WriteByte('\n')
	}
	files["logs.jsonl"] = b.String()
	writeFiles(t, dir, files)

	replay := func(workers string) []expectedAlert {
		out, errOut, _ := run(t, "run", filepath.Join(dir, "repo"), "--events", filepath.Join(dir, "logs.jsonl"),
			"--format", "json", "--matches=false", "--workers", workers, "--clock", "event")
		var rep struct {
			Alerts []struct {
				Rule, Dedup, Title string
				Error              bool
				Events             int
				First              time.Time `json:"first_event_time"`
				Last               time.Time `json:"last_event_time"`
				Delivered          bool
			}
			Profile []profileRow
			Summary map[string]float64
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%v\n%s\n%s", err, errOut, out)
		}
		var got []expectedAlert
		for _, a := range rep.Alerts {
			dedup := a.Dedup
			got = append(got, expectedAlert{Rule: a.Rule, Dedup: dedup, Events: a.Events, First: a.First, Last: a.Last, Delivered: a.Delivered})
		}
		if rep.Summary["events"] != 3000 {
			t.Errorf("events = %v", rep.Summary["events"])
		}
		return got
	}
	want := expectedAlerts(evs)
	one := replay("1")
	four := replay("4")
	if !reflect.DeepEqual(one, four) {
		t.Fatalf("1 and 4 workers give different alerts (%d vs %d)", len(one), len(four))
	}
	if len(one) != len(want) {
		for i := range min(len(one), len(want)) {
			if one[i] != want[i] {
				t.Fatalf("got %d alerts, want %d; first difference at %d:\n got  %+v\n want %+v", len(one), len(want), i, one[i], want[i])
			}
		}
		t.Fatalf("got %d alerts, want %d", len(one), len(want))
	}
	for i := range want {
		g, w := one[i], want[i]
		if g.Rule != w.Rule || g.Dedup != w.Dedup || g.Events != w.Events || !g.First.Equal(w.First) || !g.Last.Equal(w.Last) || g.Delivered != w.Delivered {
			t.Errorf("alert %d:\n got  %+v\n want %+v", i, g, w)
		}
	}
	var held, stateful int
	for _, a := range want {
		if !a.Delivered {
			held++
		}
		if a.Rule == "Stateful" {
			stateful++
		}
	}
	if held == 0 || stateful < 10 {
		t.Errorf("generated logs do not exercise thresholds (%d held) or the stateful rule (%d alerts)", held, stateful)
	}
}

func TestReplayProfileFlagsEarlyCacheUse(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"repo/bad.py": `from panther_detection_helpers.caching import get_string_set

def rule(event):
    seen = get_string_set("bad-actors")   # before knowing it is needed
    return event.get("kind") == "actor" and event.get("name") in seen
`,
		"repo/bad.yml": "AnalysisType: rule\nRuleID: EarlyCache\nFilename: bad.py\nSeverity: Low\nLogTypes: [Gen.Auth]\n",
		"logs.jsonl":   strings.Repeat(`{"p_log_type": "Gen.Auth", "kind": "other"}`+"\n", 50),
	})
	out, _, code := run(t, "run", filepath.Join(dir, "repo"), "--events", filepath.Join(dir, "logs.jsonl"))
	if code != ExitOK || !strings.Contains(out, "cache used before it is necessary") || !strings.Contains(out, "EarlyCache") {
		t.Errorf("exit %d, profile:\n%s", code, out)
	}
}
