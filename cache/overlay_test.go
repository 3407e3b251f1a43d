package cache_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/cache/cachetest"
	"github.com/rulebench/rulebench/mocks"
)

func TestOverlayBehaviour(t *testing.T) {
	// Rules must not be able to tell a read-only cache from a writable one.
	cachetest.Run(t, func(t *testing.T) cache.Backend { return cache.NewOverlay(mocks.NewCache()) })
}

func TestOverlayWritesNothing(t *testing.T) {
	base := mocks.NewCache()
	seed := cache.New(base)
	ctx := context.Background()
	for _, call := range []cache.Call{
		{Op: cache.OpIncrementCounter, Key: "count", Val: i64(5)},
		{Op: cache.OpAddToStringSet, Key: "set", Strings: []string{"a", "b"}},
		{Op: cache.OpPutDictionary, Key: "dict", Dictionary: str(`{"a": 1}`)},
	} {
		if _, _, err := seed.Do(ctx, cachetest.Now, call); err != nil {
			t.Fatal(err)
		}
	}
	before := base.Snapshot()

	ro := cache.NewOverlay(base)
	kv := cache.New(ro)
	for _, call := range []cache.Call{
		{Op: cache.OpIncrementCounter, Key: "count"},
		{Op: cache.OpIncrementCounter, Key: "new"},
		{Op: cache.OpResetCounter, Key: "count"},
		{Op: cache.OpPutStringSet, Key: "set", Strings: []string{"z"}},
		{Op: cache.OpAddToStringSet, Key: "set", Strings: []string{"y"}},
		{Op: cache.OpRemoveFromStringSet, Key: "set", Strings: []string{"z"}},
		{Op: cache.OpResetStringSet, Key: "other"},
		{Op: cache.OpPutDictionary, Key: "dict", Dictionary: str(`{}`)},
		{Op: cache.OpSetKeyExpiration, Key: "dict", EpochSeconds: f64(5)},
	} {
		_, op, err := kv.Do(ctx, cachetest.Now, call)
		if err != nil {
			t.Fatal(err)
		}
		if op.Written || !strings.HasSuffix(op.Backend, "(read-only)") {
			t.Errorf("%s through the overlay traced as Written=%v on %q", call.Op, op.Written, op.Backend)
		}
	}
	if _, err := ro.DeleteItem(ctx, "count"); err != nil {
		t.Fatal(err)
	}
	if d := mocks.Diff(before, base.Snapshot()); len(d) != 0 {
		t.Fatalf("writes through the overlay reached the backend: %+v", d)
	}

	// The overlay's own reads see its writes.
	want := map[string]string{
		"dict":  `{"key":"dict","dictionary":"{}","expiresAt":1700000005}`,
		"new":   `{"key":"new","intCount":1,"expiresAt":1707776000}`,
		"other": `{"key":"other"}`,
		"set":   `{"key":"set","stringSet":["y"],"expiresAt":1707776000}`,
	}
	var got []string
	if err := ro.Scan(ctx, "", func(it cache.Item) bool {
		got = append(got, it.Key)
		if w := want[it.Key]; show(it) != w {
			t.Errorf("overlay item %s, want %s", show(it), w)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "dict,new,other,set" {
		t.Errorf("overlay scan = %v (deleted count must be gone, order kept)", got)
	}
	if _, ok, _ := ro.GetItem(ctx, "count"); ok {
		t.Error("key deleted through the overlay still readable")
	}
	if ro.Len() != 5 {
		t.Errorf("overlay holds %d keys, want 5", ro.Len())
	}

	ro.Reset()
	if it, ok, _ := ro.GetItem(ctx, "count"); !ok || *it.IntCount != 5 {
		t.Errorf("after Reset the backend's item is hidden: %+v %v", it, ok)
	}
}

func TestOverlayScanMerge(t *testing.T) {
	base := mocks.NewCache()
	ctx := context.Background()
	for _, k := range []string{"a", "c", "e", "g"} {
		if _, err := base.PutItem(ctx, cache.Item{Key: k, IntCount: i64(1)}); err != nil {
			t.Fatal(err)
		}
	}
	ro := cache.NewOverlay(base)
	for _, k := range []string{"b", "c", "f", "h"} {
		if _, err := ro.PutItem(ctx, cache.Item{Key: k, IntCount: i64(2)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ro.DeleteItem(ctx, "e"); err != nil {
		t.Fatal(err)
	}
	var got []string
	ro.Scan(ctx, "", func(it cache.Item) bool {
		got = append(got, it.Key+"="+string(rune('0'+*it.IntCount)))
		return true
	})
	if s := strings.Join(got, " "); s != "a=1 b=2 c=2 f=2 g=1 h=2" {
		t.Errorf("merged scan = %s", s)
	}
	for limit := 1; limit <= 6; limit++ {
		n := 0
		ro.Scan(ctx, "", func(cache.Item) bool { n++; return n < limit })
		if n != limit {
			t.Errorf("scan stopped at %d items, want %d", n, limit)
		}
	}
}

// failing is a backend whose reads fail, as an unreachable table's do.
type failing struct{ cache.Backend }

var errDown = errors.New("table unreachable")

func (failing) GetItem(context.Context, string) (cache.Item, bool, error) {
	return cache.Item{}, false, errDown
}

func TestOverlayBackendFailure(t *testing.T) {
	ro := cache.NewOverlay(failing{mocks.NewCache()})
	_, op, err := cache.New(ro).Do(context.Background(), cachetest.Now, cache.Call{Op: cache.OpIncrementCounter, Key: "k"})
	var ce *cache.Error
	if !errors.As(err, &ce) || ce.Type != "CacheError" || !errors.Is(err, errDown) || op.Error == "" {
		t.Errorf("Do on a failing backend = %v (trace error %q); want a CacheError wrapping the cause", err, op.Error)
	}
	if ro.Len() != 0 {
		t.Error("a failed call left something in the overlay")
	}
}

func TestOverlayConcurrentUpdates(t *testing.T) {
	base := mocks.NewCache()
	ro := cache.NewOverlay(base)
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				// Straight to the overlay, not through KV, so only the
				// overlay's own locking keeps the count right.
				if _, err := ro.UpdateItem(ctx, "k", cache.Update{AddCount: i64(1)}); err != nil {
					t.Error(err)
					return
				}
				ro.Scan(ctx, "", func(cache.Item) bool { return true })
			}
		}()
	}
	wg.Wait()
	if it, _, _ := ro.GetItem(ctx, "k"); it.IntCount == nil || *it.IntCount != 800 {
		t.Errorf("count after concurrent updates = %v, want 800", it.IntCount)
	}
	if base.Len() != 0 {
		t.Error("concurrent overlay updates reached the backend")
	}
}
