package rules

import (
	"errors"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/theme"
)

func testRepo() *repo.Repository {
	return &repo.Repository{
		Root: "/repo",
		Detections: []*repo.Detection{
			{ID: "AWS.Root.Login", Kind: repo.KindRule, Enabled: true, Severity: "High", Tags: []string{"AWS", "Identity"}, LogTypes: []string{"AWS.CloudTrail"}},
			{ID: "Okta.Travel", Kind: repo.KindRule, Enabled: true, Severity: "Medium", Tags: []string{"Okta"}, LogTypes: []string{"Okta.SystemLog"}},
			{ID: "Nginx.Scanner", Kind: repo.KindRule, Enabled: false, Severity: "Info", LogTypes: []string{"Nginx.Access"}},
			{ID: "S3.Encrypted", Kind: repo.KindPolicy, Enabled: true, Severity: "Low", LogTypes: []string{"AWS.S3.Bucket"}},
		},
		Errors: []*repo.LoadError{{File: "/repo/rules/bad.yml", Line: 4, Err: errors.New("unknown Severity")}},
	}
}

func keys(s string) []tea.KeyMsg {
	var out []tea.KeyMsg
	for _, r := range s {
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return out
}

func typeIn(m Model, s string) Model {
	for _, k := range keys(s) {
		m, _ = m.Update(k)
	}
	return m
}

func TestFilterByTagLogTypeAndID(t *testing.T) {
	m := New(theme.Monochrome(), testRepo())
	m.SetSize(40, 10)
	for filter, want := range map[string][]string{
		"okta":           {"Okta.Travel"},
		"aws":            {"AWS.Root.Login", "S3.Encrypted"}, // tag, then log type AWS.S3.Bucket
		"identity login": {"AWS.Root.Login"},
		"disabled":       {"Nginx.Scanner"},
		"policy":         {"S3.Encrypted"},
		"severity":       nil,
	} {
		m := m
		m.StartFilter()
		m = typeIn(m, filter)
		var got []string
		for _, i := range m.shown {
			if d := m.entries[i].det; d != nil {
				got = append(got, d.ID)
			}
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("filter %q shows %v, want %v", filter, got, want)
		}
	}
}

func TestFilterKeepsSelectionAndEscClears(t *testing.T) {
	m := New(theme.Monochrome(), testRepo())
	m.SetSize(40, 10)
	m.Select("Okta.Travel")
	m.StartFilter()
	m = typeIn(m, "o")
	if m.SelectedID() != "Okta.Travel" {
		t.Fatalf("selection moved to %q while filtering", m.SelectedID())
	}
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if m.Filtering() || m.Filter() != "o" {
		t.Fatalf("enter should keep the filter and stop typing: filtering=%v filter=%q", m.Filtering(), m.Filter())
	}
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyEsc})
	if m.Filter() != "" || m.SelectedID() != "Okta.Travel" {
		t.Fatalf("esc: filter %q, selected %q", m.Filter(), m.SelectedID())
	}
	// Select finds a detection the filter hides by clearing it.
	m.StartFilter()
	m = typeIn(m, "okta")
	if !m.Select("S3.Encrypted") || m.Filter() != "" {
		t.Fatalf("Select through a filter: filter left %q", m.Filter())
	}
}

func TestRowsShowBadgeSeverityStateAndLoadErrors(t *testing.T) {
	m := New(theme.Monochrome(), testRepo())
	m.SetSize(40, 10)
	m.SetBadge("AWS.Root.Login", Passed)
	m.SetBadge("Okta.Travel", Failed)
	view := m.View()
	for _, want := range []string{
		"▸✓ HIGH AWS.Root.Login",
		" ✗ MED  Okta.Travel",
		" · INFO Nginx.Scanner off",
		" · LOW  S3.Encrypted pol",
		" ! rules/bad.yml:4 unknown Severity",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	m.list.Select(4)
	if m.Selected() != nil || m.SelectedLoadError() == nil {
		t.Errorf("the load error row should be selectable")
	}
	if _, total, passed, failed := m.Counts(); total != 4 || passed != 1 || failed != 1 {
		t.Errorf("counts %d %d %d", total, passed, failed)
	}
}

func TestLongIDsAreCutAtTheFront(t *testing.T) {
	r := &repo.Repository{Detections: []*repo.Detection{{ID: "Sample.AWS.CloudTrail.AssumeRoleNewSourceIP", Severity: "Medium", Enabled: true}}}
	m := New(theme.Monochrome(), r)
	m.SetSize(30, 5)
	if view := m.View(); !strings.Contains(view, "…AssumeRoleNewSourceIP") {
		t.Errorf("view:\n%s", view)
	}
}
