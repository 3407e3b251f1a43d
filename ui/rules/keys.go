package rules

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/rulebench/rulebench/ui/scroll"
)

// KeyMap is the rules pane's keys.
type KeyMap struct {
	scroll.Keys
	Filter, ClearFilter, AcceptFilter key.Binding
}

// DefaultKeyMap returns the rules pane's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Keys:         scroll.ListKeys(),
		Filter:       key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		ClearFilter:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
		AcceptFilter: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return nil }

// FullHelp implements help.KeyMap. Moving and scrolling are the same in
// every pane; the workbench lists them once.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.ClearFilter}}
}

// FilterHelp is what the footer shows while the filter is being typed.
func (k KeyMap) FilterHelp() []key.Binding { return []key.Binding{k.AcceptFilter, k.ClearFilter} }
