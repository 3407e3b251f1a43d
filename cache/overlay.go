package cache

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// Overlay makes a Backend read-only: reads go to the backend unless the
// overlay holds the key, and writes change only the overlay, so rules can be
// run against a production table without touching it and still see their
// own writes. Every write reports Written=false.
type Overlay struct {
	b     Backend
	locks keyLocks

	mu sync.RWMutex
	// items holds every key written through the overlay; a nil entry is a
	// key deleted through it.
	items map[string]*Item
}

var _ Backend = (*Overlay)(nil)

// NewOverlay returns a read-only view of b.
func NewOverlay(b Backend) *Overlay {
	o := &Overlay{b: b, items: map[string]*Item{}}
	o.locks.init()
	return o
}

// Name implements Backend.
func (o *Overlay) Name() string { return o.b.Name() + " (read-only)" }

// Len returns how many keys the overlay shadows.
func (o *Overlay) Len() int {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return len(o.items)
}

// Reset drops every overlay write, so reads see the backend again.
func (o *Overlay) Reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.items = map[string]*Item{}
}

func (o *Overlay) lookup(key string) (it *Item, held bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	it, held = o.items[key]
	return it, held
}

func (o *Overlay) store(key string, it *Item) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.items[key] = it
}

// GetItem implements Backend.
func (o *Overlay) GetItem(ctx context.Context, key string) (Item, bool, error) {
	if it, held := o.lookup(key); held {
		if it == nil {
			return Item{}, false, nil
		}
		return it.Clone(), true, nil
	}
	return o.b.GetItem(ctx, key)
}

// PutItem implements Backend.
func (o *Overlay) PutItem(ctx context.Context, it Item) (WriteResult, error) {
	if err := ctx.Err(); err != nil {
		return WriteResult{}, err
	}
	if err := ValidatePut(it); err != nil {
		return WriteResult{}, err
	}
	defer o.locks.lock(it.Key)()
	c := it.Clone()
	o.store(it.Key, &c)
	return WriteResult{Item: it.Clone(), Exists: true}, nil
}

// UpdateItem implements Backend. The item it starts from comes from the
// overlay or, the first time, from the backend.
func (o *Overlay) UpdateItem(ctx context.Context, key string, u Update) (WriteResult, error) {
	if err := u.Validate(key); err != nil {
		return WriteResult{}, err
	}
	// The lock spans the backend read so two updates of one key cannot both
	// start from the backend's item and lose one another's change.
	defer o.locks.lock(key)()
	cur, exists, err := o.GetItem(ctx, key)
	if err != nil {
		return WriteResult{}, err
	}
	next, err := u.Apply(key, cur, exists)
	if err != nil {
		return WriteResult{}, err
	}
	o.store(key, &next)
	return WriteResult{Item: next.Clone(), Exists: true}, nil
}

// DeleteItem implements Backend.
func (o *Overlay) DeleteItem(ctx context.Context, key string) (WriteResult, error) {
	if err := ctx.Err(); err != nil {
		return WriteResult{}, err
	}
	if err := ValidateKey("DeleteItem", key); err != nil {
		return WriteResult{}, err
	}
	defer o.locks.lock(key)()
	o.store(key, nil)
	return WriteResult{}, nil
}

// Scan implements Backend: the backend's items with the overlay's laid over
// them. Overlay items are merged in key order, so a backend that scans in
// key order still does after the merge; from one that does not, every item
// still comes exactly once.
func (o *Overlay) Scan(ctx context.Context, prefix string, fn func(Item) bool) error {
	o.mu.RLock()
	shadowed := make(map[string]bool, len(o.items))
	var mine []Item
	for k, it := range o.items {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		shadowed[k] = true
		if it != nil {
			mine = append(mine, it.Clone())
		}
	}
	o.mu.RUnlock()
	slices.SortFunc(mine, func(a, b Item) int { return strings.Compare(a.Key, b.Key) })

	stopped := false
	err := o.b.Scan(ctx, prefix, func(it Item) bool {
		if shadowed[it.Key] {
			return true
		}
		for len(mine) > 0 && mine[0].Key < it.Key {
			if !fn(mine[0]) {
				stopped = true
				return false
			}
			mine = mine[1:]
		}
		if !fn(it) {
			stopped = true
			return false
		}
		return true
	})
	if err != nil || stopped {
		return err
	}
	for _, it := range mine {
		if !fn(it) {
			return nil
		}
	}
	return nil
}
