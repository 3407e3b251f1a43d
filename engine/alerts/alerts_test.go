package alerts

import (
	"testing"
	"time"

	"github.com/rulebench/rulebench/engine/repo"
)

func TestGroupingWindowThresholdAndErrors(t *testing.T) {
	d := &repo.Detection{ID: "R", Severity: "High", Threshold: 2, DedupPeriodMinutes: 10}
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	g := New()
	add := func(dedup string, at time.Duration, err string) *Alert {
		return g.Add(Match{Detection: d, Dedup: dedup, Title: "t " + dedup, Severity: "HIGH", Err: err, Event: Event{Time: t0.Add(at)}})
	}
	a1 := add("x", 0, "")
	if a1.Delivered {
		t.Error("one event is below Threshold 2")
	}
	if add("x", 10*time.Minute-time.Second, "") != a1 || !a1.Delivered || a1.Events != 2 {
		t.Errorf("a match just inside the period must join: %+v", a1)
	}
	a2 := add("x", 10*time.Minute, "")
	if a2 == a1 {
		t.Error("a match exactly DedupPeriodMinutes after the alert opened must open a new one")
	}
	if add("y", time.Minute, "") == a2 {
		t.Error("another dedup string is another alert")
	}
	e1 := add("", time.Minute, "KeyError: 'x'")
	e2 := add("", 2*time.Minute, "KeyError: 'x'")
	if e1 != e2 || !e1.Error || !e1.Delivered || e1.Title != "KeyError: 'x'" || e1.Severity != "HIGH" {
		t.Errorf("rule errors group by error and are always delivered: %+v", e1)
	}
	if add("", time.Minute, "TypeError: y") == e1 {
		t.Error("different errors are different alerts")
	}
	if len(g.Alerts()) != 5 || len(g.Delivered()) != 3 {
		t.Errorf("alerts %d delivered %d", len(g.Alerts()), len(g.Delivered()))
	}
	if !a1.FirstTime.Equal(t0) || !a1.LastTime.Equal(t0.Add(10*time.Minute-time.Second)) {
		t.Errorf("first/last = %v/%v", a1.FirstTime, a1.LastTime)
	}
}

func TestSamplesAreBounded(t *testing.T) {
	d := &repo.Detection{ID: "R", Threshold: 1, DedupPeriodMinutes: 60}
	g := New()
	var a *Alert
	for i := 0; i < 50; i++ {
		a = g.Add(Match{Detection: d, Dedup: "k", Event: Event{Line: i + 1}})
	}
	if a.Events != 50 || len(a.Samples) != SampleSize || a.Samples[0].Line != 1 {
		t.Errorf("events %d samples %d", a.Events, len(a.Samples))
	}
}

func TestSplitKeepsOrderAndPutsErrorsApart(t *testing.T) {
	a := &Alert{Title: "a", Delivered: true}
	e := &Alert{Title: "e", Error: true, Delivered: true}
	h := &Alert{Title: "h"}
	b := &Alert{Title: "b", Delivered: true}
	delivered, errs, held := Split([]*Alert{a, e, h, b})
	if len(delivered) != 2 || delivered[0] != a || delivered[1] != b || len(errs) != 1 || errs[0] != e || len(held) != 1 || held[0] != h {
		t.Errorf("split: %v %v %v", delivered, errs, held)
	}
}
