// Package cachetest checks that a cache.Backend, driven by cache.KV, gives
// rules exactly what Panther's caching helpers give them on DynamoDB: every
// helper's return value, every quirk, expiry conversion and the attributes
// left in the table. Every backend runs the same suite, so the in-memory
// cache is held to what a real DynamoDB API (dynalite) does.
package cachetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rulebench/rulebench/cache"
)

// Now is the instant every call in the suite is made at. dynalite never
// expires items, and neither does any backend: expiry is decided from the
// now KV is given, so a fixed instant makes every expiry exact.
var Now = time.Unix(1_700_000_000, 0)

const (
	now   = int64(1_700_000_000)
	day90 = int64(90 * 24 * 3600)
)

// Run runs the suite. open must return a new, empty backend for each call;
// subtests run in parallel. A *cache.Overlay is expected to report its
// writes as not written; every other backend as written.
func Run(t *testing.T, open func(t *testing.T) cache.Backend) {
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := open(t)
			_, readOnly := b.(*cache.Overlay)
			tc.run(&env{t: t, b: b, kv: cache.New(b), readOnly: readOnly})
		})
	}
}

type env struct {
	t        *testing.T
	b        cache.Backend
	kv       *cache.KV
	readOnly bool
}

func i64(v int64) *int64        { return &v }
func f64(v float64) *float64    { return &v }
func str(v string) *string      { return &v }
func strs(v ...string) []string { return v }

// seed writes it straight to the backend.
func (e *env) seed(it cache.Item) {
	e.t.Helper()
	if _, err := e.b.PutItem(context.Background(), it); err != nil {
		e.t.Fatalf("seed %s: %v", it.Key, err)
	}
}

// do makes a call that must succeed and checks the trace's common fields.
func (e *env) do(call cache.Call) (any, cache.Op) {
	e.t.Helper()
	res, op, err := e.kv.Do(context.Background(), Now, call)
	if err != nil {
		e.t.Fatalf("%s(%q): %v", call.Op, call.Key, err)
	}
	e.checkOp(call, res, op)
	if op.Error != "" {
		e.t.Errorf("%s: Op.Error = %q for a call that succeeded", call.Op, op.Error)
	}
	return res, op
}

// fail makes a call that must fail with an *cache.Error of errType and
// must leave the item as it was.
func (e *env) fail(call cache.Call, errType, code, contains string) *cache.Error {
	e.t.Helper()
	// Keys DynamoDB refuses cannot be read back to compare.
	readable := call.Key != "" && len(call.Key) <= cache.MaxKeySize
	var before cache.Item
	var existed bool
	if readable {
		before, existed = e.get(call.Key)
	}
	res, op, err := e.kv.Do(context.Background(), Now, call)
	var ce *cache.Error
	if !errors.As(err, &ce) {
		e.t.Fatalf("%s(%q) = %v, %v; want a *cache.Error", call.Op, call.Key, res, err)
	}
	if ce.Type != errType || ce.Code != code || !strings.Contains(ce.Message, contains) {
		e.t.Errorf("%s(%q) error = {Type %q Code %q Message %q}; want Type %q Code %q, message containing %q",
			call.Op, call.Key, ce.Type, ce.Code, ce.Message, errType, code, contains)
	}
	if res != nil || op.Result != nil {
		e.t.Errorf("%s: result %v (trace %v) with an error; want nil", call.Op, res, op.Result)
	}
	if op.Error != err.Error() || op.Written || !reflect.DeepEqual(op.After, op.Before) {
		e.t.Errorf("%s: failed call traced as Error %q Written %v After %+v Before %+v", call.Op, op.Error, op.Written, op.After, op.Before)
	}
	if readable {
		after, exists := e.get(call.Key)
		if exists != existed || !after.Equal(before) {
			e.t.Errorf("%s: failed call changed the item from %+v (exists %v) to %+v (exists %v)", call.Op, before, existed, after, exists)
		}
	}
	return ce
}

func isRead(call cache.Call) bool {
	switch call.Op {
	case cache.OpGetCounter, cache.OpGetStringSet, cache.OpGetDictionary:
		return true
	case cache.OpAddToStringSet, cache.OpRemoveFromStringSet:
		return len(call.Strings) == 0
	}
	return false
}

func (e *env) checkOp(call cache.Call, res any, op cache.Op) {
	e.t.Helper()
	if op.Op != call.Op || op.Key != call.Key || op.Now != now || op.Backend != e.b.Name() {
		e.t.Errorf("trace header = %q %q now %d backend %q; want %q %q now %d backend %q",
			op.Op, op.Key, op.Now, op.Backend, call.Op, call.Key, now, e.b.Name())
	}
	if args, err := json.Marshal(call); err != nil || string(args) != string(op.Args) {
		e.t.Errorf("trace args %s; want the call as JSON, %s (%v)", op.Args, args, err)
	}
	if !reflect.DeepEqual(op.Result, res) {
		e.t.Errorf("trace result %#v, returned %#v", op.Result, res)
	}
	if op.DurationNS <= 0 {
		e.t.Errorf("trace duration %v", op.DurationNS)
	}
	wantWritten := !isRead(call) && !e.readOnly
	if op.Written != wantWritten {
		e.t.Errorf("%s: trace Written = %v, want %v", call.Op, op.Written, wantWritten)
	}
	if isRead(call) && !reflect.DeepEqual(op.After, op.Before) {
		e.t.Errorf("%s: a read changed the item in the trace: %+v -> %+v", call.Op, op.Before, op.After)
	}
	after, exists := e.get(call.Key)
	if op.After.Exists != exists || (exists && !op.After.Item.Equal(after)) {
		e.t.Errorf("%s: trace After %+v, table holds %+v (exists %v)", call.Op, op.After, after, exists)
	}
	if op.After.Exists && op.After.Expired != after.Expired(Now) {
		e.t.Errorf("%s: trace After.Expired = %v", call.Op, op.After.Expired)
	}
}

func (e *env) get(key string) (cache.Item, bool) {
	e.t.Helper()
	it, ok, err := e.b.GetItem(context.Background(), key)
	if err != nil {
		e.t.Fatalf("GetItem(%q): %v", key, err)
	}
	return it, ok
}

// want checks the item's attributes exactly.
func (e *env) want(want cache.Item) {
	e.t.Helper()
	got, ok := e.get(want.Key)
	if !ok {
		e.t.Errorf("item %q missing; want %s", want.Key, show(want))
		return
	}
	if !got.Equal(want) {
		e.t.Errorf("item %q =\n %s\nwant\n %s", want.Key, show(got), show(want))
	}
}

func (e *env) wantMissing(key string) {
	e.t.Helper()
	if got, ok := e.get(key); ok {
		e.t.Errorf("item %q = %s; want none", key, show(got))
	}
}

func (e *env) result(call cache.Call, want any) cache.Op {
	e.t.Helper()
	got, op := e.do(call)
	if !reflect.DeepEqual(got, want) {
		e.t.Errorf("%s(%q) = %#v; want %#v", call.Op, call.Key, got, want)
	}
	return op
}

func show(it cache.Item) string {
	b, _ := json.Marshal(it)
	return string(b)
}

type scenario struct {
	name string
	run  func(e *env)
}

var suite = []scenario{
	{"ExpiryConversion", func(e *env) {
		for i, c := range []struct {
			epoch *float64
			want  int64
		}{
			{nil, now + day90},
			{f64(3600), now + 3600},
			{f64(3600.9), now + 3600},
			{f64(0), now},
			{f64(-10), now - 10},
			{f64(-0.5), now},
			{f64(999_999_999), now + 999_999_999},
			{f64(1_000_000_000), 1_000_000_000},
			{f64(1_800_000_000.99), 1_800_000_000},
			{f64(1_600_000_000), 1_600_000_000},
		} {
			key := fmt.Sprintf("exp%d", i)
			e.result(cache.Call{Op: cache.OpSetKeyExpiration, Key: key, EpochSeconds: c.epoch}, nil)
			e.want(cache.Item{Key: key, ExpiresAt: i64(c.want)})
		}
	}},
	{"ExpiryNotANumber", func(e *env) {
		e.fail(cache.Call{Op: cache.OpSetKeyExpiration, Key: "k", EpochSeconds: f64(math.NaN())}, "ValueError", "", "NaN")
		e.fail(cache.Call{Op: cache.OpIncrementCounter, Key: "k", EpochSeconds: f64(math.Inf(1))}, "OverflowError", "", "infinity")
		e.wantMissing("k")
	}},
	{"SetKeyExpirationKeepsAttributes", func(e *env) {
		e.seed(cache.Item{Key: "k", IntCount: i64(4), StringSet: strs("a"), Dictionary: str(`{}`), ExpiresAt: i64(now - 5)})
		e.result(cache.Call{Op: cache.OpSetKeyExpiration, Key: "k", EpochSeconds: f64(60)}, nil)
		e.want(cache.Item{Key: "k", IntCount: i64(4), StringSet: strs("a"), Dictionary: str(`{}`), ExpiresAt: i64(now + 60)})
	}},

	{"GetCounter", func(e *env) {
		e.result(cache.Call{Op: cache.OpGetCounter, Key: "missing"}, int64(0))
		e.result(cache.Call{Op: cache.OpGetCounter, Key: "missing", ForceTTLCheck: true}, int64(0))
		e.wantMissing("missing")

		e.seed(cache.Item{Key: "plain", IntCount: i64(5)})
		e.result(cache.Call{Op: cache.OpGetCounter, Key: "plain", ForceTTLCheck: true}, int64(5))

		e.seed(cache.Item{Key: "set-only", StringSet: strs("a"), ExpiresAt: i64(now + 10)})
		e.result(cache.Call{Op: cache.OpGetCounter, Key: "set-only"}, int64(0))
	}},
	{"GetCounterExpiry", func(e *env) {
		for _, c := range []struct {
			expires int64
			forced  int64
		}{
			{now - 1, 0},
			{now, 0}, // expired means expiresAt <= now
			{now + 1, 7},
		} {
			key := fmt.Sprint("c", c.expires-now)
			e.seed(cache.Item{Key: key, IntCount: i64(7), ExpiresAt: i64(c.expires)})
			// An expired item is returned until DynamoDB deletes it...
			op := e.result(cache.Call{Op: cache.OpGetCounter, Key: key}, int64(7))
			if op.Before.Expired != (c.expires <= now) {
				e.t.Errorf("trace Before.Expired = %v for expiresAt now%+d", op.Before.Expired, c.expires-now)
			}
			// ...unless the rule forces the check.
			e.result(cache.Call{Op: cache.OpGetCounter, Key: key, ForceTTLCheck: true}, c.forced)
			e.want(cache.Item{Key: key, IntCount: i64(7), ExpiresAt: i64(c.expires)})
		}
	}},

	{"IncrementNewKeyReturnsVal", func(e *env) {
		e.result(cache.Call{Op: cache.OpIncrementCounter, Key: "k"}, int64(1))
		e.want(cache.Item{Key: "k", IntCount: i64(1), ExpiresAt: i64(now + day90)})
		e.result(cache.Call{Op: cache.OpIncrementCounter, Key: "k"}, int64(2))
		e.result(cache.Call{Op: cache.OpIncrementCounter, Key: "k", Val: i64(5), EpochSeconds: f64(60)}, int64(7))
		e.want(cache.Item{Key: "k", IntCount: i64(7), ExpiresAt: i64(now + 60)})
		e.result(cache.Call{Op: cache.OpIncrementCounter, Key: "k", Val: i64(-10)}, int64(-3))
		e.want(cache.Item{Key: "k", IntCount: i64(-3), ExpiresAt: i64(now + day90)})

		e.result(cache.Call{Op: cache.OpIncrementCounter, Key: "n", Val: i64(5), EpochSeconds: f64(1_800_000_000)}, int64(5))
		e.want(cache.Item{Key: "n", IntCount: i64(5), ExpiresAt: i64(1_800_000_000)})
	}},
	{"IncrementWithoutExpiryReturnsVal", func(e *env) {
		// The quirk: with no expiry the library's conditional update fails
		// and its fallback adds anyway but returns val, not the total.
		e.seed(cache.Item{Key: "k", IntCount: i64(10)})
		e.result(cache.Call{Op: cache.OpIncrementCounter, Key: "k", Val: i64(2)}, int64(2))
		e.want(cache.Item{Key: "k", IntCount: i64(12), ExpiresAt: i64(now + day90)})
		// The fallback set an expiry, so the item is live from now on.
		e.result(cache.Call{Op: cache.OpIncrementCounter, Key: "k"}, int64(13))
	}},
	{"IncrementExpiredReturnsVal", func(e *env) {
		for _, expires := range []int64{now - 3600, now} {
			key := fmt.Sprint("k", expires)
			e.seed(cache.Item{Key: key, IntCount: i64(10), StringSet: strs("x"), ExpiresAt: i64(expires)})
			e.result(cache.Call{Op: cache.OpIncrementCounter, Key: key, EpochSeconds: f64(30)}, int64(1))
			// The add still happens on the old count; other attributes stay.
			e.want(cache.Item{Key: key, IntCount: i64(11), StringSet: strs("x"), ExpiresAt: i64(now + 30)})
			e.result(cache.Call{Op: cache.OpIncrementCounter, Key: key, EpochSeconds: f64(30)}, int64(12))
		}
	}},
	{"IncrementLiveWithoutCount", func(e *env) {
		e.seed(cache.Item{Key: "k", Dictionary: str(`{"a":1}`), ExpiresAt: i64(now + 100)})
		e.result(cache.Call{Op: cache.OpIncrementCounter, Key: "k", Val: i64(3)}, int64(3))
		e.want(cache.Item{Key: "k", IntCount: i64(3), Dictionary: str(`{"a":1}`), ExpiresAt: i64(now + day90)})
	}},
	{"ResetCounter", func(e *env) {
		e.seed(cache.Item{Key: "k", IntCount: i64(9), StringSet: strs("a"), Dictionary: str(`{}`), ExpiresAt: i64(now + 5)})
		e.result(cache.Call{Op: cache.OpResetCounter, Key: "k"}, nil)
		e.want(cache.Item{Key: "k", StringSet: strs("a"), Dictionary: str(`{}`), ExpiresAt: i64(now + 5)})
		e.result(cache.Call{Op: cache.OpGetCounter, Key: "k"}, int64(0))
		// UpdateItem creates what it updates, even when it only removes:
		// the key is left behind with no attributes.
		e.result(cache.Call{Op: cache.OpResetCounter, Key: "missing"}, nil)
		e.want(cache.Item{Key: "missing"})
	}},

	{"GetStringSet", func(e *env) {
		e.result(cache.Call{Op: cache.OpGetStringSet, Key: "missing"}, []string{})
		e.wantMissing("missing")
		e.seed(cache.Item{Key: "k", StringSet: strs("a", "b", "c"), ExpiresAt: i64(now + 1)})
		e.result(cache.Call{Op: cache.OpGetStringSet, Key: "k", ForceTTLCheck: true}, []string{"a", "b", "c"})
		e.seed(cache.Item{Key: "old", StringSet: strs("x"), ExpiresAt: i64(now)})
		e.result(cache.Call{Op: cache.OpGetStringSet, Key: "old"}, []string{"x"})
		e.result(cache.Call{Op: cache.OpGetStringSet, Key: "old", ForceTTLCheck: true}, []string{})
		e.seed(cache.Item{Key: "counter", IntCount: i64(1)})
		e.result(cache.Call{Op: cache.OpGetStringSet, Key: "counter", ForceTTLCheck: true}, []string{})
	}},
	{"PutStringSetReplacesItem", func(e *env) {
		e.seed(cache.Item{Key: "k", IntCount: i64(3), StringSet: strs("old"), Dictionary: str(`{}`), ExpiresAt: i64(now + 5)})
		e.result(cache.Call{Op: cache.OpPutStringSet, Key: "k", Strings: strs("b", "a", "b", "")}, nil)
		e.want(cache.Item{Key: "k", StringSet: strs("", "a", "b"), ExpiresAt: i64(now + day90)})
		e.result(cache.Call{Op: cache.OpPutStringSet, Key: "n", Strings: strs("z"), EpochSeconds: f64(10)}, nil)
		e.want(cache.Item{Key: "n", StringSet: strs("z"), ExpiresAt: i64(now + 10)})
		e.result(cache.Call{Op: cache.OpGetStringSet, Key: "k"}, []string{"", "a", "b"})
	}},
	{"PutEmptyStringSetResets", func(e *env) {
		e.seed(cache.Item{Key: "k", IntCount: i64(3), StringSet: strs("old"), ExpiresAt: i64(now + 5)})
		e.result(cache.Call{Op: cache.OpPutStringSet, Key: "k", Strings: []string{}, EpochSeconds: f64(99)}, nil)
		e.want(cache.Item{Key: "k", IntCount: i64(3), ExpiresAt: i64(now + 5)})
		e.result(cache.Call{Op: cache.OpPutStringSet, Key: "missing"}, nil)
		e.want(cache.Item{Key: "missing"})
	}},
	{"AddToStringSet", func(e *env) {
		e.result(cache.Call{Op: cache.OpAddToStringSet, Key: "k", Strings: strs("b")}, []string{"b"})
		e.want(cache.Item{Key: "k", StringSet: strs("b"), ExpiresAt: i64(now + day90)})
		e.result(cache.Call{Op: cache.OpAddToStringSet, Key: "k", Strings: strs("c", "a", "b", "a"), EpochSeconds: f64(20)}, []string{"a", "b", "c"})
		e.want(cache.Item{Key: "k", StringSet: strs("a", "b", "c"), ExpiresAt: i64(now + 20)})

		e.seed(cache.Item{Key: "counter", IntCount: i64(2)})
		e.result(cache.Call{Op: cache.OpAddToStringSet, Key: "counter", Strings: strs("x")}, []string{"x"})
		e.want(cache.Item{Key: "counter", IntCount: i64(2), StringSet: strs("x"), ExpiresAt: i64(now + day90)})
	}},
	{"AddToExpiredStringSetKeepsOldMembers", func(e *env) {
		// Unlike remove, add has no reset on expiry: the fallback is the
		// same ADD without the condition.
		e.seed(cache.Item{Key: "k", StringSet: strs("old"), ExpiresAt: i64(now - 1)})
		e.result(cache.Call{Op: cache.OpAddToStringSet, Key: "k", Strings: strs("new")}, []string{"new", "old"})
		e.want(cache.Item{Key: "k", StringSet: strs("new", "old"), ExpiresAt: i64(now + day90)})
	}},
	{"AddEmptyReturnsCurrentSetForceChecked", func(e *env) {
		e.seed(cache.Item{Key: "live", StringSet: strs("a"), ExpiresAt: i64(now + 1)})
		e.seed(cache.Item{Key: "old", StringSet: strs("a"), ExpiresAt: i64(now - 1)})
		e.result(cache.Call{Op: cache.OpAddToStringSet, Key: "live", Strings: []string{}}, []string{"a"})
		e.result(cache.Call{Op: cache.OpAddToStringSet, Key: "old"}, []string{})
		e.result(cache.Call{Op: cache.OpAddToStringSet, Key: "missing"}, []string{})
		// Nothing was written: expiries untouched, no item created.
		e.want(cache.Item{Key: "live", StringSet: strs("a"), ExpiresAt: i64(now + 1)})
		e.want(cache.Item{Key: "old", StringSet: strs("a"), ExpiresAt: i64(now - 1)})
		e.wantMissing("missing")
	}},
	{"RemoveFromLiveStringSet", func(e *env) {
		e.seed(cache.Item{Key: "k", IntCount: i64(1), StringSet: strs("a", "b", "c"), ExpiresAt: i64(now + 1)})
		e.result(cache.Call{Op: cache.OpRemoveFromStringSet, Key: "k", Strings: strs("b", "zz")}, []string{"a", "c"})
		e.want(cache.Item{Key: "k", IntCount: i64(1), StringSet: strs("a", "c"), ExpiresAt: i64(now + day90)})
		e.result(cache.Call{Op: cache.OpRemoveFromStringSet, Key: "k", Strings: strs("zz"), EpochSeconds: f64(40)}, []string{"a", "c"})
		e.want(cache.Item{Key: "k", IntCount: i64(1), StringSet: strs("a", "c"), ExpiresAt: i64(now + 40)})
		// Removing the last members removes the attribute, not the item.
		e.result(cache.Call{Op: cache.OpRemoveFromStringSet, Key: "k", Strings: strs("a", "c")}, []string{})
		e.want(cache.Item{Key: "k", IntCount: i64(1), ExpiresAt: i64(now + day90)})
	}},
	{"RemoveFromExpiredOrExpirylessResets", func(e *env) {
		e.seed(cache.Item{Key: "old", IntCount: i64(1), StringSet: strs("a", "b"), ExpiresAt: i64(now)})
		e.result(cache.Call{Op: cache.OpRemoveFromStringSet, Key: "old", Strings: strs("a"), EpochSeconds: f64(50)}, []string{})
		// reset_string_set only: the old expiry stays, the count too.
		e.want(cache.Item{Key: "old", IntCount: i64(1), ExpiresAt: i64(now)})

		e.seed(cache.Item{Key: "forever", StringSet: strs("a", "b")})
		e.result(cache.Call{Op: cache.OpRemoveFromStringSet, Key: "forever", Strings: strs("zz")}, []string{})
		e.want(cache.Item{Key: "forever"})

		e.result(cache.Call{Op: cache.OpRemoveFromStringSet, Key: "missing", Strings: strs("a")}, []string{})
		e.want(cache.Item{Key: "missing"})
	}},
	{"RemoveEmptyReturnsCurrentSetForceChecked", func(e *env) {
		e.seed(cache.Item{Key: "live", StringSet: strs("a"), ExpiresAt: i64(now + 1)})
		e.seed(cache.Item{Key: "old", StringSet: strs("a")})
		e.seed(cache.Item{Key: "gone", StringSet: strs("a"), ExpiresAt: i64(now - 1)})
		e.result(cache.Call{Op: cache.OpRemoveFromStringSet, Key: "live"}, []string{"a"})
		e.result(cache.Call{Op: cache.OpRemoveFromStringSet, Key: "old", Strings: []string{}}, []string{"a"})
		e.result(cache.Call{Op: cache.OpRemoveFromStringSet, Key: "gone"}, []string{})
		e.want(cache.Item{Key: "live", StringSet: strs("a"), ExpiresAt: i64(now + 1)})
		e.want(cache.Item{Key: "old", StringSet: strs("a")})
		e.want(cache.Item{Key: "gone", StringSet: strs("a"), ExpiresAt: i64(now - 1)})
	}},
	{"ResetStringSet", func(e *env) {
		e.seed(cache.Item{Key: "k", IntCount: i64(2), StringSet: strs("a"), Dictionary: str(`{}`), ExpiresAt: i64(now + 9)})
		e.result(cache.Call{Op: cache.OpResetStringSet, Key: "k"}, nil)
		e.want(cache.Item{Key: "k", IntCount: i64(2), Dictionary: str(`{}`), ExpiresAt: i64(now + 9)})
		e.result(cache.Call{Op: cache.OpResetStringSet, Key: "missing"}, nil)
		e.want(cache.Item{Key: "missing"})
	}},

	{"GetDictionary", func(e *env) {
		e.result(cache.Call{Op: cache.OpGetDictionary, Key: "missing"}, nil)
		e.wantMissing("missing")
		text := `{"ip": "10.0.0.1", "n": [1, 2.5, null], "ünï": "☃"}`
		e.seed(cache.Item{Key: "k", Dictionary: str(text), ExpiresAt: i64(now + 1)})
		e.result(cache.Call{Op: cache.OpGetDictionary, Key: "k", ForceTTLCheck: true}, text)
		e.seed(cache.Item{Key: "old", Dictionary: str(`{"a": 1}`), ExpiresAt: i64(now - 1)})
		e.result(cache.Call{Op: cache.OpGetDictionary, Key: "old"}, `{"a": 1}`)
		e.result(cache.Call{Op: cache.OpGetDictionary, Key: "old", ForceTTLCheck: true}, nil)
		e.seed(cache.Item{Key: "counter", IntCount: i64(1)})
		e.result(cache.Call{Op: cache.OpGetDictionary, Key: "counter"}, nil)
		e.seed(cache.Item{Key: "empty", Dictionary: str("")})
		e.result(cache.Call{Op: cache.OpGetDictionary, Key: "empty"}, nil)
		// json.dumps writes non-finite floats as NaN/Infinity and
		// json.loads reads them back.
		e.seed(cache.Item{Key: "nan", Dictionary: str(`{"a": NaN, "b": -Infinity, "c": "NaN"}`)})
		e.result(cache.Call{Op: cache.OpGetDictionary, Key: "nan"}, `{"a": NaN, "b": -Infinity, "c": "NaN"}`)
	}},
	{"GetDictionaryBadJSON", func(e *env) {
		e.seed(cache.Item{Key: "bad", Dictionary: str(`{"a": `), ExpiresAt: i64(now - 1)})
		e.fail(cache.Call{Op: cache.OpGetDictionary, Key: "bad"}, "ValueError", "", "could not be decoded into JSON")
		// The TTL check comes first: an expired bad value is just absent.
		e.result(cache.Call{Op: cache.OpGetDictionary, Key: "bad", ForceTTLCheck: true}, nil)
	}},
	{"PutDictionaryReplacesItem", func(e *env) {
		e.seed(cache.Item{Key: "k", IntCount: i64(3), StringSet: strs("a"), ExpiresAt: i64(now + 5)})
		e.result(cache.Call{Op: cache.OpPutDictionary, Key: "k", Dictionary: str(`{"a": 1}`)}, nil)
		e.want(cache.Item{Key: "k", Dictionary: str(`{"a": 1}`), ExpiresAt: i64(now + day90)})
		e.result(cache.Call{Op: cache.OpPutDictionary, Key: "k", Dictionary: str(`{}`), EpochSeconds: f64(1_900_000_000)}, nil)
		e.want(cache.Item{Key: "k", Dictionary: str(`{}`), ExpiresAt: i64(1_900_000_000)})
		e.result(cache.Call{Op: cache.OpGetDictionary, Key: "k"}, `{}`)
	}},
	{"PutDictionaryRejects", func(e *env) {
		e.seed(cache.Item{Key: "k", IntCount: i64(3)})
		e.fail(cache.Call{Op: cache.OpPutDictionary, Key: "k"}, "TypeError", "", "not a dictionary")
		e.fail(cache.Call{Op: cache.OpPutDictionary, Key: "k", Dictionary: str(`[1]`)}, "TypeError", "", "not a dictionary")
		e.fail(cache.Call{Op: cache.OpPutDictionary, Key: "k", Dictionary: str(`{"a": }`)}, "ValueError", "", "not JSON serializable")
		e.want(cache.Item{Key: "k", IntCount: i64(3)})
	}},

	{"ItemSizeLimit", func(e *env) {
		// A dictionary that makes the item exactly 400 KB is stored; one
		// byte more is refused as DynamoDB refuses it.
		fits := cache.Item{Key: "big", Dictionary: str(""), ExpiresAt: i64(now + day90)}
		pad := cache.MaxItemSize - fits.Size() - len(`{"a": ""}`)
		dict := `{"a": "` + strings.Repeat("x", pad) + `"}`
		e.result(cache.Call{Op: cache.OpPutDictionary, Key: "big", Dictionary: str(dict)}, nil)
		e.want(cache.Item{Key: "big", Dictionary: str(dict), ExpiresAt: i64(now + day90)})
		e.fail(cache.Call{Op: cache.OpPutDictionary, Key: "big", Dictionary: str(`{"a": "` + strings.Repeat("x", pad+1) + `"}`)},
			"CacheError", cache.CodeValidation, "Item size has exceeded the maximum allowed size")

		// An update that would grow an item past the limit fails whole.
		member := strings.Repeat("m", 200*1024)
		e.result(cache.Call{Op: cache.OpAddToStringSet, Key: "set", Strings: strs("a" + member)}, []string{"a" + member})
		e.fail(cache.Call{Op: cache.OpAddToStringSet, Key: "set", Strings: strs("b" + member)},
			"CacheError", cache.CodeValidation, "Item size to update has exceeded the maximum allowed size")
	}},
	{"KeyLimits", func(e *env) {
		e.fail(cache.Call{Op: cache.OpGetCounter, Key: ""}, "CacheError", cache.CodeValidation, "empty string value")
		e.fail(cache.Call{Op: cache.OpIncrementCounter, Key: ""}, "CacheError", cache.CodeValidation, "empty string value")
		long := strings.Repeat("k", cache.MaxKeySize)
		e.result(cache.Call{Op: cache.OpIncrementCounter, Key: long}, int64(1))
		e.fail(cache.Call{Op: cache.OpIncrementCounter, Key: long + "k"}, "CacheError", cache.CodeValidation, "2048")
	}},
	{"UnknownOp", func(e *env) {
		e.fail(cache.Call{Op: "get_everything", Key: "k"}, "ValueError", "", "get_everything")
	}},
	{"TraceStates", func(e *env) {
		e.seed(cache.Item{Key: "k", IntCount: i64(1), ExpiresAt: i64(now - 1)})
		_, op := e.do(cache.Call{Op: cache.OpIncrementCounter, Key: "k", Val: i64(4)})
		want := cache.Op{
			Before: cache.ItemState{Exists: true, Expired: true, Item: cache.Item{Key: "k", IntCount: i64(1), ExpiresAt: i64(now - 1)}},
			After:  cache.ItemState{Exists: true, Item: cache.Item{Key: "k", IntCount: i64(5), ExpiresAt: i64(now + day90)}},
		}
		if !reflect.DeepEqual(op.Before, want.Before) || !reflect.DeepEqual(op.After, want.After) {
			e.t.Errorf("trace states\n before %+v\n after  %+v\nwant\n before %+v\n after  %+v", op.Before, op.After, want.Before, want.After)
		}
		_, op = e.do(cache.Call{Op: cache.OpGetCounter, Key: "missing"})
		if op.Before.Exists || op.After.Exists {
			e.t.Errorf("trace of a missing key: %+v", op)
		}
	}},

	{"BackendUpdateSemantics", func(e *env) {
		ctx := context.Background()
		res, err := e.b.UpdateItem(ctx, "a", cache.Update{AddCount: i64(2), AddStrings: strs("x", "y")})
		if err != nil {
			e.t.Fatal(err)
		}
		want := cache.Item{Key: "a", IntCount: i64(2), StringSet: strs("x", "y")}
		if !res.Exists || !res.Item.Equal(want) || res.Written == e.readOnly {
			e.t.Errorf("UpdateItem on a missing key = %+v; want %s", res, show(want))
		}
		res, err = e.b.UpdateItem(ctx, "a", cache.Update{DeleteStrings: strs("x", "y", "z")})
		if err != nil {
			e.t.Fatal(err)
		}
		if want := (cache.Item{Key: "a", IntCount: i64(2)}); !res.Item.Equal(want) {
			e.t.Errorf("deleting every member left %s; want %s", show(res.Item), show(want))
		}
		if _, err := e.b.UpdateItem(ctx, "b", cache.Update{DeleteStrings: strs("x")}); err != nil {
			e.t.Fatal(err)
		}
		e.want(cache.Item{Key: "b"})
		if _, err := e.b.UpdateItem(ctx, "a", cache.Update{AddStrings: strs("x"), DeleteStrings: strs("y")}); err == nil {
			e.t.Error("ADD and DELETE of one attribute in one update succeeded; DynamoDB refuses overlapping paths")
		}
		if _, err := e.b.UpdateItem(ctx, "a", cache.Update{Remove: []string{cache.AttrIntCount, cache.AttrExpiresAt}}); err != nil {
			e.t.Fatal(err)
		}
		e.want(cache.Item{Key: "a"})
	}},
	{"BackendDelete", func(e *env) {
		ctx := context.Background()
		e.seed(cache.Item{Key: "a", IntCount: i64(1)})
		for _, key := range []string{"a", "a", "never"} {
			if _, err := e.b.DeleteItem(ctx, key); err != nil {
				e.t.Fatalf("DeleteItem(%q): %v", key, err)
			}
		}
		e.wantMissing("a")
	}},
	{"BackendRoundTrip", func(e *env) {
		for _, it := range []cache.Item{
			{Key: "full", IntCount: i64(-42), StringSet: strs("", " ", "a", "é", "日本"), Dictionary: str(`{"k": "v\n\"q\""}`), ExpiresAt: i64(4_102_444_800)},
			{Key: "big count", IntCount: i64(math.MaxInt64)},
			{Key: "zero", IntCount: i64(0), ExpiresAt: i64(0)},
			{Key: "key only"},
			{Key: "ünïcode/kéy#1"},
		} {
			e.seed(it)
			e.want(it)
		}
	}},
	{"Scan", func(e *env) {
		var keys []string
		for i := range 23 {
			keys = append(keys, fmt.Sprintf("user:%02d", i))
		}
		keys = append(keys, "user", "users:1", "ip:1", "x")
		for _, k := range keys {
			e.seed(cache.Item{Key: k, IntCount: i64(int64(len(k)))})
		}
		scan := func(prefix string, limit int) []string {
			var got []string
			err := e.kv.List(context.Background(), prefix, func(it cache.Item) bool {
				if it.IntCount == nil || *it.IntCount != int64(len(it.Key)) {
					e.t.Errorf("scan returned %s", show(it))
				}
				got = append(got, it.Key)
				return len(got) < limit
			})
			if err != nil {
				e.t.Fatalf("List(%q): %v", prefix, err)
			}
			slices.Sort(got)
			return got
		}
		var users []string
		for _, k := range keys {
			if strings.HasPrefix(k, "user:") {
				users = append(users, k)
			}
		}
		slices.Sort(users)
		if got := scan("user:", 1000); !slices.Equal(got, users) {
			e.t.Errorf("List(user:) = %v; want %v", got, users)
		}
		if got := scan("", 1000); len(got) != len(keys) {
			e.t.Errorf("List() returned %d keys; want %d", len(got), len(keys))
		}
		if got := scan("user:", 3); len(got) != 3 {
			e.t.Errorf("List stopped after %d items; want 3", len(got))
		}
		if got := scan("nope", 1000); len(got) != 0 {
			e.t.Errorf("List(nope) = %v", got)
		}
		if it, ok, err := e.kv.Get(context.Background(), "ip:1"); err != nil || !ok || it.Key != "ip:1" {
			e.t.Errorf("Get(ip:1) = %+v %v %v", it, ok, err)
		}
	}},
	{"ConcurrentIncrements", func(e *env) {
		// Every increment must see the one before it: the returned totals
		// are 1..n, each exactly once.
		const workers, each = 4, 20
		var mu sync.Mutex
		var got []int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					res, _, err := e.kv.Do(context.Background(), Now, cache.Call{Op: cache.OpIncrementCounter, Key: "hot"})
					if err != nil {
						e.t.Error(err)
						return
					}
					mu.Lock()
					got = append(got, res.(int64))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		slices.Sort(got)
		for i, v := range got {
			if v != int64(i+1) {
				e.t.Fatalf("concurrent increments returned %v; want 1..%d once each", got, workers*each)
			}
		}
		e.want(cache.Item{Key: "hot", IntCount: i64(workers * each), ExpiresAt: i64(now + day90)})
	}},
}
