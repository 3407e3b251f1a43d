package cacheview

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/rulebench/rulebench/ui/scroll"
)

// KeyMap is the cache inspector's keys.
type KeyMap struct {
	scroll.Keys
	Clock, Later, Earlier, NextDay, PrevDay key.Binding
	Snapshot, Restore, Clear, Refresh       key.Binding
}

// DefaultKeyMap returns the cache inspector's keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Keys:     scroll.ViewKeys(),
		Clock:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "clock mode")),
		Later:    key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "clock +1h")),
		Earlier:  key.NewBinding(key.WithKeys("-"), key.WithHelp("-", "clock -1h")),
		NextDay:  key.NewBinding(key.WithKeys(">"), key.WithHelp(">", "clock +1 day")),
		PrevDay:  key.NewBinding(key.WithKeys("<"), key.WithHelp("<", "clock -1 day")),
		Snapshot: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "snapshot")),
		Restore:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "restore")),
		Clear:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "clear")),
		Refresh:  key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "re-read")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Clock, k.Later, k.Snapshot, k.Restore, k.Clear}
}

// FullHelp implements help.KeyMap. Moving and scrolling are the same in
// every pane; the workbench lists them once.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Clock, k.Later, k.Earlier, k.NextDay, k.PrevDay, k.Snapshot, k.Restore, k.Clear, k.Refresh}}
}
