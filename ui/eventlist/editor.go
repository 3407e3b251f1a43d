package eventlist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// EditedMsg is the end of an $EDITOR session on an event.
type EditedMsg struct {
	// Of is the item that was edited.
	Of       Item
	Original []byte
	Data     []byte
	Err      error
}

// Editor is the user's editor command: $VISUAL, then $EDITOR, then vi.
func Editor() []string {
	for _, v := range []string{"VISUAL", "EDITOR"} {
		if f := strings.Fields(os.Getenv(v)); len(f) > 0 {
			return f
		}
	}
	return []string{"vi"}
}

// Edit opens the selected event, pretty-printed, in editor (the command and
// its arguments); the program's terminal is handed over until it exits.
// A draft that failed to parse last time is reopened instead, so a typo
// does not cost the edit.
func (m *Model) Edit(editor []string) tea.Cmd {
	it, ok := m.Selected()
	if !ok {
		return notice("select an event to edit")
	}
	var original bytes.Buffer
	if err := json.Indent(&original, it.Raw, "", "  "); err != nil {
		original.Reset()
		original.Write(it.Raw)
	}
	original.WriteByte('\n')
	text := original.Bytes()
	if d, ok := m.drafts[it.Key]; ok {
		text = d
	}
	f, err := os.CreateTemp("", "rulebench-event-*.json")
	if err != nil {
		return func() tea.Msg { return EditedMsg{Of: it, Err: err} }
	}
	path := f.Name()
	_, werr := f.Write(text)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(path)
		return func() tea.Msg { return EditedMsg{Of: it, Err: werr} }
	}
	if len(editor) == 0 {
		editor = Editor()
	}
	c := exec.Command(editor[0], append(editor[1:], path)...)
	orig := original.Bytes()
	return tea.ExecProcess(c, func(err error) tea.Msg {
		defer os.Remove(path)
		if err != nil {
			return EditedMsg{Of: it, Err: fmt.Errorf("%s: %w", strings.Join(editor, " "), err)}
		}
		data, err := os.ReadFile(path)
		return EditedMsg{Of: it, Original: orig, Data: data, Err: err}
	})
}

// applyEdit turns an edit into a new item (or updates the edited copy that
// was edited again) and asks for it to run.
func (m Model) applyEdit(msg EditedMsg) (Model, tea.Cmd) {
	if msg.Err != nil {
		return m, func() tea.Msg { return Notice{Text: "edit: " + msg.Err.Error(), Err: true} }
	}
	if bytes.Equal(bytes.TrimSpace(msg.Data), bytes.TrimSpace(msg.Original)) {
		delete(m.drafts, msg.Of.Key)
		return m, notice("event unchanged: nothing to run")
	}
	raw, err := parseEvent(msg.Data)
	if err != nil {
		m.drafts[msg.Of.Key] = msg.Data
		return m, func() tea.Msg {
			return Notice{Text: "edited event not used: " + err.Error() + " (e reopens your text)", Err: true}
		}
	}
	delete(m.drafts, msg.Of.Key)
	if m.det == nil {
		return m, nil
	}
	id := m.det.ID
	var key string
	if msg.Of.Kind == KindEdited {
		for i, it := range m.edited[id] {
			if it.Key == msg.Of.Key {
				m.edited[id][i].Raw = raw
				if it.Test != nil {
					t := *it.Test
					t.Data = raw
					m.edited[id][i].Test = &t
				}
			}
		}
		key = msg.Of.Key
		delete(m.outcomes, id+"\x00"+key)
		delete(m.memo, key)
	} else {
		m.editSeq++
		key = fmt.Sprintf("edit:%d", m.editSeq)
		it := Item{Kind: KindEdited, Key: key, Label: fmt.Sprintf("edit %d of %s", m.editSeq, msg.Of.Label), Raw: raw}
		if msg.Of.Test != nil {
			t := *msg.Of.Test
			t.Data = raw
			it.Test = &t
		}
		m.edited[id] = append(m.edited[id], it)
	}
	m.rebuild(key)
	return m, func() tea.Msg { return RunRequest{} }
}

// parseEvent accepts one JSON object, kept byte for byte apart from
// whitespace so Python sees the numbers as written.
func parseEvent(data []byte) (json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("the file is empty")
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if data[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
