// Package mocks holds in-memory stand-ins for the services rules reach.
package mocks

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/rulebench/rulebench/cache"
)

// Cache is an in-memory DynamoDB table with Panther's key-value layout. It
// behaves as DynamoDB does where rules can tell (an update of a missing key
// creates it, even a REMOVE-only one; removing the last member of a string
// set removes the attribute; the 400 KB item and 2 KB key limits), is safe
// for concurrent use, and keeps about a hundred bytes per counter so a
// replay can hold millions of keys.
type Cache struct {
	mu    sync.RWMutex
	items map[string]entry
	// sorted caches the keys in order for Scan; nil after a key is added or
	// removed, rebuilt on the next Scan. Updates of existing keys, the
	// common case, keep it.
	sorted []string
}

var _ cache.Backend = (*Cache)(nil)

// entry is an item without its key (the map holds that), laid out for
// size: counters, the bulk of most caches, need no allocation beyond the
// map slot. Sets and dictionaries live behind ext. An entry and the ext it
// points to are never modified once stored, so snapshots can share them.
type entry struct {
	count   int64
	expires int64
	flags   uint8
	ext     *ext
}

type ext struct {
	set  []string
	dict string
}

const (
	hasCount uint8 = 1 << iota
	hasExpires
	hasDict
)

func toEntry(it cache.Item) entry {
	var e entry
	if it.IntCount != nil {
		e.count, e.flags = *it.IntCount, e.flags|hasCount
	}
	if it.ExpiresAt != nil {
		e.expires, e.flags = *it.ExpiresAt, e.flags|hasExpires
	}
	if len(it.StringSet) > 0 || it.Dictionary != nil {
		e.ext = &ext{set: slices.Clone(it.StringSet)}
		if it.Dictionary != nil {
			e.ext.dict, e.flags = *it.Dictionary, e.flags|hasDict
		}
	}
	return e
}

func (e entry) item(key string) cache.Item {
	it := cache.Item{Key: key}
	if e.flags&hasCount != 0 {
		v := e.count
		it.IntCount = &v
	}
	if e.flags&hasExpires != 0 {
		v := e.expires
		it.ExpiresAt = &v
	}
	if e.ext != nil {
		it.StringSet = slices.Clone(e.ext.set)
		if e.flags&hasDict != 0 {
			v := e.ext.dict
			it.Dictionary = &v
		}
	}
	return it
}

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{items: map[string]entry{}}
}

// Name implements cache.Backend.
func (c *Cache) Name() string { return "memory" }

// Len returns the number of items.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items)
}

// Get returns one item.
func (c *Cache) Get(key string) (cache.Item, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.items[key]
	if !ok {
		return cache.Item{}, false
	}
	return e.item(key), true
}

// List returns the items whose key starts with prefix, in key order.
func (c *Cache) List(prefix string) []cache.Item {
	var out []cache.Item
	c.scan(prefix, func(it cache.Item) bool {
		out = append(out, it)
		return true
	})
	return out
}

// Clear removes every item.
func (c *Cache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = map[string]entry{}
	c.sorted = nil
}

// set stores e under key; callers hold c.mu.
func (c *Cache) set(key string, e entry) {
	if _, ok := c.items[key]; !ok {
		c.sorted = nil
	}
	c.items[key] = e
}

// GetItem implements cache.Backend.
func (c *Cache) GetItem(ctx context.Context, key string) (cache.Item, bool, error) {
	if err := ctx.Err(); err != nil {
		return cache.Item{}, false, err
	}
	if err := cache.ValidateKey("GetItem", key); err != nil {
		return cache.Item{}, false, err
	}
	it, ok := c.Get(key)
	return it, ok, nil
}

// PutItem implements cache.Backend.
func (c *Cache) PutItem(ctx context.Context, it cache.Item) (cache.WriteResult, error) {
	if err := ctx.Err(); err != nil {
		return cache.WriteResult{}, err
	}
	if err := cache.ValidatePut(it); err != nil {
		return cache.WriteResult{}, err
	}
	e := toEntry(it)
	c.mu.Lock()
	c.set(it.Key, e)
	c.mu.Unlock()
	return cache.WriteResult{Item: e.item(it.Key), Exists: true, Written: true}, nil
}

// UpdateItem implements cache.Backend. The new item is computed in full
// before it replaces the old one, so a rejected update changes nothing.
func (c *Cache) UpdateItem(ctx context.Context, key string, u cache.Update) (cache.WriteResult, error) {
	if err := ctx.Err(); err != nil {
		return cache.WriteResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old, exists := c.items[key]
	next, err := u.Apply(key, old.item(key), exists)
	if err != nil {
		return cache.WriteResult{}, err
	}
	c.set(key, toEntry(next))
	return cache.WriteResult{Item: next, Exists: true, Written: true}, nil
}

// DeleteItem implements cache.Backend.
func (c *Cache) DeleteItem(ctx context.Context, key string) (cache.WriteResult, error) {
	if err := ctx.Err(); err != nil {
		return cache.WriteResult{}, err
	}
	if err := cache.ValidateKey("DeleteItem", key); err != nil {
		return cache.WriteResult{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		delete(c.items, key)
		c.sorted = nil
	}
	return cache.WriteResult{Written: true}, nil
}

// Scan implements cache.Backend, in key order. fn runs without the lock
// held, so it may call back into the cache.
func (c *Cache) Scan(ctx context.Context, prefix string, fn func(cache.Item) bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.scan(prefix, fn)
	return nil
}

// scanBatch bounds how many items Scan copies under one hold of the lock,
// so a long listing does not stall writers.
const scanBatch = 256

func (c *Cache) scan(prefix string, fn func(cache.Item) bool) {
	keys := c.sortedKeys()
	i := sort.SearchStrings(keys, prefix)
	batch := make([]cache.Item, 0, scanBatch)
	for i < len(keys) && strings.HasPrefix(keys[i], prefix) {
		batch = batch[:0]
		c.mu.RLock()
		for ; i < len(keys) && len(batch) < scanBatch && strings.HasPrefix(keys[i], prefix); i++ {
			// A key deleted since the listing started is skipped.
			if e, ok := c.items[keys[i]]; ok {
				batch = append(batch, e.item(keys[i]))
			}
		}
		c.mu.RUnlock()
		for _, it := range batch {
			if !fn(it) {
				return
			}
		}
	}
}

// sortedKeys returns the keys in order; the slice is never modified, so it
// stays valid for the caller after the lock is released.
func (c *Cache) sortedKeys() []string {
	c.mu.RLock()
	keys := c.sorted
	c.mu.RUnlock()
	if keys != nil {
		return keys
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sorted == nil {
		keys := make([]string, 0, len(c.items))
		for k := range c.items {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		c.sorted = keys
	}
	return c.sorted
}

// Snapshot is the cache's content at one instant. It does not change when
// the cache does.
type Snapshot struct {
	items map[string]entry
}

// Snapshot copies the cache's content. Set members and dictionaries are
// shared, not copied: stored entries are never modified in place.
func (c *Cache) Snapshot() Snapshot {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return Snapshot{items: cloneMap(c.items)}
}

// Restore replaces the cache's content with s; s stays usable.
func (c *Cache) Restore(s Snapshot) {
	items := cloneMap(s.items)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = items
	c.sorted = nil
}

func cloneMap(m map[string]entry) map[string]entry {
	out := make(map[string]entry, len(m))
	for k, e := range m {
		out[k] = e
	}
	return out
}

// Len returns the number of items in the snapshot.
func (s Snapshot) Len() int { return len(s.items) }

// Get returns one item of the snapshot.
func (s Snapshot) Get(key string) (cache.Item, bool) {
	e, ok := s.items[key]
	if !ok {
		return cache.Item{}, false
	}
	return e.item(key), true
}

// ChangeKind says how a key differs between two snapshots.
type ChangeKind string

// Kinds of change.
const (
	Added   ChangeKind = "added"
	Removed ChangeKind = "removed"
	Changed ChangeKind = "changed"
)

// Change is one key that differs between two snapshots.
type Change struct {
	Key  string     `json:"key"`
	Kind ChangeKind `json:"kind"`
	// Before is nil when the key was added, After when it was removed.
	Before *cache.Item `json:"before,omitempty"`
	After  *cache.Item `json:"after,omitempty"`
}

// Diff returns how b differs from a, in key order.
func Diff(a, b Snapshot) []Change {
	var out []Change
	for k, ea := range a.items {
		before := ea.item(k)
		eb, ok := b.items[k]
		if !ok {
			out = append(out, Change{Key: k, Kind: Removed, Before: &before})
			continue
		}
		if after := eb.item(k); !before.Equal(after) {
			out = append(out, Change{Key: k, Kind: Changed, Before: &before, After: &after})
		}
	}
	for k, eb := range b.items {
		if _, ok := a.items[k]; !ok {
			after := eb.item(k)
			out = append(out, Change{Key: k, Kind: Added, After: &after})
		}
	}
	slices.SortFunc(out, func(x, y Change) int { return strings.Compare(x.Key, y.Key) })
	return out
}

// fileFormat names the cache file format, so a file from something else is
// refused instead of loading as an empty cache.
const fileFormat = "rulebench-cache/1"

// SaveFile writes the cache to path as JSON: one item per line, in key
// order, with Panther's attribute names, so it can be read, diffed and
// loaded again to replay a demo. The file is replaced atomically.
func (c *Cache) SaveFile(path string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	w := bufio.NewWriter(tmp)
	if err := c.write(w); err != nil {
		tmp.Close()
		return fmt.Errorf("save cache %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("save cache %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save cache %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save cache: %w", err)
	}
	return nil
}

func (c *Cache) write(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "{\"format\": %q, \"items\": [", fileFormat); err != nil {
		return err
	}
	sep := "\n"
	var err error
	c.scan("", func(it cache.Item) bool {
		var line []byte
		if line, err = json.Marshal(it); err != nil {
			return false
		}
		if _, err = fmt.Fprintf(w, "%s  %s", sep, line); err != nil {
			return false
		}
		sep = ",\n"
		return true
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n]}\n")
	return err
}

type file struct {
	Format string       `json:"format"`
	Items  []cache.Item `json:"items"`
}

// LoadFile replaces the cache's content with the items saved at path. On
// any error the cache is left as it was.
func (c *Cache) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		// A *PathError already names the file, and kept bare it still
		// satisfies os.IsNotExist for callers treating a missing file as
		// an empty cache.
		return err
	}
	items, err := decodeFile(data)
	if err != nil {
		return fmt.Errorf("load cache %s: %w", path, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = items
	c.sorted = nil
	return nil
}

func decodeFile(data []byte) (map[string]entry, error) {
	var f file
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if f.Format != fileFormat {
		return nil, fmt.Errorf("format is %q, want %q", f.Format, fileFormat)
	}
	items := make(map[string]entry, len(f.Items))
	for i, it := range f.Items {
		if _, dup := items[it.Key]; dup {
			return nil, fmt.Errorf("item %d: key %q appears twice", i, it.Key)
		}
		// Hand-edited files may list members in any order, twice, or not
		// at all; the stored form is sorted, distinct and absent when empty.
		it.StringSet = cache.SortedSet(it.StringSet)
		if err := cache.ValidatePut(it); err != nil {
			return nil, fmt.Errorf("item %d (key %q): %w", i, it.Key, err)
		}
		items[it.Key] = toEntry(it)
	}
	return items, nil
}
