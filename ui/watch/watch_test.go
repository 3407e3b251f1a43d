package watch

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func next(t *testing.T, w *Watcher) []string {
	t.Helper()
	got := make(chan []string, 1)
	go func() {
		msg := w.Next()()
		if c, ok := msg.(ChangedMsg); ok {
			got <- c.Paths
		}
	}()
	select {
	case p := <-got:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no change reported")
		return nil
	}
}

func TestReportsRuleChangesDebounced(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "rules"), 0o755)
	rule := filepath.Join(root, "rules", "r.py")
	os.WriteFile(rule, []byte("x = 1\n"), 0o644)
	outside := filepath.Join(t.TempDir(), "mine.jsonl")
	os.WriteFile(outside, []byte("{}\n"), 0o644)

	w, err := Start(root, []string{outside}, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	// Noise that must not count: other file types, caches, hidden files.
	os.WriteFile(filepath.Join(root, "notes.txt"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(root, "rules", "__pycache__"), 0o755)
	os.WriteFile(filepath.Join(root, "rules", ".r.py.swp"), []byte("x"), 0o644)
	// An editor's save: several writes, one change.
	for i := 0; i < 3; i++ {
		os.WriteFile(rule, []byte("x = 2\n"), 0o644)
	}
	if got := next(t, w); !reflect.DeepEqual(got, []string{rule}) {
		t.Fatalf("changed %q, want %q", got, rule)
	}

	// A directory created later is watched too.
	sub := filepath.Join(root, "rules", "new")
	os.MkdirAll(sub, 0o755)
	time.Sleep(100 * time.Millisecond)
	spec := filepath.Join(sub, "n.yml")
	os.WriteFile(spec, []byte("a: 1\n"), 0o644)
	if got := next(t, w); !reflect.DeepEqual(got, []string{spec}) {
		t.Fatalf("changed %q, want %q", got, spec)
	}

	os.WriteFile(outside, []byte("{\"a\":1}\n"), 0o644)
	if got := next(t, w); !reflect.DeepEqual(got, []string{outside}) {
		t.Fatalf("changed %q, want the events file", got)
	}

	w.Close()
	if msg := w.Next()(); msg != nil {
		t.Fatalf("after Close: %v", msg)
	}
}
