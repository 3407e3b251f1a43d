package ui

import "github.com/charmbracelet/bubbles/key"

// KeyMap is the workbench's global keys; each pane adds its own.
type KeyMap struct {
	Run, RunNext, RunRest key.Binding
	Tests, Triage         key.Binding
	// Replay streams the event files through the enabled rules, ReplayRule
	// through the selected rule; ReplayView shows the last replay.
	Replay, ReplayRule, ReplayView key.Binding
	// ReplayBoth stands for P and ctrl+p in the bench's help.
	ReplayBoth         key.Binding
	Filter, Pin, Zoom  key.Binding
	Edit, OpenRule     key.Binding
	NextPane, PrevPane key.Binding
	Cancel, Help, Quit key.Binding
	ForceQuit          key.Binding
	// Move stands for every pane's movement keys in the help; the panes
	// handle them.
	Move key.Binding
}

// DefaultKeyMap returns the global keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Run:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run")),
		RunNext:    key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "run next")),
		RunRest:    key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "run rest of file")),
		Tests:      key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "tests")),
		Triage:     key.NewBinding(key.WithKeys("T"), key.WithHelp("T", "triage view")),
		Replay:     key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "replay")),
		ReplayRule: key.NewBinding(key.WithKeys("ctrl+p"), key.WithHelp("ctrl+p", "replay this rule")),
		ReplayView: key.NewBinding(key.WithKeys("V"), key.WithHelp("V", "replay view")),
		ReplayBoth: key.NewBinding(key.WithKeys("P"), key.WithHelp("P ^p", "replay: all/this rule")),
		Filter:     key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Pin:        key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pin to compare")),
		Zoom:       key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "zoom")),
		Edit:       key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit event")),
		OpenRule:   key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open rule in editor")),
		NextPane:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "pane")),
		PrevPane:   key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("S-tab", "pane back")),
		Cancel:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel/back")),
		Help:       key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:       key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit:  key.NewBinding(key.WithKeys("ctrl+c")),
		Move:       key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑↓ jk g G", "move, scroll")),
	}
}

// helpMap is what the footer shows: the focused pane's keys, then the
// global ones.
type helpMap struct {
	short []key.Binding
	full  [][]key.Binding
}

func (h helpMap) ShortHelp() []key.Binding  { return h.short }
func (h helpMap) FullHelp() [][]key.Binding { return h.full }
