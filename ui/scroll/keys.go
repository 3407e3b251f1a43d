package scroll

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// Keys move a List's cursor or scroll a View: the same six bindings in
// every pane, so a person learns them once.
type Keys struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
}

// ListKeys are the keys of a pane that selects rows.
func ListKeys() Keys {
	return Keys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "first")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "last")),
	}
}

// ViewKeys are the keys of a pane that shows text; space pages down, as in
// less.
func ViewKeys() Keys {
	return Keys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d", " "), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G", "bottom")),
	}
}

// Navigate moves the cursor for a movement key; false when msg is not one.
func (l *List) Navigate(k Keys, msg tea.KeyMsg) bool {
	switch {
	case key.Matches(msg, k.Up):
		l.Move(-1)
	case key.Matches(msg, k.Down):
		l.Move(1)
	case key.Matches(msg, k.PageUp):
		l.Move(-l.Page())
	case key.Matches(msg, k.PageDown):
		l.Move(l.Page())
	case key.Matches(msg, k.Top):
		l.Select(0)
	case key.Matches(msg, k.Bottom):
		l.Select(l.Len - 1)
	default:
		return false
	}
	return true
}

// Navigate scrolls for a movement key; false when msg is not one.
func (v *View) Navigate(k Keys, msg tea.KeyMsg) bool {
	switch {
	case key.Matches(msg, k.Up):
		v.Scroll(-1)
	case key.Matches(msg, k.Down):
		v.Scroll(1)
	case key.Matches(msg, k.PageUp):
		v.Scroll(-v.Page())
	case key.Matches(msg, k.PageDown):
		v.Scroll(v.Page())
	case key.Matches(msg, k.Top):
		v.Top()
	case key.Matches(msg, k.Bottom):
		v.Bottom()
	default:
		return false
	}
	return true
}
