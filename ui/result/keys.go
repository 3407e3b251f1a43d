package result

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/rulebench/rulebench/ui/scroll"
)

// KeyMap is the result pane's keys.
type KeyMap struct {
	scroll.Keys
	Pin, Event key.Binding
}

// DefaultKeyMap returns the result pane's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Keys:  scroll.ViewKeys(),
		Pin:   key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pin to compare")),
		Event: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "result/event")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Event} }

// FullHelp implements help.KeyMap. Moving and scrolling are the same in
// every pane; the workbench lists them once.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Pin, k.Event}}
}
