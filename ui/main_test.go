package ui

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/mocks"
	"github.com/rulebench/rulebench/samples"
	"github.com/rulebench/rulebench/ui/cacheview"
	"github.com/rulebench/rulebench/ui/theme"
)

// Tests keep rulebench's caches (compiled rules, parsed specs, extracted
// samples) in a directory of their own, and draw without colour so views
// can be compared as text.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rulebench-ui-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	lipgloss.SetColorProfile(termenv.Ascii)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testConfig is the workbench on dir ("" : the bundled samples) as the
// command line would build it, with one worker and the event clock.
func testConfig(t testing.TB, dir string) Config {
	t.Helper()
	sd, err := samples.Dir()
	if err != nil {
		t.Fatal(err)
	}
	if dir == "" {
		dir = sd
	}
	r, err := repo.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	mem := mocks.NewCache()
	kv := cache.New(mem)
	clock := engine.NewClock(engine.ClockEvent, time.Time{})
	st := theme.Monochrome()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return Config{
		Context: ctx,
		Repo:    r,
		Label:   "test repository",
		Load:    func() (*repo.Repository, error) { return repo.Load(dir) },
		Engine: engine.Options{
			Workers: 1, Clock: clock,
			NewTestStore: func() cache.Store { return cache.New(mocks.NewCache()) },
			// As the command line has it: the repository's fixtures/.
			Network: engine.NetworkOptions{RepoFixtures: true},
		},
		Store:        kv,
		Cache:        cacheview.Source{Shared: kv, Memory: mem, Describe: "memory", Clock: clock},
		SampleEvents: SampleEventFiles(sd),
		Styles:       &st,
	}
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// probe wraps the workbench and keeps the last frame it drew (and the
// model that drew it), so tests wait on whole screens rather than on the
// renderer's partial updates.
type probe struct {
	tea.Model
	view *atomic.Pointer[string]
	// ready: the last frame was drawn with Python ready.
	ready *atomic.Bool
}

func newProbe(m tea.Model) probe {
	return probe{Model: m, view: &atomic.Pointer[string]{}, ready: &atomic.Bool{}}
}

func (p probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := p.Model.Update(msg)
	p.Model = m
	return p, cmd
}

func (p probe) View() string {
	// Readiness is read before drawing: a frame drawn after it shows it.
	ready := false
	if m, ok := p.Model.(Model); ok {
		_, ready, _ = m.h.status()
	}
	v := p.Model.View()
	p.view.Store(&v)
	p.ready.Store(ready)
	return v
}

// waitReady waits for a frame drawn with Python ready to run rules.
func (p probe) waitReady(t testing.TB) {
	t.Helper()
	p.waitFor(t, "python", func(string) bool { return p.ready.Load() })
}

func (p probe) last() string {
	if v := p.view.Load(); v != nil {
		return *v
	}
	return ""
}

// waitFor waits until the drawn screen satisfies ok.
func (p probe) waitFor(t testing.TB, what string, ok func(view string) bool) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if v := p.last(); ok(v) {
			return v
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last screen:\n%s", what, p.last())
	return ""
}

func (p probe) waitText(t testing.TB, texts ...string) string {
	t.Helper()
	return p.waitFor(t, strings.Join(texts, " and "), func(v string) bool {
		for _, s := range texts {
			if !strings.Contains(v, s) {
				return false
			}
		}
		return true
	})
}

var (
	// A run of durations with the spaces around them: right-aligned
	// columns of them (the replay's profile) keep their width whatever
	// their digits.
	durations = regexp.MustCompile(`(?: *\d+\.\d+(?:ms|s|µs)\b)+ *`)
	rates     = regexp.MustCompile(`\d[\d,.]*(?: events)?/s\b *`)
	pythons   = regexp.MustCompile(`python \d+\.\d+\.\d+`)
)

// normalise removes what changes from run to run and machine to machine:
// durations, rates and the Python version. Replacements keep the width of what
// they replace, so the panes' borders stay where they were drawn.
func normalise(view string) string {
	same := func(repl string) func(string) string {
		return func(s string) string {
			if strings.HasPrefix(s, " ") {
				return " " + same1(repl, s[1:])
			}
			return same1(repl, s)
		}
	}
	view = durations.ReplaceAllStringFunc(view, same("#.#ms"))
	view = rates.ReplaceAllStringFunc(view, same("#/s"))
	return pythons.ReplaceAllStringFunc(view, same("python 3.x.y"))
}

// same1 is repl in the width of s: cut, or padded with spaces.
func same1(repl, s string) string {
	n := utf8.RuneCountInString(s)
	if n < len(repl) {
		return repl[:n]
	}
	return repl + strings.Repeat(" ", n-len(repl))
}

func keys(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }
