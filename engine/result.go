package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/engine/worker"
)

// PyError is a Python exception (or a worker failure) with its traceback.
type PyError = worker.PyError

// Error types rulebench itself reports in a PyError.
const (
	ErrTypeTimeout = "Timeout"
	ErrTypeCrash   = "WorkerCrash"
	ErrTypeWorker  = "WorkerError"
)

// FunctionResult is what one detection function returned or raised.
type FunctionResult struct {
	Output     json.RawMessage `json:"output,omitempty"`
	Error      *PyError        `json:"error,omitempty"`
	Warning    string          `json:"warning,omitempty"`
	DurationNS int64           `json:"duration_ns,omitempty"`
}

// Alert is what Panther would send for a match, with every fallback applied.
type Alert struct {
	Title        string          `json:"title"`
	Dedup        string          `json:"dedup"`
	Severity     string          `json:"severity"`
	Description  string          `json:"description,omitempty"`
	Reference    string          `json:"reference,omitempty"`
	Runbook      string          `json:"runbook,omitempty"`
	Destinations []string        `json:"destinations"`
	Suppressed   bool            `json:"suppressed,omitempty"`
	AlertContext json.RawMessage `json:"alert_context"`
}

// Result is one detection evaluated on one event.
type Result struct {
	DetectionID string `json:"detection"`
	// Output is what rule() or policy() returned.
	Output json.RawMessage `json:"output,omitempty"`
	// Alerted: rule() returned True (policy(): False), without error.
	Alerted bool   `json:"alerted"`
	Alert   *Alert `json:"alert,omitempty"`
	// Error stops evaluation: an import failure, rule() raising or
	// returning a non-bool, a timeout or a crash.
	Error           *PyError                  `json:"error,omitempty"`
	SetupError      bool                      `json:"setup_error,omitempty"`
	Functions       map[string]FunctionResult `json:"functions,omitempty"`
	Stdout          string                    `json:"stdout,omitempty"`
	StdoutTruncated int64                     `json:"stdout_truncated,omitempty"`
	CacheOps        []cache.Op                `json:"cache_ops,omitempty"`
	Duration        time.Duration             `json:"duration_ns"`
	// NetworkCalls are the outside calls (HTTP, AWS) the evaluation made.
	NetworkCalls []NetworkCall `json:"network_calls,omitempty"`
	// learned are secret values those calls received; they are masked,
	// never shown.
	learned []worker.Secret
}

// AlertFunctions are the functions run after a match, in Panther's order.
var AlertFunctions = []string{"title", "description", "reference", "severity", "runbook", "destinations", "dedup", "alert_context"}

// FunctionErrors names the alert functions that raised (or returned the
// wrong type), in Panther's call order.
func (r *Result) FunctionErrors() []string {
	var names []string
	for _, name := range AlertFunctions {
		if f, ok := r.Functions[name]; ok && f.Error != nil {
			names = append(names, name)
		}
	}
	return names
}

// FunctionNames lists the functions that ran, main function first.
func (r *Result) FunctionNames() []string {
	var names []string
	for _, main := range []string{"rule", "policy"} {
		if _, ok := r.Functions[main]; ok {
			names = append(names, main)
		}
	}
	for _, name := range AlertFunctions {
		if _, ok := r.Functions[name]; ok {
			names = append(names, name)
		}
	}
	var extra []string
	for name := range r.Functions {
		if !contains(names, name) {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	return append(names, extra...)
}

// itemResult is the harness's reply for one item.
type itemResult struct {
	Functions       map[string]FunctionResult `json:"functions"`
	Output          json.RawMessage           `json:"output"`
	Alert           bool                      `json:"alert"`
	AlertFields     *alertFields              `json:"alert_fields"`
	Error           *PyError                  `json:"error"`
	Setup           bool                      `json:"setup"`
	DurationNS      int64                     `json:"duration_ns"`
	Stdout          string                    `json:"stdout"`
	StdoutTruncated int64                     `json:"stdout_truncated"`
	NetworkCalls    []NetworkCall             `json:"network_calls"`
	Secrets         []worker.Secret           `json:"secrets"`
}

// alertFields is Alert as the harness sends it: the alert context arrives as
// the JSON text Panther would store.
type alertFields struct {
	Alert
	AlertContext string `json:"alert_context"`
}

func (f *alertFields) alert() *Alert {
	a := f.Alert
	a.AlertContext = json.RawMessage(f.AlertContext)
	if !json.Valid(a.AlertContext) {
		// Python's json.dumps writes NaN and Infinity, which JSON lacks.
		a.AlertContext, _ = json.Marshal(f.AlertContext)
	}
	return &a
}

func decodeResult(detection string, raw json.RawMessage) *Result {
	var item itemResult
	if err := json.Unmarshal(raw, &item); err != nil {
		return &Result{DetectionID: detection, Error: &PyError{Type: ErrTypeWorker, Message: fmt.Sprintf("unreadable result from worker: %v", err)}}
	}
	r := &Result{
		DetectionID:     detection,
		Output:          item.Output,
		Error:           item.Error,
		SetupError:      item.Setup,
		Functions:       item.Functions,
		Stdout:          item.Stdout,
		StdoutTruncated: item.StdoutTruncated,
		NetworkCalls:    item.NetworkCalls,
		learned:         item.Secrets,
		Duration:        time.Duration(item.DurationNS),
	}
	if item.Error == nil && item.Alert {
		r.Alerted = true
		if item.AlertFields != nil {
			r.Alert = item.AlertFields.alert()
		}
	}
	return r
}

// failedResult stands in for an item the worker never answered.
func failedResult(detection string, err error) *Result {
	return &Result{DetectionID: detection, Error: workerError(err)}
}

func workerError(err error) *PyError {
	var (
		timeout *worker.TimeoutError
		crash   *worker.CrashError
		py      *PyError
	)
	switch {
	case errors.As(err, &timeout):
		return &PyError{Type: ErrTypeTimeout, Message: timeout.Error()}
	case errors.As(err, &crash):
		return &PyError{Type: ErrTypeCrash, Message: crash.Error(), Traceback: crash.Stderr}
	case errors.As(err, &py):
		return py
	}
	return &PyError{Type: ErrTypeWorker, Message: err.Error()}
}

// TestResult is one unit test's outcome.
type TestResult struct {
	Name     string `json:"name"`
	Expected bool   `json:"expected"`
	Passed   bool   `json:"passed"`
	Failure  string `json:"failure,omitempty"`
	// Mismatch: the main function returned a bool other than Expected.
	Mismatch bool    `json:"mismatch,omitempty"`
	Result   *Result `json:"result"`
}

// judge decides a test the way Panther does: the main function's result must
// equal ExpectedResult, and when that result raises an alert none of the
// alert functions may have raised.
func judge(d *repo.Detection, t repo.Test, r *Result) TestResult {
	tr := TestResult{Name: t.Name, Expected: t.ExpectedResult, Result: r}
	if r.Error != nil {
		tr.Failure = r.Error.Error()
		return tr
	}
	var got bool
	if err := json.Unmarshal(r.Output, &got); err != nil {
		tr.Failure = fmt.Sprintf("%s() returned %s, not a bool", mainFunction(d), r.Output)
		return tr
	}
	if got != t.ExpectedResult {
		tr.Mismatch = true
		tr.Failure = fmt.Sprintf("%s() returned %v, expected %v", mainFunction(d), got, t.ExpectedResult)
		return tr
	}
	if failed := r.FunctionErrors(); len(failed) > 0 {
		parts := make([]string, len(failed))
		for i, name := range failed {
			parts[i] = name + "(): " + r.Functions[name].Error.Error()
		}
		tr.Failure = strings.Join(parts, "; ")
		return tr
	}
	if missing := r.MissingFixtures(); len(missing) > 0 {
		// Offline, a call without a fixture fails; rule code that swallows
		// the error must not turn that into a pass.
		tr.Failure = fmt.Sprintf("no fixture for %s (offline: add one to the fixtures directory)", missing[0].Target)
		if len(missing) > 1 {
			tr.Failure += fmt.Sprintf(" and %d more call(s)", len(missing)-1)
		}
		return tr
	}
	tr.Passed = true
	return tr
}

func mainFunction(d *repo.Detection) string {
	if d.Kind == repo.KindPolicy {
		return "policy"
	}
	return "rule"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
