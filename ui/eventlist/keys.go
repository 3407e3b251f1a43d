package eventlist

import "github.com/charmbracelet/bubbles/key"

// KeyMap is the events pane's keys.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	// Edit works from every pane: it always means the selected event.
	Edit        key.Binding
	All         key.Binding
	SharedTests key.Binding
}

// DefaultKeyMap returns the events pane's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:      key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:         key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "first")),
		Bottom:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "last")),
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
