package replay

import (
	"testing"
	"time"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/alerts"
	"github.com/rulebench/rulebench/engine/events"
	"github.com/rulebench/rulebench/engine/repo"
)

func TestAddGroupsMatchesAndErrors(t *testing.T) {
	d := &repo.Detection{ID: "R", Severity: "High", Threshold: 2, DedupPeriodMinutes: 10}
	g := alerts.New()
	t0 := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	match := &engine.Result{Alerted: true, Alert: &engine.Alert{Title: "t", Dedup: "x", Severity: "HIGH"}}
	var sampled []bool
	for i := 0; i < alerts.SampleSize+1; i++ {
		ev := events.Event{File: "/repo/events/a.jsonl", Line: i + 1, Seq: int64(i), Raw: []byte(`{"n":1}`)}
		a, s := Add(g, "/repo", d, ev, match, t0.Add(time.Duration(i)*time.Second))
		sampled = append(sampled, s)
		if a.Samples[0].File != "events/a.jsonl" || string(a.Samples[0].Raw) != `{"n":1}` {
			t.Fatalf("first sample %+v", a.Samples[0])
		}
	}
	if !sampled[0] || !sampled[alerts.SampleSize-1] || sampled[alerts.SampleSize] {
		t.Errorf("sampled %v: the first %d events are the alert's samples", sampled, alerts.SampleSize)
	}
	ev := events.Event{File: "/elsewhere/b.jsonl", Line: 3, Seq: 99}
	a, _ := Add(g, "/repo", d, ev, &engine.Result{Error: &engine.PyError{Type: "KeyError", Message: "'k'"}}, t0)
	if !a.Error || a.Title != "KeyError: 'k'" || a.Samples[0].File != "/elsewhere/b.jsonl" || !a.Delivered {
		t.Errorf("error alert %+v", a)
	}
	if n := len(g.Alerts()); n != 2 {
		t.Errorf("%d alerts", n)
	}
}

func TestProfileFlagsCacheBeforeNeeded(t *testing.T) {
	d1, d2 := &repo.Detection{ID: "A", Threshold: 1}, &repo.Detection{ID: "B", Threshold: 1}
	g := alerts.New()
	Add(g, "", d1, events.Event{}, &engine.Result{Alert: &engine.Alert{Dedup: "x"}}, time.Time{})
	rows := Profile(&engine.StreamSummary{Profiles: []*engine.Profile{
		{Detection: d1, Matched: 1, CacheCalls: 30, CacheCallsUnmatched: 27},
		{Detection: d2, CacheCalls: 8, CacheCallsUnmatched: 8},
	}}, g)
	if len(rows) != 2 || !rows[0].CacheBeforeNeeded || rows[1].CacheBeforeNeeded || rows[0].Alerts != 1 || rows[1].Alerts != 0 {
		t.Errorf("rows %+v", rows)
	}
}
