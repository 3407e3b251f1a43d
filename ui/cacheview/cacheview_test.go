package cacheview

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/mocks"
	"github.com/rulebench/rulebench/ui/theme"
)

var t0 = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)

func call(t *testing.T, kv *cache.KV, now time.Time, c cache.Call) cache.Op {
	t.Helper()
	_, op, err := kv.Do(context.Background(), now, c)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

func i64(v int64) *int64      { return &v }
func f64(v float64) *float64  { return &v }
func press(r rune) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}} }
func drain(m Model, cmd tea.Cmd) Model {
	// Run a command tree to its messages, feeding them back.
	var msgs []tea.Msg
	var run func(tea.Cmd)
	run = func(c tea.Cmd) {
		if c == nil {
			return
		}
		switch msg := c().(type) {
		case tea.BatchMsg:
			for _, c := range msg {
				run(c)
			}
		case nil:
		default:
			msgs = append(msgs, msg)
		}
	}
	run(cmd)
	for _, msg := range msgs {
		var next tea.Cmd
		m, next = m.Update(msg)
		m = drain(m, next)
	}
	return m
}

func setup(t *testing.T) (Model, *mocks.Cache, *cache.KV, *engine.Clock) {
	mem := mocks.NewCache()
	kv := cache.New(mem)
	clock := engine.NewClock(engine.ClockEvent, time.Time{})
	m := New(theme.Monochrome(), Source{Shared: kv, Memory: mem, Describe: "memory", Clock: clock})
	m.SetSize(70, 40)
	return m, mem, kv, clock
}

func TestRunShowsChangedKeysAndTrace(t *testing.T) {
	m, _, kv, _ := setup(t)
	call(t, kv, t0, cache.Call{Op: cache.OpIncrementCounter, Key: "old", Val: i64(1), EpochSeconds: f64(60)})
	op := call(t, kv, t0.Add(5*time.Minute), cache.Call{Op: cache.OpIncrementCounter, Key: "hits", Val: i64(1), EpochSeconds: f64(3600)})
	m = drain(m, m.SetRun("run 2, nginx.jsonl:3", []Step{{Label: "nginx.jsonl:3", Ops: []cache.Op{op}}}, nil))
	view := m.View()
	for _, want := range []string{
		"clock event · now 2024-05-01 09:05:00",
		"*hits",
		"   count 1",
		"   expires 2024-05-01 10:05:00 (in 1h0m)",
		" old",
		"expired 4m ago",
		"Trace of run 2, nginx.jsonl:3 · 1 call",
		" increment_counter hits",
		"   → 1 created",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	if !m.Changed("hits") || m.Changed("old") {
		t.Error("only the key the run changed is marked")
	}
	if m.Info() != "2 keys" {
		t.Errorf("info %q", m.Info())
	}
}

func TestFreshTestCacheIsShownInsteadOfTheShared(t *testing.T) {
	m, _, kv, _ := setup(t)
	call(t, kv, t0, cache.Call{Op: cache.OpIncrementCounter, Key: "shared", Val: i64(1)})
	fresh := mocks.NewCache()
	op := call(t, cache.New(fresh), t0, cache.Call{Op: cache.OpPutStringSet, Key: "mine", Strings: []string{"a", "b"}})
	m = drain(m, m.SetRun("run 1, test x", []Step{{Label: "test x", Ops: []cache.Op{op}}}, fresh))
	view := m.View()
	if !strings.Contains(view, "test cache (fresh for this test") || !strings.Contains(view, "set(2) a, b") || strings.Contains(view, "shared\n") {
		t.Errorf("view:\n%s", view)
	}
}

func TestClockSnapshotRestoreClear(t *testing.T) {
	m, mem, kv, clock := setup(t)
	op := call(t, kv, t0, cache.Call{Op: cache.OpIncrementCounter, Key: "k", Val: i64(1), EpochSeconds: f64(3600)})
	m = drain(m, m.SetRun("run 1", []Step{{Ops: []cache.Op{op}}}, nil))

	// The clock moves from the story's time, not today's.
	m = drain(m, func() tea.Cmd { var c tea.Cmd; m, c = m.Update(press('+')); return c }())
	if clock.Mode() != engine.ClockFixed || !clock.Now(time.Time{}).Equal(t0.Add(time.Hour)) {
		t.Fatalf("clock after +: %s", clock)
	}
	if !strings.Contains(m.View(), "expired 0s ago") {
		t.Errorf("at the expiry the item reads as expired:\n%s", m.View())
	}
	m, _ = m.Update(press('c')) // fixed -> wall
	if clock.Mode() != engine.ClockWall {
		t.Fatalf("c from fixed: %s", clock)
	}

	m, _ = m.Update(press('s'))
	call(t, kv, t0, cache.Call{Op: cache.OpIncrementCounter, Key: "later", Val: i64(1)})
	var cmd tea.Cmd
	m, cmd = m.Update(press('r'))
	m = drain(m, cmd)
	if mem.Len() != 1 || len(m.Items()) != 1 {
		t.Fatalf("restore: %d keys in the cache, %d listed", mem.Len(), len(m.Items()))
	}
	m, cmd = m.Update(press('x'))
	m = drain(m, cmd)
	if mem.Len() != 0 || !strings.Contains(m.View(), "empty") {
		t.Fatalf("clear left %d keys", mem.Len())
	}
}

func TestReadOnlyOverlay(t *testing.T) {
	table := mocks.NewCache()
	cache.New(table).Do(context.Background(), t0, cache.Call{Op: cache.OpIncrementCounter, Key: "prod", Val: i64(5)})
	overlay := cache.NewOverlay(table)
	kv := cache.New(overlay)
	clock := engine.NewClock(engine.ClockEvent, time.Time{})
	m := New(theme.Monochrome(), Source{Shared: kv, Overlay: overlay, Describe: "dynamodb table t, read-only (writes kept in memory)", Clock: clock})
	m.SetSize(80, 30)
	if m.KeyMap().Snapshot.Enabled() || !m.KeyMap().Clear.Enabled() {
		t.Fatal("snapshots need the memory cache; clearing drops overlay writes")
	}
	op := call(t, kv, t0, cache.Call{Op: cache.OpIncrementCounter, Key: "prod", Val: i64(1)})
	m = drain(m, m.SetRun("run 1", []Step{{Ops: []cache.Op{op}}}, nil))
	view := m.View()
	for _, want := range []string{"read-only (writes kept in memory)", "*prod", "count 6", "(kept in memory, not written)"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	var cmd tea.Cmd
	m, cmd = m.Update(press('x'))
	m = drain(m, cmd)
	if !strings.Contains(m.View(), "count 5") || overlay.Len() != 0 {
		t.Errorf("after dropping local writes the table shows again:\n%s", m.View())
	}
	it, _ := table.Get("prod")
	if *it.IntCount != 5 {
		t.Errorf("the table was written: %d", *it.IntCount)
	}
}
