package mocks_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/cache/cachetest"
	"github.com/rulebench/rulebench/mocks"
)

func TestCacheBehaviour(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Backend { return mocks.NewCache() })
}

func i64(v int64) *int64   { return &v }
func str(v string) *string { return &v }

func do(t *testing.T, kv *cache.KV, call cache.Call) any {
	t.Helper()
	res, _, err := kv.Do(context.Background(), cachetest.Now, call)
	if err != nil {
		t.Fatalf("%s(%q): %v", call.Op, call.Key, err)
	}
	return res
}

func TestSnapshotRestoreDiff(t *testing.T) {
	c := mocks.NewCache()
	kv := cache.New(c)
	do(t, kv, cache.Call{Op: cache.OpIncrementCounter, Key: "count"})
	do(t, kv, cache.Call{Op: cache.OpAddToStringSet, Key: "set", Strings: []string{"a"}})
	do(t, kv, cache.Call{Op: cache.OpPutDictionary, Key: "gone", Dictionary: str(`{}`)})
	s1 := c.Snapshot()

	do(t, kv, cache.Call{Op: cache.OpIncrementCounter, Key: "count"})
	do(t, kv, cache.Call{Op: cache.OpAddToStringSet, Key: "set", Strings: []string{"b"}})
	do(t, kv, cache.Call{Op: cache.OpIncrementCounter, Key: "new"})
	if _, err := c.DeleteItem(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	s2 := c.Snapshot()

	exp := cachetest.Now.Unix() + int64(cache.DefaultTTL/time.Second)
	want := []mocks.Change{
		{Key: "count", Kind: mocks.Changed,
			Before: &cache.Item{Key: "count", IntCount: i64(1), ExpiresAt: &exp},
			After:  &cache.Item{Key: "count", IntCount: i64(2), ExpiresAt: &exp}},
		{Key: "gone", Kind: mocks.Removed,
			Before: &cache.Item{Key: "gone", Dictionary: str(`{}`), ExpiresAt: &exp}},
		{Key: "new", Kind: mocks.Added,
			After: &cache.Item{Key: "new", IntCount: i64(1), ExpiresAt: &exp}},
		{Key: "set", Kind: mocks.Changed,
			Before: &cache.Item{Key: "set", StringSet: []string{"a"}, ExpiresAt: &exp},
			After:  &cache.Item{Key: "set", StringSet: []string{"a", "b"}, ExpiresAt: &exp}},
	}
	if got := mocks.Diff(s1, s2); !reflect.DeepEqual(got, want) {
		t.Errorf("Diff =\n%s\nwant\n%s", showChanges(got), showChanges(want))
	}
	if got := mocks.Diff(s2, s2); len(got) != 0 {
		t.Errorf("Diff of a snapshot with itself = %v", got)
	}

	// The first snapshot did not follow the later writes.
	if it, _ := s1.Get("set"); !reflect.DeepEqual(it.StringSet, []string{"a"}) || s1.Len() != 3 {
		t.Errorf("snapshot changed after it was taken: set=%v len=%d", it.StringSet, s1.Len())
	}

	c.Restore(s1)
	if got := mocks.Diff(s1, c.Snapshot()); len(got) != 0 {
		t.Errorf("after Restore, cache differs from the snapshot: %s", showChanges(got))
	}
	if keys := keysOf(c.List("")); keys != "count,gone,set" {
		t.Errorf("List after Restore = %s", keys)
	}
	// Writing after a restore must not reach back into the snapshot.
	do(t, kv, cache.Call{Op: cache.OpAddToStringSet, Key: "set", Strings: []string{"z"}})
	if it, _ := s1.Get("set"); !reflect.DeepEqual(it.StringSet, []string{"a"}) {
		t.Errorf("write after Restore changed the snapshot: %v", it.StringSet)
	}
	c.Restore(s1)
	if it, _ := c.Get("set"); !reflect.DeepEqual(it.StringSet, []string{"a"}) {
		t.Errorf("second Restore of one snapshot: set = %v", it.StringSet)
	}

	c.Clear()
	if c.Len() != 0 || len(c.List("")) != 0 {
		t.Errorf("Clear left %d items", c.Len())
	}
}

func showChanges(cs []mocks.Change) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %s %s before=%v after=%v\n", c.Kind, c.Key, show(c.Before), show(c.After))
	}
	return b.String()
}

func show(it *cache.Item) string {
	if it == nil {
		return "nil"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{%s", it.Key)
	if it.IntCount != nil {
		fmt.Fprintf(&b, " intCount=%d", *it.IntCount)
	}
	if it.StringSet != nil {
		fmt.Fprintf(&b, " stringSet=%q", it.StringSet)
	}
	if it.Dictionary != nil {
		fmt.Fprintf(&b, " dictionary=%q", *it.Dictionary)
	}
	if it.ExpiresAt != nil {
		fmt.Fprintf(&b, " expiresAt=%d", *it.ExpiresAt)
	}
	return b.String() + "}"
}

func keysOf(items []cache.Item) string {
	var keys []string
	for _, it := range items {
		keys = append(keys, it.Key)
	}
	return strings.Join(keys, ",")
}

func TestListIsSortedAndFollowsWrites(t *testing.T) {
	c := mocks.NewCache()
	kv := cache.New(c)
	for _, k := range []string{"b:2", "a:1", "b:1", "b", "c"} {
		do(t, kv, cache.Call{Op: cache.OpIncrementCounter, Key: k})
	}
	if got := keysOf(c.List("b")); got != "b,b:1,b:2" {
		t.Errorf("List(b) = %s", got)
	}
	// Keys added and removed after a listing show in the next one.
	do(t, kv, cache.Call{Op: cache.OpIncrementCounter, Key: "b:0"})
	if _, err := c.DeleteItem(context.Background(), "b:2"); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(c.List("b:")); got != "b:0,b:1" {
		t.Errorf("List(b:) after writes = %s", got)
	}
	// Scan's callback may write to the cache without deadlocking.
	err := c.Scan(context.Background(), "", func(it cache.Item) bool {
		do(t, kv, cache.Call{Op: cache.OpIncrementCounter, Key: it.Key + "!"})
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 10 {
		t.Errorf("after writing from Scan: %d items, want 10", c.Len())
	}
}

func TestSaveLoadFile(t *testing.T) {
	c := mocks.NewCache()
	kv := cache.New(c)
	do(t, kv, cache.Call{Op: cache.OpIncrementCounter, Key: "user:1", Val: i64(3), EpochSeconds: ptr(3600.0)})
	do(t, kv, cache.Call{Op: cache.OpAddToStringSet, Key: "ips", Strings: []string{"10.0.0.2", "10.0.0.1"}})
	do(t, kv, cache.Call{Op: cache.OpPutDictionary, Key: "last", Dictionary: str(`{"city": "Zürich", "n": 1}`)})
	do(t, kv, cache.Call{Op: cache.OpResetCounter, Key: "bare"})

	path := filepath.Join(t.TempDir(), "cache.json")
	if err := c.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"format": "rulebench-cache/1", "items": [
  {"key":"bare"},
  {"key":"ips","stringSet":["10.0.0.1","10.0.0.2"],"expiresAt":1707776000},
  {"key":"last","dictionary":"{\"city\": \"Zürich\", \"n\": 1}","expiresAt":1707776000},
  {"key":"user:1","intCount":3,"expiresAt":1700003600}
]}
`
	if string(data) != want {
		t.Errorf("saved file =\n%s\nwant\n%s", data, want)
	}

	loaded := mocks.NewCache()
	do(t, cache.New(loaded), cache.Call{Op: cache.OpIncrementCounter, Key: "replaced"})
	if err := loaded.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if d := mocks.Diff(c.Snapshot(), loaded.Snapshot()); len(d) != 0 {
		t.Errorf("loaded cache differs from the saved one:\n%s", showChanges(d))
	}

	empty := mocks.NewCache()
	emptyPath := filepath.Join(t.TempDir(), "empty.json")
	if err := empty.SaveFile(emptyPath); err != nil {
		t.Fatal(err)
	}
	if err := loaded.LoadFile(emptyPath); err != nil || loaded.Len() != 0 {
		t.Errorf("loading an empty cache file: %v, %d items", err, loaded.Len())
	}
}

func ptr[T any](v T) *T { return &v }

func TestLoadFileRejects(t *testing.T) {
	for name, text := range map[string]string{
		"not json":      `{"format": "rulebench-cache/1", "items": [`,
		"no format":     `{"items": []}`,
		"other format":  `{"format": "something/2", "items": []}`,
		"unknown field": `{"format": "rulebench-cache/1", "items": [{"key": "a", "count": 1}]}`,
		"duplicate key": `{"format": "rulebench-cache/1", "items": [{"key": "a"}, {"key": "a"}]}`,
		"empty key":     `{"format": "rulebench-cache/1", "items": [{"key": ""}]}`,
		"string count":  `{"format": "rulebench-cache/1", "items": [{"key": "a", "intCount": "1"}]}`,
		"too big":       `{"format": "rulebench-cache/1", "items": [{"key": "a", "dictionary": "` + strings.Repeat("x", cache.MaxItemSize) + `"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			c := mocks.NewCache()
			do(t, cache.New(c), cache.Call{Op: cache.OpIncrementCounter, Key: "kept"})
			path := filepath.Join(t.TempDir(), "cache.json")
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			err := c.LoadFile(path)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("LoadFile = %v; want an error naming the file", err)
			}
			if _, ok := c.Get("kept"); !ok || c.Len() != 1 {
				t.Errorf("a failed load changed the cache (%d items)", c.Len())
			}
		})
	}
}

func TestLoadFileTidiesSets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.json")
	text := `{"format": "rulebench-cache/1", "items": [{"key": "s", "stringSet": ["b", "a", "b"]}, {"key": "e", "stringSet": []}]}`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c := mocks.NewCache()
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if it, _ := c.Get("s"); !reflect.DeepEqual(it.StringSet, []string{"a", "b"}) {
		t.Errorf("set loaded as %q", it.StringSet)
	}
	if it, ok := c.Get("e"); !ok || it.StringSet != nil {
		t.Errorf("empty set loaded as %q (exists %v); want no attribute", it.StringSet, ok)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := mocks.NewCache()
	kv := cache.New(c)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				key := fmt.Sprintf("k%d", i%17)
				calls := []cache.Call{
					{Op: cache.OpIncrementCounter, Key: key},
					{Op: cache.OpAddToStringSet, Key: key, Strings: []string{fmt.Sprint(w)}},
					{Op: cache.OpGetStringSet, Key: key},
					{Op: cache.OpRemoveFromStringSet, Key: key, Strings: []string{fmt.Sprint(i)}},
				}
				if _, _, err := kv.Do(context.Background(), cachetest.Now, calls[i%len(calls)]); err != nil {
					t.Error(err)
					return
				}
				switch i % 50 {
				case 10:
					c.Get(key)
				case 20:
					c.List("k1")
				case 30:
					mocks.Diff(c.Snapshot(), c.Snapshot())
				}
			}
		}()
	}
	wg.Wait()
	var total int64
	for _, it := range c.List("") {
		if it.IntCount != nil {
			total += *it.IntCount
		}
	}
	if total != 8*50 {
		t.Errorf("total of counters = %d, want %d", total, 8*50)
	}

	// Restores racing with readers: every reader sees one whole state.
	saved := c.Snapshot()
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if w == 0 {
					c.Restore(saved)
					continue
				}
				if n := len(c.List("")); n != saved.Len() {
					t.Errorf("List during Restore saw %d items, want %d", n, saved.Len())
					return
				}
			}
		}()
	}
	wg.Wait()
	if d := mocks.Diff(saved, c.Snapshot()); len(d) != 0 {
		t.Errorf("after concurrent restores: %v", d)
	}
}

func BenchmarkDo(b *testing.B) {
	kv := cache.New(mocks.NewCache())
	ctx := context.Background()
	for _, call := range []cache.Call{
		{Op: cache.OpIncrementCounter, Key: "user:1"},
		{Op: cache.OpGetCounter, Key: "user:1"},
		{Op: cache.OpAddToStringSet, Key: "ips:1", Strings: []string{"10.0.0.1"}},
		{Op: cache.OpGetStringSet, Key: "ips:1"},
		{Op: cache.OpPutDictionary, Key: "last:1", Dictionary: str(`{"ip": "10.0.0.1", "city": "Paris"}`)},
		{Op: cache.OpGetDictionary, Key: "last:1"},
	} {
		b.Run(call.Op, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := kv.Do(ctx, cachetest.Now, call); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("increment_counter/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				call := cache.Call{Op: cache.OpIncrementCounter, Key: fmt.Sprintf("user:%d", i%1024)}
				if _, _, err := kv.Do(ctx, cachetest.Now, call); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkMillionKeys reports the heap a cache of one million counters
// (keys like "AccessDenied:arn:aws:iam::123456789012:user/u0000001", with
// an expiry) holds, and the same for string sets of two members.
func BenchmarkMillionKeys(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	for _, kind := range []string{"counters", "sets"} {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				before := heapInUse()
				c := mocks.NewCache()
				kv := cache.New(c)
				for i := range n {
					key := fmt.Sprintf("AccessDenied:arn:aws:iam::123456789012:user/u%07d", i)
					call := cache.Call{Op: cache.OpIncrementCounter, Key: key}
					if kind == "sets" {
						call = cache.Call{Op: cache.OpAddToStringSet, Key: key, Strings: []string{"10.0.0.1", "192.168.100.200"}}
					}
					if _, _, err := kv.Do(ctx, cachetest.Now, call); err != nil {
						b.Fatal(err)
					}
				}
				after := heapInUse()
				b.ReportMetric(float64(after-before)/(1<<20), "MiB")
				b.ReportMetric(float64(after-before)/n, "B/key")
				runtime.KeepAlive(c)
			}
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func TestLoadMissingFile(t *testing.T) {
	err := mocks.NewCache().LoadFile(filepath.Join(t.TempDir(), "none.json"))
	if !os.IsNotExist(err) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFile of a missing file = %v; want a not-exist error", err)
	}
}
