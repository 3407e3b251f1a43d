package replay

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/rulebench/rulebench/ui/scroll"
)

// KeyMap is the replay view's keys.
type KeyMap struct {
	scroll.Keys
	Open, Event key.Binding
}

// DefaultKeyMap returns the replay view's keys.
func DefaultKeyMap() KeyMap {
	// The alert list and its detail share the keys; space pages both.
	nav := scroll.ListKeys()
	nav.PageDown = scroll.ViewKeys().PageDown
	return KeyMap{
		Keys:  nav,
		Open:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open on bench")),
		Event: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "results/events")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Open, k.Event} }

// FullHelp implements help.KeyMap. Moving and scrolling are the same in
// every pane; the workbench lists them once.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Open, k.Event}}
}
