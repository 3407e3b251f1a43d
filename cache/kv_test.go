package cache_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/cache/cachetest"
	"github.com/rulebench/rulebench/mocks"
)

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }
func str(v string) *string   { return &v }

func show(it cache.Item) string {
	b, _ := json.Marshal(it)
	return string(b)
}

func TestExpiryAt(t *testing.T) {
	now := time.Unix(1_700_000_000, 999_000_000) // fractions of now are dropped, as int(time()) does
	for _, c := range []struct {
		in   *float64
		want int64
	}{
		{nil, 1_707_776_000},
		{f64(0), 1_700_000_000},
		{f64(1), 1_700_000_001},
		{f64(59.99), 1_700_000_059},
		{f64(-59.99), 1_699_999_941},
		{f64(999_999_999.9), 2_699_999_999},
		{f64(1_000_000_000), 1_000_000_000},
		{f64(1_000_000_000.5), 1_000_000_000},
		{f64(4_102_444_800), 4_102_444_800},
	} {
		got, err := cache.ExpiryAt(c.in, now)
		if err != nil || got != c.want {
			t.Errorf("ExpiryAt(%v) = %d, %v; want %d", fmtPtr(c.in), got, err, c.want)
		}
	}
	for _, c := range []struct {
		in      float64
		errType string
	}{
		{math.NaN(), "ValueError"},
		{math.Inf(1), "OverflowError"},
		{math.Inf(-1), "OverflowError"},
		{1e300, "ValueError"},
	} {
		_, err := cache.ExpiryAt(&c.in, now)
		var ce *cache.Error
		if !errors.As(err, &ce) || ce.Type != c.errType {
			t.Errorf("ExpiryAt(%v) error = %v; want %s", c.in, err, c.errType)
		}
	}
}

func fmtPtr(p *float64) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func TestItemSize(t *testing.T) {
	// Sizes of numbers as dynalite's db.itemSize counts them.
	for _, c := range []struct {
		n    int64
		size int
	}{
		{0, 1}, {1, 2}, {9, 2}, {10, 2}, {12, 2}, {99, 2}, {100, 2}, {123, 3},
		{1234, 3}, {-1, 3}, {1_700_000_000, 2}, {1_707_776_000, 5}, {math.MaxInt64, 11},
	} {
		it := cache.Item{Key: "k", IntCount: &c.n}
		if got := it.Size() - len("key") - 1 - len("intCount"); got != c.size {
			t.Errorf("size of number %d = %d, want %d", c.n, got, c.size)
		}
	}
	it := cache.Item{Key: "ké", StringSet: []string{"a", "bc"}, Dictionary: str("{}")}
	if got, want := it.Size(), 3+3+9+3+10+2; got != want {
		t.Errorf("Size() = %d, want %d", got, want)
	}
}

func TestUpdateApplyLeavesInputAlone(t *testing.T) {
	cur := cache.Item{Key: "k", IntCount: i64(1), StringSet: []string{"a", "b"}}
	next, err := cache.Update{AddCount: i64(1), DeleteStrings: []string{"a"}}.Apply("k", cur, true)
	if err != nil {
		t.Fatal(err)
	}
	if *cur.IntCount != 1 || len(cur.StringSet) != 2 || cur.StringSet[0] != "a" {
		t.Errorf("Apply modified its input: %s", show(cur))
	}
	if show(next) != `{"key":"k","intCount":2,"stringSet":["b"]}` {
		t.Errorf("Apply = %s", show(next))
	}
	if _, err := (cache.Update{AddCount: i64(1)}).Apply("k", cache.Item{Key: "k", IntCount: i64(math.MaxInt64)}, true); err == nil {
		t.Error("a counter overflowing int64 did not fail")
	}
}

// failingWrites is a backend that reads fine but cannot write, like a
// table whose role may only read.
type failingWrites struct{ *mocks.Cache }

var errDenied = &cache.Error{Type: "CacheError", Code: "AccessDeniedException", Message: "denied", Hint: "grant dynamodb:UpdateItem"}

func (failingWrites) UpdateItem(context.Context, string, cache.Update) (cache.WriteResult, error) {
	return cache.WriteResult{}, errDenied
}

func TestDoKeepsBackendErrors(t *testing.T) {
	b := failingWrites{mocks.NewCache()}
	if _, err := b.PutItem(context.Background(), cache.Item{Key: "k", IntCount: i64(1), ExpiresAt: i64(1)}); err != nil {
		t.Fatal(err)
	}
	res, op, err := cache.New(b).Do(context.Background(), cachetest.Now, cache.Call{Op: cache.OpIncrementCounter, Key: "k"})
	if err != errDenied || res != nil {
		t.Errorf("Do = %v, %v; want the backend's *Error unchanged", res, err)
	}
	if op.Error != "denied (grant dynamodb:UpdateItem)" || !op.Before.Exists || op.After.Item.IntCount == nil || *op.After.Item.IntCount != 1 {
		t.Errorf("trace of a failed write: %+v", op)
	}
	if it, _ := b.Get("k"); *it.IntCount != 1 {
		t.Errorf("failed write changed the item: %s", show(it))
	}
}
