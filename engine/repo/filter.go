package repo

import (
	"path"
	"strings"
)

// Filter selects detections the way people narrow a test run. Empty fields
// match everything; within a field any entry may match.
type Filter struct {
	// IDs are glob patterns (path.Match syntax) over detection IDs.
	IDs          []string
	Tags         []string
	LogTypes     []string
	SkipDisabled bool
	// Kinds limits the analysis types (nil: every detection kind).
	Kinds []Kind
}

// Match reports whether d passes the filter.
func (f Filter) Match(d *Detection) bool {
	if f.SkipDisabled && !d.Enabled {
		return false
	}
	if len(f.Kinds) > 0 && !containsKind(f.Kinds, d.Kind) {
		return false
	}
	if len(f.IDs) > 0 && !anyMatch(f.IDs, func(p string) bool {
		ok, err := path.Match(p, d.ID)
		return (err == nil && ok) || strings.EqualFold(p, d.ID)
	}) {
		return false
	}
	if len(f.Tags) > 0 && !anyMatch(f.Tags, d.HasTag) {
		return false
	}
	if len(f.LogTypes) > 0 && !anyMatch(f.LogTypes, func(lt string) bool {
		for _, own := range d.LogTypes {
			if strings.EqualFold(own, lt) {
				return true
			}
		}
		return false
	}) {
		return false
	}
	return true
}

// Select returns the repository's detections that pass f, in ID order.
func (r *Repository) Select(f Filter) []*Detection {
	var out []*Detection
	for _, d := range r.Detections {
		if f.Match(d) {
			out = append(out, d)
		}
	}
	return out
}

func anyMatch(values []string, fn func(string) bool) bool {
	for _, v := range values {
		if fn(v) {
			return true
		}
	}
	return false
}

func containsKind(kinds []Kind, k Kind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}
