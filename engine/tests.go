package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/engine/worker"
)

// TestOptions narrow and check a test run.
type TestOptions struct {
	// TestName runs only the tests with this name.
	TestName string
	// MinimumTests fails detections with fewer tests; above 1 it also
	// requires at least one positive and one negative test.
	MinimumTests int
	// OnReport receives each detection's report as soon as it is complete
	// (calls are serialized).
	OnReport func(DetectionReport)
}

// DetectionReport is one detection's test outcome.
type DetectionReport struct {
	Detection *repo.Detection
	Tests     []TestResult
	// LoadError is set when the module failed to import (every test then
	// fails with it).
	LoadError *PyError
	// Problems are detection-level failures, such as too few tests.
	Problems []string
	Duration time.Duration
}

// Passed reports whether every test passed and there were no problems.
func (r DetectionReport) Passed() bool {
	if r.LoadError != nil || len(r.Problems) > 0 {
		return false
	}
	for _, t := range r.Tests {
		if !t.Passed {
			return false
		}
	}
	return true
}

// Counts returns the number of passed and failed tests.
func (r DetectionReport) Counts() (passed, failed int) {
	for _, t := range r.Tests {
		if t.Passed {
			passed++
		} else {
			failed++
		}
	}
	return passed, failed
}

// RunTests runs the unit tests of every detection in dets, spread over the
// workers, each test against its own empty cache. Reports come back in the
// order of dets.
func (e *Engine) RunTests(ctx context.Context, dets []*repo.Detection, opts TestOptions) ([]DetectionReport, error) {
	if e.opts.NewTestStore == nil {
		return nil, errors.New("run tests: engine has no test cache (Options.NewTestStore)")
	}
	reports := make([]DetectionReport, len(dets))
	chunks := e.testChunks(dets)
	next := make(chan []int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < e.pool.Size(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range next {
				err := e.testChunk(ctx, dets, chunk, opts, reports)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if opts.OnReport != nil {
					for _, i := range chunk {
						opts.OnReport(reports[i])
					}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, c := range chunks {
		select {
		case next <- c:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	for i, d := range dets {
		if reports[i].Detection == nil {
			reports[i] = DetectionReport{Detection: d}
		}
	}
	return reports, firstErr
}

// testChunks groups detections into requests: one worker round trip carries
// several detections, so workers don't sit idle between small requests.
// Detections already loaded in a worker stay with it; the rest are cut into
// chunks small enough to keep every worker busy to the end.
func (e *Engine) testChunks(dets []*repo.Detection) [][]int {
	size := len(dets) / (e.pool.Size() * 8)
	if size < 1 {
		size = 1
	}
	if size > 24 {
		size = 24
	}
	homed := map[int][]int{}
	var homeless []int
	for i, d := range dets {
		if h, ok := e.pool.HomeOf(d.ID); ok {
			homed[h] = append(homed[h], i)
		} else {
			homeless = append(homeless, i)
		}
	}
	var chunks [][]int
	cut := func(list []int) {
		for len(list) > 0 {
			n := min(size, len(list))
			chunks = append(chunks, list[:n])
			list = list[n:]
		}
	}
	for h := 0; h < e.pool.Size(); h++ {
		cut(homed[h])
	}
	cut(homeless)
	return chunks
}

func (e *Engine) testChunk(ctx context.Context, dets []*repo.Detection, chunk []int, opts TestOptions, reports []DetectionReport) error {
	started := time.Now()
	type entry struct {
		index int
		tests []repo.Test
		job   *job
	}
	var entries []entry
	var jobs []*job
	for _, i := range chunk {
		d := dets[i]
		var tests []repo.Test
		for _, t := range d.Tests {
			if opts.TestName == "" || t.Name == opts.TestName {
				tests = append(tests, t)
			}
		}
		en := entry{index: i, tests: tests}
		if len(tests) > 0 {
			evs := make([]json.RawMessage, len(tests))
			for k, t := range tests {
				evs[k] = t.Data
			}
			j := newJob(d, evs)
			stores := make([]cache.Store, len(tests))
			j.store = func(k int) cache.Store {
				// Each test starts with an empty cache, made on first use.
				if stores[k] == nil {
					stores[k] = e.opts.NewTestStore()
				}
				return stores[k]
			}
			j.mocks = func(k int) []worker.Mock { return workerMocks(tests[k].Mocks) }
			en.job = j
			jobs = append(jobs, j)
		}
		entries = append(entries, en)
	}
	var err error
	if len(jobs) > 0 {
		err = e.run(ctx, jobs, runOptions{alert: true, clock: e.opts.Clock, loadStore: e.opts.NewTestStore()})
	}
	elapsed := time.Since(started)
	for _, en := range entries {
		d := dets[en.index]
		report := DetectionReport{Detection: d, Problems: minimumTestProblems(d, opts.MinimumTests)}
		var total time.Duration
		for k, t := range en.tests {
			r := en.job.results[k]
			if r == nil {
				r = failedResult(d.ID, fmt.Errorf("not run: %w", errOrCancelled(err)))
			}
			total += r.Duration
			report.Tests = append(report.Tests, judge(d, t, r))
		}
		if info, ok := e.LoadInfo(d.ID); ok && info.Error != nil {
			report.LoadError = info.Error
		}
		// Time spent in this detection's own code, or the request's share.
		report.Duration = total
		if total == 0 && len(entries) > 0 {
			report.Duration = elapsed / time.Duration(len(entries))
		}
		reports[en.index] = report
	}
	return err
}

func errOrCancelled(err error) error {
	if err == nil {
		return context.Canceled
	}
	return err
}

func minimumTestProblems(d *repo.Detection, minimum int) []string {
	if minimum <= 0 {
		return nil
	}
	var problems []string
	if len(d.Tests) < minimum {
		problems = append(problems, fmt.Sprintf("has %d test(s), at least %d required", len(d.Tests), minimum))
	}
	if minimum > 1 {
		var positive, negative bool
		for _, t := range d.Tests {
			alerts := t.ExpectedResult
			if d.Kind == repo.KindPolicy {
				alerts = !alerts
			}
			if alerts {
				positive = true
			} else {
				negative = true
			}
		}
		if !positive {
			problems = append(problems, "needs at least one positive test (one that raises an alert)")
		}
		if !negative {
			problems = append(problems, "needs at least one negative test (one that raises no alert)")
		}
	}
	return problems
}
