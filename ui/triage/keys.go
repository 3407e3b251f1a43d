package triage

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/rulebench/rulebench/ui/scroll"
)

// KeyMap is the test triage view's keys.
type KeyMap struct {
	scroll.Keys
	Rerun, Open, Back key.Binding
}

// DefaultKeyMap returns the triage keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Keys:  scroll.ListKeys(),
		Rerun: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-run")),
		Open:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open in workbench")),
		Back:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Rerun, k.Open, k.Back} }

// FullHelp implements help.KeyMap. Moving and scrolling are the same in
// every pane; the workbench lists them once.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Rerun, k.Open, k.Back}}
}
