package events

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// writeEvents writes n CloudTrail events, each with its own eventID, as
// JSONL (or as a pretty-printed-style array), gzipped if the name ends
// in .gz. It streams, so the benchmarks' own memory stays flat too.
func writeEvents(b *testing.B, dir, name string, n int) (path string, size int64) {
	b.Helper()
	path = filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(name, ".gz") {
		zw = gzip.NewWriter(f)
		w = zw
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	head, tail, _ := strings.Cut(cloudTrailEvent, `"eventID":"`)
	array := strings.Contains(name, ".json") && !strings.Contains(name, ".jsonl")
	if array {
		bw.WriteString("[\n")
	}
	for i := range n {
		sep := "\n"
		if array {
			bw.WriteString("  ")
			if i < n-1 {
				sep = ",\n"
			}
		}
		fmt.Fprintf(bw, "%s\"eventID\":\"%08d%s%s", head, i, tail[8:], sep)
	}
	if array {
		bw.WriteString("]\n")
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, fi.Size()
}

// readCount reads every event of path and returns how many there were.
func readCount(b *testing.B, path string, each func(n int64)) int64 {
	r, err := Open([]string{path})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var n int64
	for {
		_, err := r.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
		if each != nil {
			each(n)
		}
	}
}

// BenchmarkReader reads 100k CloudTrail events (~1.6 KB each); one op is
// the whole file. allocs/event should be 1: the copy handed to the caller.
func BenchmarkReader(b *testing.B) {
	const n = 100_000
	for _, name := range []string{"events.jsonl", "events.jsonl.gz", "events.json"} {
		b.Run(name, func(b *testing.B) {
			path, size := writeEvents(b, b.TempDir(), name, n)
			b.SetBytes(size)
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				if got := readCount(b, path, nil); got != n {
					b.Fatalf("read %d events, want %d", got, n)
				}
			}
			runtime.ReadMemStats(&after)
			events := float64(b.N) * n
			b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/events, "allocs/event")
		})
	}
}

// BenchmarkMemoryFlat shows that memory does not grow with the input: the
// live heap above the baseline, sampled after a GC every 5k events, must be
// about the same (buffers plus one event) for 20x more input.
func BenchmarkMemoryFlat(b *testing.B) {
	for _, tc := range []struct {
		name  string
		lines int
	}{
		{"events.jsonl", 10_000},
		{"events.jsonl", 200_000},
		{"events.jsonl.gz", 200_000},
		{"events.json", 200_000},
	} {
		b.Run(fmt.Sprintf("%s/%d", tc.name, tc.lines), func(b *testing.B) {
			path, size := writeEvents(b, b.TempDir(), tc.name, tc.lines)
			var ms runtime.MemStats
			var peak uint64
			for b.Loop() {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				base := ms.HeapAlloc
				readCount(b, path, func(n int64) {
					if n%5000 == 0 {
						runtime.GC()
						runtime.ReadMemStats(&ms)
						if ms.HeapAlloc > base {
							peak = max(peak, ms.HeapAlloc-base)
						}
					}
				})
			}
			b.ReportMetric(float64(size)/(1<<20), "input-MB")
			b.ReportMetric(float64(peak)/(1<<10), "peak-live-KB")
		})
	}
}
