package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// Backend stores items the way DynamoDB does, one primitive operation at a
// time. KV builds the helper semantics on top, so every backend (memory,
// DynamoDB, read-only overlay) behaves the same for rules.
//
// Errors that a rule should see are *Error values; anything else is wrapped
// into a CacheError by KV.
type Backend interface {
	// Name identifies the backend in traces ("memory", "dynamodb:table").
	Name() string
	// GetItem reads one item with a strongly consistent read.
	GetItem(ctx context.Context, key string) (Item, bool, error)
	// PutItem replaces the whole item.
	PutItem(ctx context.Context, it Item) (WriteResult, error)
	// UpdateItem applies u (creating the item when missing) and returns the
	// whole item after it, like ReturnValues=ALL_NEW.
	UpdateItem(ctx context.Context, key string, u Update) (WriteResult, error)
	// DeleteItem removes the item; deleting a missing key is not an error.
	DeleteItem(ctx context.Context, key string) (WriteResult, error)
	// Scan calls fn for every item whose key begins with prefix, paging
	// through the table itself, until fn returns false. Memory backends go
	// in key order; DynamoDB in its own order.
	Scan(ctx context.Context, prefix string, fn func(Item) bool) error
}

// WriteResult is what one write left behind.
type WriteResult struct {
	// Item is the whole item after the write; meaningful when Exists.
	Item   Item
	Exists bool
	// Written is false when the write was kept out of the table (a
	// read-only overlay absorbed it).
	Written bool
}

// KV implements the helper functions (Store) and the cache view
// (Inspector) on a Backend.
type KV struct {
	b     Backend
	locks keyLocks
}

var (
	_ Store     = (*KV)(nil)
	_ Inspector = (*KV)(nil)
)

// New returns a KV answering calls from b.
func New(b Backend) *KV {
	kv := &KV{b: b}
	kv.locks.init()
	return kv
}

// Backend returns the backend the KV was built on.
func (kv *KV) Backend() Backend { return kv.b }

// List implements Inspector.
func (kv *KV) List(ctx context.Context, prefix string, fn func(Item) bool) error {
	return kv.b.Scan(ctx, prefix, fn)
}

// Get implements Inspector.
func (kv *KV) Get(ctx context.Context, key string) (Item, bool, error) {
	return kv.b.GetItem(ctx, key)
}

// Do answers one helper call as of now and records it. Calls on the same
// key are serialised, because several helpers decide what to write from
// the item they just read (the library does that in one conditional
// UpdateItem; here the read and the write must not interleave with another
// call's).
func (kv *KV) Do(ctx context.Context, now time.Time, call Call) (any, Op, error) {
	start := time.Now()
	op := Op{Op: call.Op, Key: call.Key, Now: now.Unix(), Backend: kv.b.Name()}
	if args, err := json.Marshal(call); err == nil {
		op.Args = args
	}
	defer kv.locks.lock(call.Key)()

	result, err := kv.do(ctx, now, call, &op)
	if err != nil {
		err = asError(call, err)
		op.Error = err.Error()
		op.After = op.Before
		result = nil
	}
	op.Result = result
	op.DurationNS = time.Since(start)
	return result, op, err
}

func (kv *KV) do(ctx context.Context, now time.Time, call Call, op *Op) (any, error) {
	if !knownOp(call.Op) {
		return nil, &Error{Type: "ValueError", Message: fmt.Sprintf("unknown cache operation %q", call.Op)}
	}
	cur, exists, err := kv.b.GetItem(ctx, call.Key)
	if err != nil {
		return nil, err
	}
	op.Before = state(cur, exists, now)
	op.After = op.Before

	// expired is SPEC §4's "expired": expiresAt set and <= now. live is
	// what the library's conditional writes require (an expiry not yet
	// reached); missing, expiry-less and expired items take the fallback.
	// The library's condition is expiresAt >= int(now), so in the one
	// second where expiresAt == now it still takes the live path; SPEC's
	// single definition of expired is followed here instead.
	expired := exists && cur.Expired(now)
	live := exists && cur.ExpiresAt != nil && !expired
	hidden := call.ForceTTLCheck && expired
	readSet := func(hidden bool) []string {
		if !exists || hidden || cur.StringSet == nil {
			return []string{}
		}
		return append([]string(nil), cur.StringSet...)
	}

	// write runs one backend write and records its outcome in the trace.
	write := func(res WriteResult, err error) (WriteResult, error) {
		if err != nil {
			return res, err
		}
		op.After = state(res.Item, res.Exists, now)
		op.Written = res.Written
		return res, nil
	}
	update := func(u Update) (WriteResult, error) {
		return write(kv.b.UpdateItem(ctx, call.Key, u))
	}
	put := func(it Item) (WriteResult, error) {
		return write(kv.b.PutItem(ctx, it))
	}
	expiry := func() (*int64, error) {
		v, err := ExpiryAt(call.EpochSeconds, now)
		if err != nil {
			return nil, err
		}
		return &v, nil
	}

	switch call.Op {
	case OpGetCounter:
		if !exists || hidden || cur.IntCount == nil {
			return int64(0), nil
		}
		return *cur.IntCount, nil

	case OpIncrementCounter:
		val := int64(1)
		if call.Val != nil {
			val = *call.Val
		}
		exp, err := expiry()
		if err != nil {
			return nil, err
		}
		res, err := update(Update{AddCount: &val, SetExpiresAt: exp})
		if err != nil {
			return nil, err
		}
		// The quirk rules depend on: outside a live item the library's
		// conditional update fails and its fallback returns val itself.
		if !live || res.Item.IntCount == nil {
			return val, nil
		}
		return *res.Item.IntCount, nil

	case OpResetCounter:
		_, err := update(Update{Remove: []string{AttrIntCount}})
		return nil, err

	case OpGetStringSet:
		return readSet(hidden), nil

	case OpPutStringSet:
		set := SortedSet(call.Strings)
		if set == nil {
			_, err := update(Update{Remove: []string{AttrStringSet}})
			return nil, err
		}
		exp, err := expiry()
		if err != nil {
			return nil, err
		}
		_, err = put(Item{Key: call.Key, StringSet: set, ExpiresAt: exp})
		return nil, err

	case OpAddToStringSet:
		set := SortedSet(call.Strings)
		if set == nil {
			return readSet(expired), nil
		}
		exp, err := expiry()
		if err != nil {
			return nil, err
		}
		res, err := update(Update{AddStrings: set, SetExpiresAt: exp})
		if err != nil {
			return nil, err
		}
		return setOf(res), nil

	case OpRemoveFromStringSet:
		set := SortedSet(call.Strings)
		if set == nil {
			return readSet(expired), nil
		}
		if !live {
			_, err := update(Update{Remove: []string{AttrStringSet}})
			if err != nil {
				return nil, err
			}
			return []string{}, nil
		}
		exp, err := expiry()
		if err != nil {
			return nil, err
		}
		res, err := update(Update{DeleteStrings: set, SetExpiresAt: exp})
		if err != nil {
			return nil, err
		}
		return setOf(res), nil

	case OpResetStringSet:
		_, err := update(Update{Remove: []string{AttrStringSet}})
		return nil, err

	case OpGetDictionary:
		if !exists || cur.Dictionary == nil || *cur.Dictionary == "" || hidden {
			return nil, nil
		}
		if !validPythonJSON(*cur.Dictionary) {
			return nil, &Error{Type: "ValueError",
				Message: "panther_detection_helpers.get_dictionary: Data found in DynamoDB could not be decoded into JSON"}
		}
		return *cur.Dictionary, nil

	case OpPutDictionary:
		if call.Dictionary == nil || !isJSONObject(*call.Dictionary) {
			return nil, &Error{Type: "TypeError",
				Message: "panther_detection_helpers.put_dictionary: value is not a dictionary"}
		}
		if !validPythonJSON(*call.Dictionary) {
			return nil, &Error{Type: "ValueError",
				Message: "panther_detection_helpers.put_dictionary: value is a dictionary, but it is not JSON serializable"}
		}
		exp, err := expiry()
		if err != nil {
			return nil, err
		}
		d := *call.Dictionary
		_, err = put(Item{Key: call.Key, Dictionary: &d, ExpiresAt: exp})
		return nil, err

	case OpSetKeyExpiration:
		exp, err := expiry()
		if err != nil {
			return nil, err
		}
		_, err = update(Update{SetExpiresAt: exp})
		return nil, err
	}
	panic("unreachable: knownOp accepted " + call.Op)
}

func knownOp(op string) bool {
	switch op {
	case OpGetCounter, OpIncrementCounter, OpResetCounter,
		OpGetStringSet, OpPutStringSet, OpAddToStringSet, OpRemoveFromStringSet, OpResetStringSet,
		OpGetDictionary, OpPutDictionary, OpSetKeyExpiration:
		return true
	}
	return false
}

func setOf(res WriteResult) []string {
	if !res.Exists || res.Item.StringSet == nil {
		return []string{}
	}
	return append([]string(nil), res.Item.StringSet...)
}

func state(it Item, exists bool, now time.Time) ItemState {
	if !exists {
		return ItemState{}
	}
	return ItemState{Exists: true, Item: it.Clone(), Expired: it.Expired(now)}
}

// asError makes every failure an *Error the harness can raise, keeping the
// backend's own *Error (its message is what botocore would have said).
func asError(call Call, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{
		Type:    "CacheError",
		Message: fmt.Sprintf("%s %q: %v", call.Op, call.Key, err),
		Err:     err,
	}
}

// keyLocks serialises work per key without a lock per key: keys hash onto
// a fixed set of mutexes, so unrelated keys rarely wait on each other.
type keyLocks struct {
	seed maphash.Seed
	mu   [64]sync.Mutex
}

func (l *keyLocks) init() { l.seed = maphash.MakeSeed() }

func (l *keyLocks) lock(key string) (unlock func()) {
	m := &l.mu[maphash.String(l.seed, key)%uint64(len(l.mu))]
	m.Lock()
	return m.Unlock
}
