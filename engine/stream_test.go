package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rulebench/rulebench/engine/events"
	"github.com/rulebench/rulebench/engine/repo"
)

// A counting rule whose every alert depends on the order its events reach
// the cache: it alerts on the 3rd, 6th, 9th... failure of each user.
var streamRepo = map[string]string{
	"c.yml": ruleSpec("Every3", "c.py", ""),
	"c.py": `
		import os
		from panther_detection_helpers.caching import increment_counter
		def rule(event):
		    if event.get("crash") == os.environ.get("RULEBENCH_TEST_CRASH", "none"):
		        os._exit(9)
		    if event.get("kind") != "fail":
		        return False
		    return increment_counter("fails-" + event.get("user"), epoch_seconds=86400) % 3 == 0
		def title(event):
		    return "user %s seq %s" % (event.get("user"), event.get("n"))
	`,
	"all.yml": ruleSpec("Everything", "all.py", ""),
	"all.py": `
		def rule(event):
		    return event.get("n") % 100 == 0
	`,
}

func writeEvents(t testing.TB, n int, extra func(i int) string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		if line := extra(i); line != "" {
			b.WriteString(line + "\n")
			continue
		}
		kind := "ok"
		if i%2 == 0 {
			kind = "fail"
		}
		fmt.Fprintf(&b, `{"p_log_type": "Test.Log", "n": %d, "kind": %q, "user": "u%d"}`+"\n", i, kind, i%7)
	}
	p := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type streamOutcome struct {
	matches []string
	errors  []string
	bad     []string
	summary *StreamSummary
}

func replayWith(t *testing.T, workers int, path string, env ...string) streamOutcome {
	t.Helper()
	e, r := newEngine(t, streamRepo, withWorkers(workers), func(o *Options) { o.Env = env })
	rd, err := events.Open([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out streamOutcome
	sum, err := e.Stream(context.Background(), rd, StreamOptions{
		Detections: r.Detections, Store: memoryStore(), RoundSize: 64,
		OnResult: func(sr StreamResult) {
			if sr.Result.Error != nil {
				out.errors = append(out.errors, fmt.Sprintf("%s@%d %s", sr.Detection.ID, sr.Event.Line, sr.Result.Error.Type))
				return
			}
			out.matches = append(out.matches, fmt.Sprintf("%s@%d %s", sr.Detection.ID, sr.Event.Line, sr.Result.Alert.Title))
		},
		OnBad: func(ev events.Event, err error) { out.bad = append(out.bad, err.Error()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	out.summary = sum
	return out
}

func TestStreamResultsDoNotDependOnWorkers(t *testing.T) {
	path := writeEvents(t, 2000, func(i int) string {
		if i == 777 {
			return `{"p_log_type": "Test.Log", "n": 777, oops}`
		}
		return ""
	})
	one := replayWith(t, 1, path)
	four := replayWith(t, 4, path)
	if len(one.matches) < 100 {
		t.Fatalf("too few matches to compare: %d", len(one.matches))
	}
	if strings.Join(one.matches, "\n") != strings.Join(four.matches, "\n") {
		t.Errorf("1 and 4 workers disagree: %d vs %d matches", len(one.matches), len(four.matches))
	}
	if len(one.bad) != 1 || !strings.Contains(one.bad[0], "events.jsonl:778") || len(four.bad) != 1 {
		t.Errorf("bad events: %v / %v", one.bad, four.bad)
	}
	if one.summary.Events != 2000 {
		t.Errorf("events = %d", one.summary.Events)
	}
	for _, p := range four.summary.Profiles {
		switch p.Detection.ID {
		case "Every3":
			// Evaluated on every parsed event; calls the cache on half.
			if p.Events != 1999 || p.CacheCalls != 1000 || p.CacheCallsUnmatched == 0 {
				t.Errorf("Every3 profile %+v", p)
			}
			if p.Mean() <= 0 || p.Percentile(0.99) < p.Percentile(0.5) {
				t.Errorf("Every3 timings mean %v p50 %v p99 %v", p.Mean(), p.Percentile(0.5), p.Percentile(0.99))
			}
		case "Everything":
			if p.Matched != 20 || p.CacheCalls != 0 {
				t.Errorf("Everything profile %+v", p)
			}
		}
	}
}

// A worker dying mid-replay costs the event it was on; every other event is
// still evaluated exactly once against the cache.
func TestStreamSurvivesACrash(t *testing.T) {
	path := writeEvents(t, 600, func(i int) string {
		if i == 301 {
			return `{"p_log_type": "Test.Log", "n": 301, "kind": "ok", "user": "u0", "crash": "boom"}`
		}
		return ""
	})
	clean := replayWith(t, 2, path)
	crashed := replayWith(t, 2, path, "RULEBENCH_TEST_CRASH=boom")
	if len(crashed.errors) != 1 || !strings.Contains(crashed.errors[0], "Every3@302 "+ErrTypeCrash) {
		t.Fatalf("errors = %v", crashed.errors)
	}
	// Event 301 is not a failure, so the counts and therefore every match
	// are the same as without the crash (Everything's match on event 300
	// included).
	if strings.Join(clean.matches, "\n") != strings.Join(crashed.matches, "\n") {
		t.Errorf("matches differ after the crash:\nclean   %v\ncrashed %v", clean.matches, crashed.matches)
	}
}

func TestStreamRoutesByLogTypeOrEverything(t *testing.T) {
	e, r := newEngine(t, streamRepo, withWorkers(2))
	path := writeEvents(t, 10, func(i int) string {
		if i == 0 {
			return `{"p_log_type": "Other.Log", "n": 0, "kind": "fail", "user": "x"}`
		}
		return ""
	})
	count := func(all bool) int64 {
		rd, _ := events.Open([]string{path})
		defer rd.Close()
		sum, err := e.Stream(context.Background(), rd, StreamOptions{Detections: []*repo.Detection{r.Detection("Everything")}, AllEvents: all, Store: memoryStore()})
		if err != nil {
			t.Fatal(err)
		}
		return sum.Profiles[0].Events
	}
	if got := count(false); got != 9 {
		t.Errorf("routed by log type: %d events evaluated, want 9", got)
	}
	if got := count(true); got != 10 {
		t.Errorf("every event: %d evaluated, want 10", got)
	}
	_ = time.Second
}

// The worker scans events straight out of a batch's text when the batch is
// pure ASCII and falls back to json.loads otherwise; whichever way an event
// is parsed, the rule must see exactly what json.loads gives. Batches of one
// event and of many mix both paths.
func TestStreamParsesEventsAsJSONLoadsDoes(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"p.yml": ruleSpec("Parse", "p.py", ""),
		"p.py": `
			def rule(event):
			    return True
			def title(event):
			    return "%d %s %r %r" % (event.get("n"), ascii(event.get("s")), event.get("big"), sorted(event.keys()))
		`,
	}, withWorkers(2))
	lines := []string{
		`{"p_log_type":"Test.Log","n":1,"s":"plain"}`,
		`{"p_log_type":"Test.Log","n":2,"s":"café ☕"}`,
		`{"p_log_type":"Test.Log","n":3,"s":"\u00e9\ud83d\ude00"}   `,
		`{"p_log_type":"Test.Log","n":4,"s":"x","big":12345678901234567890123}`,
		`{"p_log_type":"Test.Log","n":5,"s":"first","s":"last"}`,
		`{ "p_log_type" : "Test.Log" , "n" : 6 , "s" : [ 1 , { } ] }`,
		`{"p_log_type":"Test.Log","n":7,"s":"tab\there","big":1.5e300}`,
		// Deeper than Python's json module goes: a bad event, not a crash.
		`{"p_log_type":"Test.Log","n":8,"s":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}`,
	}
	want := []string{
		`1 'plain' None ['n', 'p_log_type', 's']`,
		`2 'caf\xe9 \u2615' None ['n', 'p_log_type', 's']`,
		`3 '\xe9\U0001f600' None ['n', 'p_log_type', 's']`,
		`4 'x' 12345678901234567890123 ['big', 'n', 'p_log_type', 's']`,
		`5 'last' None ['n', 'p_log_type', 's']`,
		`6 ImmutableList((1, {})) None ['n', 'p_log_type', 's']`,
		`7 'tab\there' 1.5e+300 ['big', 'n', 'p_log_type', 's']`,
	}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, round := range []int{1, 64} {
		rd, err := events.Open([]string{path})
		if err != nil {
			t.Fatal(err)
		}
		got := make([]string, len(lines))
		var bad []string
		_, err = e.Stream(context.Background(), rd, StreamOptions{
			Detections: r.Detections, Store: memoryStore(), RoundSize: round,
			OnResult: func(sr StreamResult) {
				if sr.Result.Error != nil || sr.Result.Alert == nil {
					t.Errorf("round %d, line %d: %+v", round, sr.Event.Line, sr.Result.Error)
					return
				}
				got[sr.Event.Line-1] = sr.Result.Alert.Title
			},
			OnBad: func(ev events.Event, err error) { bad = append(bad, fmt.Sprintf("%d: %v", ev.Line, err)) },
		})
		rd.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(bad) != 1 || !strings.HasPrefix(bad[0], "8: ") || !strings.Contains(bad[0], "nested too deeply") {
			t.Errorf("round %d: bad events %q, want line 8 nested too deeply", round, bad)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("round %d, line %d: title %q, want %q", round, i+1, got[i], want[i])
			}
		}
	}
}
