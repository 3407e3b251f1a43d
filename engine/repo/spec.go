// Package repo loads a Panther rules repository (the panther-analysis layout):
// YAML specs classified by AnalysisType, each naming the Python file beside
// it. Folder names are convention only.
package repo

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Kind is a spec's AnalysisType.
type Kind string

// Analysis types. Rules, scheduled rules and policies are detections;
// globals and data models support them; the rest are listed, not run.
const (
	KindRule            Kind = "rule"
	KindScheduledRule   Kind = "scheduled_rule"
	KindPolicy          Kind = "policy"
	KindGlobal          Kind = "global"
	KindDataModel       Kind = "datamodel"
	KindCorrelationRule Kind = "correlation_rule"
	KindScheduledQuery  Kind = "scheduled_query"
	KindSavedQuery      Kind = "saved_query"
	KindLookupTable     Kind = "lookup_table"
	KindPack            Kind = "pack"
)

// IsDetection reports whether specs of this kind run Python over events.
func (k Kind) IsDetection() bool {
	return k == KindRule || k == KindScheduledRule || k == KindPolicy
}

// Severity is one of Panther's five levels, stored in canonical case.
type Severity string

// The severities in increasing order.
var Severities = []Severity{"Info", "Low", "Medium", "High", "Critical"}

// ParseSeverity accepts a level in any case.
func ParseSeverity(s string) (Severity, bool) {
	for _, level := range Severities {
		if strings.EqualFold(s, string(level)) {
			return level, true
		}
	}
	return "", false
}

// Rank orders severities (Info is 0, Critical 4; unknown is -1).
func (s Severity) Rank() int {
	for i, level := range Severities {
		if level == s {
			return i
		}
	}
	return -1
}

// Detection is a rule, scheduled rule or policy.
type Detection struct {
	Kind Kind
	ID   string
	// SpecFile is the YAML path; PythonFile is absolute.
	SpecFile   string
	PythonFile string
	Enabled    bool

	DisplayName        string
	LogTypes           []string // ResourceTypes for policies
	Severity           Severity
	Threshold          int
	DedupPeriodMinutes int
	Tags               []string
	Reports            map[string][]string
	Description        string
	Runbook            string
	Reference          string
	SummaryAttributes  []string
	OutputIDs          []string
	CreateAlert        bool
	ScheduledQueries   []string

	Tests []Test
}

// Name is the display name, or the ID when there is none.
func (d *Detection) Name() string {
	if d.DisplayName != "" {
		return d.DisplayName
	}
	return d.ID
}

// AppliesTo reports whether events of logType reach this detection.
func (d *Detection) AppliesTo(logType string) bool {
	for _, t := range d.LogTypes {
		if t == logType {
			return true
		}
	}
	return false
}

// HasTag matches tags case-insensitively, as people type them.
func (d *Detection) HasTag(tag string) bool {
	for _, t := range d.Tags {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}

// Test is one unit test from a spec's Tests list.
type Test struct {
	Name           string
	ExpectedResult bool
	// Data is the Log (or Resource) as JSON, in the order the YAML wrote it.
	Data  json.RawMessage
	Mocks []Mock
	Line  int
}

// Mock replaces ObjectName in the detection's module for one test.
type Mock struct {
	ObjectName string
	// ReturnValue is the value exactly as written in YAML, as JSON.
	ReturnValue json.RawMessage
}

// Global is a helper module importable by its GlobalID.
type Global struct {
	ID         string
	SpecFile   string
	PythonFile string
}

// DataModel maps unified field names to fields of one or more log types.
type DataModel struct {
	ID         string
	SpecFile   string
	PythonFile string // optional
	Enabled    bool
	LogTypes   []string
	Mappings   []Mapping
}

// Mapping is one data-model entry: a JSONPath or a method of the model's file.
type Mapping struct {
	Name   string
	Path   string
	Method string
}

// Item is a spec that is listed but not run locally (queries, packs, ...).
type Item struct {
	Kind     Kind
	ID       string
	SpecFile string
}

// LoadError is a spec that could not be loaded; the rest of the repository
// still loads.
type LoadError struct {
	File string
	Line int
	Err  error
}

func (e *LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }
