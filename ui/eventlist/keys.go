package eventlist

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/rulebench/rulebench/ui/scroll"
)

// KeyMap is the events pane's keys.
type KeyMap struct {
	scroll.Keys
	// Edit works from every pane: it always means the selected event.
	Edit        key.Binding
	All         key.Binding
	SharedTests key.Binding
}

// DefaultKeyMap returns the events pane's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Keys:        scroll.ListKeys(),
		Edit:        key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit event, run copy")),
		All:         key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "all events")),
		SharedTests: key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "tests: fresh/shared cache")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Edit, k.All} }

// FullHelp implements help.KeyMap. Moving and scrolling are the same in
// every pane; the workbench lists them once.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Edit, k.All, k.SharedTests}}
}
