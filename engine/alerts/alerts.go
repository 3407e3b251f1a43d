// Package alerts groups matches into alerts the way Panther does (SPEC §5):
// by detection and dedup string, within DedupPeriodMinutes of the alert's
// first event (measured on event time), delivered once Threshold events
// have joined. Rule errors form alerts of their own, by detection and error.
package alerts

import (
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/rulebench/rulebench/engine/repo"
)

// SampleSize is how many events an alert keeps for display.
const SampleSize = 5

// Event identifies one event of an alert.
type Event struct {
	File string          `json:"file"`
	Line int             `json:"line"`
	Seq  int64           `json:"seq"`
	Time time.Time       `json:"time,omitempty"`
	Raw  json.RawMessage `json:"event,omitempty"`
}

// Alert is a group of matches (or of rule errors).
type Alert struct {
	Detection *repo.Detection `json:"-"`
	RuleID    string          `json:"rule"`
	// Error alerts group rule errors; Title then holds the error.
	Error        bool            `json:"error,omitempty"`
	Dedup        string          `json:"dedup"`
	Title        string          `json:"title"`
	Severity     string          `json:"severity"`
	Destinations []string        `json:"destinations"`
	Suppressed   bool            `json:"suppressed,omitempty"`
	AlertContext json.RawMessage `json:"alert_context,omitempty"`
	FirstTime    time.Time       `json:"first_event_time"`
	LastTime     time.Time       `json:"last_event_time"`
	Events       int             `json:"events"`
	// Delivered: the alert reached its detection's Threshold (rule errors
	// are always delivered).
	Delivered bool    `json:"delivered"`
	Threshold int     `json:"threshold"`
	Samples   []Event `json:"samples"`

	opened time.Time // start of the dedup window
}

// Match is one match or rule error to group.
type Match struct {
	Detection *repo.Detection
	Event     Event
	// For matches:
	Title, Dedup, Severity string
	Destinations           []string
	Suppressed             bool
	AlertContext           json.RawMessage
	// For rule errors (Err != ""): the error text, which is its dedup key.
	Err string
}

// Grouper collects matches in input order.
type Grouper struct {
	open   map[key]*Alert
	alerts []*Alert
}

type key struct {
	rule  string
	dedup string
	err   bool
}

// New returns an empty Grouper.
func New() *Grouper { return &Grouper{open: map[key]*Alert{}} }

// Add puts one match into its alert, opening a new alert when there is none
// for its (detection, dedup) or the open one's dedup period has passed.
// Events without an event time share one window per dedup key.
func (g *Grouper) Add(m Match) *Alert {
	d := m.Detection
	k := key{rule: d.ID, dedup: m.Dedup, err: m.Err != ""}
	if k.err {
		k.dedup = m.Err
	}
	period := time.Duration(d.DedupPeriodMinutes) * time.Minute
	a := g.open[k]
	t := m.Event.Time
	if a != nil && !t.IsZero() && !a.opened.IsZero() && !t.Before(a.opened.Add(period)) {
		a = nil
	}
	if a == nil {
		a = &Alert{
			Detection: d, RuleID: d.ID, Error: k.err, Dedup: k.dedup, Threshold: d.Threshold,
			Title: m.Title, Severity: m.Severity, Destinations: m.Destinations, Suppressed: m.Suppressed,
			AlertContext: m.AlertContext, FirstTime: t, LastTime: t, opened: t,
		}
		if k.err {
			a.Title = m.Err
			a.Severity = strings.ToUpper(string(d.Severity))
			a.Threshold = 1
		}
		g.open[k] = a
		g.alerts = append(g.alerts, a)
	}
	a.Events++
	if !t.IsZero() {
		if a.FirstTime.IsZero() || t.Before(a.FirstTime) {
			a.FirstTime = t
		}
		if t.After(a.LastTime) {
			a.LastTime = t
		}
		if a.opened.IsZero() {
			a.opened = t
		}
	}
	if len(a.Samples) < SampleSize {
		a.Samples = append(a.Samples, m.Event)
	}
	a.Delivered = a.Events >= a.Threshold
	return a
}

// Alerts returns every alert in the order it opened.
func (g *Grouper) Alerts() []*Alert { return g.alerts }

// Delivered returns the alerts that reached their threshold.
func (g *Grouper) Delivered() []*Alert {
	var out []*Alert
	for _, a := range g.alerts {
		if a.Delivered {
			out = append(out, a)
		}
	}
	return out
}

// Split sorts alerts, keeping their order, into the delivered ones, rule
// errors, and groups still below their threshold.
func Split(list []*Alert) (delivered, errs, held []*Alert) {
	for _, a := range list {
		switch {
		case a.Error:
			errs = append(errs, a)
		case a.Delivered:
			delivered = append(delivered, a)
		default:
			held = append(held, a)
		}
	}
	return delivered, errs, held
}

// BySeverity orders alerts most severe first, then by first event.
func BySeverity(list []*Alert) {
	rank := map[string]int{"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFO": 4}
	sort.SliceStable(list, func(i, j int) bool {
		ri, rj := rank[list[i].Severity], rank[list[j].Severity]
		if ri != rj {
			return ri < rj
		}
		return list[i].FirstTime.Before(list[j].FirstTime)
	})
}
