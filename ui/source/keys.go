package source

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/rulebench/rulebench/ui/scroll"
)

// KeyMap is the source pane's keys.
type KeyMap struct {
	scroll.Keys
	Spec, ErrorLine key.Binding
}

// DefaultKeyMap returns the source pane's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Keys:      scroll.ViewKeys(),
		Spec:      key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "python/yaml")),
		ErrorLine: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "error line")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Spec, k.ErrorLine} }

// FullHelp implements help.KeyMap. Moving and scrolling are the same in
// every pane; the workbench lists them once.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Spec, k.ErrorLine}}
}
