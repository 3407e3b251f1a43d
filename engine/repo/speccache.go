package repo

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// specCache remembers parsed specs between runs, keyed by file identity
// (size, modification and change times), the way Python keeps bytecode: a
// repository of thousands of specs then loads in milliseconds when nothing
// changed, and only edited files are parsed again.
type specCache struct {
	path    string
	mu      sync.Mutex
	entries map[string]cachedSpec
	dirty   bool
}

type cachedSpec struct {
	Stamp fileStamp
	// Exactly one of these is set.
	Detection *Detection
	Global    *Global
	Model     *DataModel
	Item      *Item
	ErrLine   int
	ErrText   string
	NotSpec   bool
	ID        string
	IDLine    int
}

type fileStamp struct {
	Size, Mtime, Ctime int64
}

// specCacheVersion changes whenever parsed's shape or meaning changes.
const specCacheVersion = "specs-v1"

func stampOf(info os.FileInfo) fileStamp {
	s := fileStamp{Size: info.Size(), Mtime: info.ModTime().UnixNano()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		s.Ctime = ctimeNanos(st)
	}
	return s
}

// openSpecCache loads the cache for a repository root; a missing or
// unreadable cache is simply empty.
func openSpecCache(root string) *specCache {
	base, err := os.UserCacheDir()
	if err != nil || os.Getenv("RULEBENCH_NO_SPEC_CACHE") != "" {
		return nil
	}
	sum := sha256.Sum256([]byte(specCacheVersion + "\x00" + root))
	c := &specCache{
		path:    filepath.Join(base, "rulebench", "specs", hex.EncodeToString(sum[:12])+".gob"),
		entries: map[string]cachedSpec{},
	}
	if data, err := os.ReadFile(c.path); err == nil {
		if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&c.entries); err != nil {
			c.entries = map[string]cachedSpec{}
		}
	}
	return c
}

func (c *specCache) get(file string, stamp fileStamp) (parsed, bool) {
	if c == nil {
		return parsed{}, false
	}
	c.mu.Lock()
	e, ok := c.entries[file]
	c.mu.Unlock()
	if !ok || e.Stamp != stamp {
		return parsed{}, false
	}
	p := parsed{id: e.ID, idLine: e.IDLine, detection: e.Detection, global: e.Global, model: e.Model, item: e.Item}
	switch {
	case e.NotSpec:
		p.err = &LoadError{File: file, Err: errNotSpec}
	case e.ErrText != "":
		p.err = &LoadError{File: file, Line: e.ErrLine, Err: errors.New(e.ErrText)}
	}
	// The Python file a spec names may have gone since it was cached.
	for _, py := range p.pythonFiles() {
		if _, err := os.Stat(py); err != nil {
			return parsed{}, false
		}
	}
	return p, true
}

func (c *specCache) put(file string, stamp fileStamp, p parsed) {
	if c == nil {
		return
	}
	e := cachedSpec{Stamp: stamp, ID: p.id, IDLine: p.idLine, Detection: p.detection, Global: p.global, Model: p.model, Item: p.item}
	if p.err != nil {
		if errors.Is(p.err.Err, errNotSpec) {
			e.NotSpec = true
		} else {
			e.ErrLine, e.ErrText = p.err.Line, p.err.Err.Error()
		}
	}
	c.mu.Lock()
	c.entries[file] = e
	c.dirty = true
	c.mu.Unlock()
}

// save writes the cache back, keeping only files still in the repository.
func (c *specCache) save(files []string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) != len(files) {
		keep := make(map[string]cachedSpec, len(files))
		for _, f := range files {
			if e, ok := c.entries[f]; ok {
				keep[f] = e
			}
		}
		c.dirty = c.dirty || len(keep) != len(c.entries)
		c.entries = keep
	}
	if !c.dirty {
		return
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(c.entries); err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return
	}
	tmp := c.path + ".tmp" + randomSuffix()
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return
	}
	if err := os.Rename(tmp, c.path); err != nil {
		os.Remove(tmp)
	}
}

func (p parsed) pythonFiles() []string {
	switch {
	case p.detection != nil:
		return []string{p.detection.PythonFile}
	case p.global != nil:
		return []string{p.global.PythonFile}
	case p.model != nil && p.model.PythonFile != "":
		return []string{p.model.PythonFile}
	}
	return nil
}

func randomSuffix() string {
	return strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
}
