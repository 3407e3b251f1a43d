// Package watch reports changes to a rules repository (its Python and YAML
// files, helpers and data models included) and to the user's event files,
// debounced so that an editor's save — often several writes and a rename —
// is one change.
package watch

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/fsnotify/fsnotify"
)

// ChangedMsg lists the files that changed.
type ChangedMsg struct {
	Paths []string
}

// Watcher watches a repository tree and a few extra files.
type Watcher struct {
	fw    *fsnotify.Watcher
	root  string
	extra map[string]bool
	out   chan []string
	done  chan struct{}
}

// Start watches every directory under root, and the directories of extra
// (files outside it). fsnotify is not recursive, so directories created
// later are added as they appear.
func Start(root string, extra []string, debounce time.Duration) (*Watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &Watcher{fw: fw, root: filepath.Clean(root), extra: map[string]bool{}, out: make(chan []string, 1), done: make(chan struct{})}
	w.addTree(w.root)
	for _, p := range extra {
		abs, err := filepath.Abs(p)
		if err != nil {
			continue
		}
		w.extra[abs] = true
		// Watch the directory: editors replace files by renaming, which
		// would end a watch on the file itself.
		_ = fw.Add(filepath.Dir(abs))
	}
	go w.loop(debounce)
	return w, nil
}

func (w *Watcher) addTree(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if p != dir && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		_ = w.fw.Add(p)
		return nil
	})
}

func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || name == "__pycache__" || name == "node_modules"
}

// relevant reports whether a change to path can change what the workbench
// shows.
func (w *Watcher) relevant(path string) bool {
	if w.extra[path] {
		return true
	}
	if !strings.HasPrefix(path, w.root+string(filepath.Separator)) {
		return false
	}
	base := filepath.Base(path)
	if strings.HasPrefix(base, ".") {
		return false
	}
	switch strings.ToLower(filepath.Ext(base)) {
	case ".py", ".yml", ".yaml":
		return true
	}
	return false
}

func (w *Watcher) loop(debounce time.Duration) {
	defer close(w.out)
	pending := map[string]bool{}
	var fire <-chan time.Time
	for {
		select {
		case <-w.done:
			return
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) {
				if info, err := os.Stat(ev.Name); err == nil && info.IsDir() && strings.HasPrefix(ev.Name, w.root) && !skipDir(info.Name()) {
					w.addTree(ev.Name)
				}
			}
			if ev.Has(fsnotify.Chmod) || !w.relevant(ev.Name) {
				continue
			}
			pending[ev.Name] = true
			fire = time.After(debounce)
		case _, ok := <-w.fw.Errors:
			if !ok {
				return
			}
		case <-fire:
			fire = nil
			paths := make([]string, 0, len(pending))
			for p := range pending {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			clear(pending)
			select {
			case w.out <- paths:
			case <-w.done:
				return
			}
		}
	}
}

// Next waits for the next change. After Close it returns a command whose
// message is nil, which ends the chain.
func (w *Watcher) Next() tea.Cmd {
	return func() tea.Msg {
		paths, ok := <-w.out
		if !ok {
			return nil
		}
		return ChangedMsg{Paths: paths}
	}
}

// Close stops watching.
func (w *Watcher) Close() error {
	select {
	case <-w.done:
		return nil
	default:
	}
	close(w.done)
	return w.fw.Close()
}
