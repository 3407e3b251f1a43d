package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rulebench/rulebench/engine/worker"
	"github.com/rulebench/rulebench/samples"
)

// generateCloudTrail writes n CloudTrail-like events, cycling through the
// bundled samples' CloudTrail events (bursts of AccessDenied, AssumeRole
// from new addresses, root logins...) with their times moved forward and
// principals and addresses varied so that the caches hold many keys.
func generateCloudTrail(tb testing.TB, dir string, n int) string {
	tb.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "events", "cloudtrail.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	// Real CloudTrail is mostly routine calls: the sample's stories are
	// mixed in at realistic rates (1% access denied, 3% AssumeRole, a root
	// login now and then) rather than replayed back to back.
	var benign, denied, assume, login []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(src), []byte("\n")) {
		var ev map[string]any
		if err := json.Unmarshal(line, &ev); err != nil {
			tb.Fatal(err)
		}
		switch {
		case ev["errorCode"] != nil:
			denied = append(denied, ev)
		case ev["eventName"] == "AssumeRole":
			assume = append(assume, ev)
		case ev["eventName"] == "ConsoleLogin":
			login = append(login, ev)
		default:
			benign = append(benign, ev)
		}
	}
	rng := rand.New(rand.NewSource(1))
	pick := func() map[string]any {
		switch x := rng.Intn(10000); {
		case x < 100 && len(denied) > 0:
			return denied[rng.Intn(len(denied))]
		case x < 400 && len(assume) > 0:
			return assume[rng.Intn(len(assume))]
		case x < 405 && len(login) > 0:
			return login[rng.Intn(len(login))]
		}
		return benign[rng.Intn(len(benign))]
	}
	path := filepath.Join(tb.TempDir(), "cloudtrail.jsonl")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		ev := pick()
		cycle := rng.Intn(1000)
		t := start.Add(time.Duration(i) * 50 * time.Millisecond)
		ev["p_event_time"] = t.Format("2006-01-02 15:04:05.000")
		ev["eventTime"] = t.Format(time.RFC3339)
		if ui, ok := ev["userIdentity"].(map[string]any); ok {
			if arn, ok := ui["arn"].(string); ok {
				base := arn
				if k := strings.LastIndex(arn, "#"); k >= 0 {
					base = arn[:k]
				}
				ui["arn"] = base + "#" + strconv.Itoa(cycle%500)
			}
		}
		if ip, ok := ev["sourceIPAddress"].(string); ok && strings.Count(ip, ".") == 3 {
			parts := strings.Split(ip, ".")
			parts[3] = strconv.Itoa(cycle % 250)
			ev["sourceIPAddress"] = strings.Join(parts, ".")
		}
		line, err := json.Marshal(ev)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(line)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	return path
}

// BenchmarkReplay replays RULEBENCH_REPLAY_EVENTS (default 1,000,000)
// CloudTrail-like events through the bundled rules with `rulebench run`
// (a built binary, so its memory can be measured) and with a plain
// single-process CPython loop over the same rules and events. Reports
// x_faster (baseline time / rulebench time) and the peak resident memory
// of rulebench with its workers.
func BenchmarkReplay(b *testing.B) {
	py, err := worker.FindPython(context.Background(), "")
	if err != nil {
		b.Skip(err)
	}
	if exec.Command(py.Path, "-c", "import yaml").Run() != nil {
		b.Skip("the baseline needs PyYAML in " + py.Path)
	}
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("RULEBENCH_REPLAY_EVENTS")); err == nil && v > 0 {
		n = v
	}
	repoDir, err := samples.Dir()
	if err != nil {
		b.Fatal(err)
	}
	events := generateCloudTrail(b, repoDir, n)
	bin := filepath.Join(b.TempDir(), "rulebench")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	harness, _ := filepath.Abs("../engine/worker/harness")

	var base, ours time.Duration
	var peak int64
	for i := 0; i < b.N; i++ {
		start := time.Now()
		out, err := exec.Command(py.Path, "testdata/baseline_replay.py", harness, repoDir, events).CombinedOutput()
		base += time.Since(start)
		var want struct{ Events, Matches, Errors int64 }
		if err != nil || json.Unmarshal(out, &want) != nil || want.Events != int64(n) {
			b.Fatalf("baseline: %v %s", err, out)
		}

		cmd := exec.Command(bin, "run", repoDir, "--events", events, "--matches=false", "--format", "json", "--progress", "never")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start = time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		stopWatch := watchRSS(cmd.Process.Pid, &peak)
		err = cmd.Wait()
		ours += time.Since(start)
		stopWatch()
		var got struct {
			Summary struct{ Events, Matches, Errors int64 }
		}
		if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
			b.Fatalf("rulebench: %v\n%s\n%.2000s", err, stderr.String(), stdout.String())
		}
		if got.Summary.Events != int64(n) || got.Summary.Matches != want.Matches || got.Summary.Errors != want.Errors {
			b.Fatalf("rulebench found %+v, the baseline %+v", got.Summary, want)
		}
	}
	b.ReportMetric(base.Seconds()/float64(b.N), "baseline_s")
	b.ReportMetric(ours.Seconds()/float64(b.N), "rulebench_s")
	b.ReportMetric(base.Seconds()/ours.Seconds(), "x_faster")
	b.ReportMetric(float64(peak)/(1<<20), "peak_rss_MB")
	b.ReportMetric(0, "ns/op")
}

// watchRSS samples the resident memory of pid and its children (the
// workers) until stopped, keeping the largest total in peak.
func watchRSS(pid int, peak *int64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			total := rss(pid)
			if kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); err == nil {
				for _, f := range strings.Fields(string(kids)) {
					if c, err := strconv.Atoi(f); err == nil {
						total += rss(c)
					}
				}
			}
			if total > *peak {
				*peak = total
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func rss(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
