package engine

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRoundTrip is one rule on one event with a warm worker: Go sends
// the event, CPython runs rule() and the alert functions, the result comes
// back decoded.
func BenchmarkRoundTrip(b *testing.B) {
	e, r := newEngine(b, map[string]string{
		"r.yml": ruleSpec("R", "r.py", ""),
		"r.py": `
			def rule(event):
			    return event.get("status") == 200 and "admin-panel" in event.get("request")
			def title(event):
			    return f"Successful admin panel login detected from {event.get('remoteAddr')}"
			def dedup(event):
			    return event.get("remoteAddr")
		`,
	}, withWorkers(1))
	d := r.Detection("R")
	ev := []json.RawMessage{json.RawMessage(`{"httpReferer":"https://domain1.com/?p=1","httpUserAgent":"Chrome/80.0.3987.132 Safari/537.36","remoteAddr":"180.76.15.143","request":"GET /admin-panel/ HTTP/1.1","status":200,"time":"2019-02-06 00:00:38 +0000 UTC"}`)}
	opts := EvalOptions{Store: memoryStore()}
	ctx := context.Background()
	if _, err := e.Evaluate(ctx, d, ev, opts); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := e.Evaluate(ctx, d, ev, opts)
		if err != nil || !res[0].Alerted {
			b.Fatal(err, res[0])
		}
	}
}

// BenchmarkCacheCall is one caching-helper call from rule code: Python sends
// the call over the pipe, Go answers it from the in-memory cache (trace
// included), and Python decodes the answer. Each op is one event making
// 1,000 increment_counter calls; the reported metric is per call.
func BenchmarkCacheCall(b *testing.B) {
	e, r := newEngine(b, map[string]string{
		"r.yml": ruleSpec("Calls", "r.py", ""),
		"r.py": `
			from panther_detection_helpers.caching import increment_counter
			def rule(event):
			    for _ in range(event.get("n")):
			        increment_counter("k")
			    return False
		`,
	}, withWorkers(1))
	d := r.Detection("Calls")
	ctx := context.Background()
	run := func(n int) {
		ev := []json.RawMessage{json.RawMessage(`{"n": ` + strconv.Itoa(n) + `}`)}
		res, err := e.Evaluate(ctx, d, ev, EvalOptions{Store: memoryStore()})
		if err != nil || res[0].Error != nil {
			b.Fatal(err, res[0].Error)
		}
	}
	run(1000)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		run(0)
	}
	empty := time.Since(start)
	start = time.Now()
	for i := 0; i < b.N; i++ {
		run(1000)
	}
	full := time.Since(start)
	b.ReportMetric(float64((full-empty).Microseconds())/float64(b.N*1000), "µs/call")
	b.ReportMetric(0, "ns/op")
}
