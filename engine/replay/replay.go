// Package replay holds what the front ends of a replay share (rulebench
// run and the workbench's replay view): how a stream's results are grouped
// into alerts, the per-detection profile rows, and the projection of the
// outside calls the replay made.
package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/alerts"
	"github.com/rulebench/rulebench/engine/events"
	"github.com/rulebench/rulebench/engine/repo"
)

// Match turns one detection's result on one event (a match or a rule
// error) into what the alert grouper takes.
func Match(d *repo.Detection, ev alerts.Event, res *engine.Result) alerts.Match {
	m := alerts.Match{Detection: d, Event: ev}
	if res.Error != nil {
		m.Err = res.Error.Type + ": " + res.Error.Message
		return m
	}
	if a := res.Alert; a != nil {
		m.Title, m.Dedup, m.Severity = a.Title, a.Dedup, a.Severity
		m.Destinations, m.Suppressed, m.AlertContext = a.Destinations, a.Suppressed, a.AlertContext
	}
	return m
}

// Add groups one result into g, naming the event's file relative to root.
// The first event of each alert is kept whole (its Raw), for display. It
// returns the alert the result joined or opened, and whether the event
// became one of that alert's samples. g is not safe for concurrent use:
// callers that add from several goroutines hold a lock.
func Add(g *alerts.Grouper, root string, d *repo.Detection, ev events.Event, res *engine.Result, when time.Time) (*alerts.Alert, bool) {
	aev := alerts.Event{File: RelPath(root, ev.File), Line: ev.Line, Seq: ev.Seq, Time: when}
	opened := len(g.Alerts())
	a := g.Add(Match(d, aev, res))
	if len(g.Alerts()) > opened && len(a.Samples) == 1 {
		a.Samples[0].Raw = append(json.RawMessage(nil), ev.Raw...)
	}
	n := len(a.Samples)
	return a, n > 0 && a.Samples[n-1].Seq == ev.Seq
}

// RelPath shows p relative to root when it is under it.
func RelPath(root, p string) string {
	if root == "" {
		return p
	}
	if rel, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

// ProfileRow is one detection's line in the cost table.
type ProfileRow struct {
	Rule                string  `json:"rule"`
	Events              int64   `json:"events"`
	Matched             int64   `json:"matched"`
	Errors              int64   `json:"errors"`
	Alerts              int     `json:"alerts"`
	MeanUS              float64 `json:"mean_us"`
	P99US               float64 `json:"p99_us"`
	CacheCalls          int64   `json:"cache_calls"`
	CacheCallsPerEvent  float64 `json:"cache_calls_per_event"`
	CacheCallsUnmatched int64   `json:"cache_calls_unmatched"`
	// CacheBeforeNeeded flags the "cache before it is necessary" pitfall:
	// most cache calls were made on events the rule did not match.
	CacheBeforeNeeded bool `json:"cache_before_needed"`
}

// CacheBeforeNeeded flags rules that reach the cache on events they do not
// match more than on those they do (and more than a handful of times).
func CacheBeforeNeeded(p *engine.Profile) bool {
	return p.CacheCallsUnmatched > 10 && p.CacheCallsUnmatched*2 > p.CacheCalls
}

// AlertsPerRule counts the delivered alerts (not rule errors) of each
// detection.
func AlertsPerRule(g *alerts.Grouper) map[string]int {
	out := map[string]int{}
	for _, a := range g.Delivered() {
		if !a.Error {
			out[a.RuleID]++
		}
	}
	return out
}

// Profile is the cost table of a finished replay, one row per detection
// in the summary's order.
func Profile(s *engine.StreamSummary, g *alerts.Grouper) []ProfileRow {
	alertsPerRule := AlertsPerRule(g)
	var rows []ProfileRow
	for _, p := range s.Profiles {
		rows = append(rows, ProfileRow{
			Rule: p.Detection.ID, Events: p.Events, Matched: p.Matched, Errors: p.Errors,
			Alerts: alertsPerRule[p.Detection.ID],
			MeanUS: float64(p.Mean().Nanoseconds()) / 1000, P99US: float64(p.Percentile(0.99).Nanoseconds()) / 1000,
			CacheCalls: p.CacheCalls, CacheCallsPerEvent: p.CallsPerEvent(), CacheCallsUnmatched: p.CacheCallsUnmatched,
			CacheBeforeNeeded: CacheBeforeNeeded(p),
		})
	}
	return rows
}

// ProjectCalls collects what the workers' rule code called during a
// replay (every event's calls, not only the matches') and projects it to
// eventsPerHour (0: no projection) against rateLimit calls a minute (0:
// none). It returns nil when no call was made. Call it after the stream,
// with no other run in flight; calls made before the stream are counted
// too unless collected (and dropped) before it started.
func ProjectCalls(ctx context.Context, eng *engine.Engine, s *engine.StreamSummary, eventsPerHour, rateLimit float64) (*engine.RateProjection, error) {
	usage := engine.NewNetworkUsage()
	if err := eng.CollectNetworkUsage(ctx, usage); err != nil {
		return nil, fmt.Errorf("count outside calls: %w", err)
	}
	if usage.Calls() == 0 {
		return nil, nil
	}
	for _, p := range s.Profiles {
		usage.SetEvents(p.Detection.ID, p.Events)
	}
	p := usage.Project(s.Events, eventsPerHour, rateLimit)
	return &p, nil
}
