package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/mocks"
)

// writeRepo lays files out in a temporary repository. Python and YAML
// bodies may be indented for readability in the test source: a common
// leading indentation is removed.
func writeRepo(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(dedent(body)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func dedent(s string) string {
	s = strings.TrimPrefix(s, "\n")
	lines := strings.Split(s, "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			lines[i] = ""
		} else if len(l) >= indent && indent > 0 {
			lines[i] = l[indent:]
		}
	}
	return strings.Join(lines, "\n")
}

func memoryStore() cache.Store { return cache.New(mocks.NewCache()) }

type engineOption func(*Options)

func withTimeout(d time.Duration) engineOption { return func(o *Options) { o.Timeout = d } }
func withWorkers(n int) engineOption           { return func(o *Options) { o.Workers = n } }
func withClock(c *Clock) engineOption          { return func(o *Options) { o.Clock = c } }

func newEngine(t testing.TB, files map[string]string, opts ...engineOption) (*Engine, *repo.Repository) {
	t.Helper()
	r, err := repo.Load(writeRepo(t, files))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range r.Errors {
		t.Logf("load error: %v", e)
	}
	o := Options{Workers: 2, Timeout: 5 * time.Second, NewTestStore: memoryStore}
	for _, fn := range opts {
		fn(&o)
	}
	e, err := New(context.Background(), r, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, r
}

// ruleSpec is a minimal rule YAML for id with file.
func ruleSpec(id, file string, extra string) string {
	return "AnalysisType: rule\nRuleID: " + id + "\nFilename: " + file +
		"\nEnabled: true\nSeverity: Medium\nLogTypes: [Test.Log]\n" + dedent(extra)
}

// evalOne runs detection id over events against one fresh shared store.
func evalOne(t *testing.T, e *Engine, r *repo.Repository, id string, evs ...string) []*Result {
	t.Helper()
	d := r.Detection(id)
	if d == nil {
		t.Fatalf("no detection %s (load errors: %v)", id, r.Errors)
	}
	raws := make([]json.RawMessage, len(evs))
	for i, ev := range evs {
		raws[i] = json.RawMessage(ev)
	}
	res, err := e.Evaluate(context.Background(), d, raws, EvalOptions{Store: memoryStore()})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func outputString(t *testing.T, fr FunctionResult) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(fr.Output, &s); err != nil {
		t.Fatalf("output %s is not a string: %v", fr.Output, err)
	}
	return s
}
