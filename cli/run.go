package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/alerts"
	"github.com/rulebench/rulebench/engine/events"
	"github.com/rulebench/rulebench/engine/replay"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/theme"
)

type runFlags struct {
	engineFlags
	events   listFlag
	rules    listFlag
	format   string
	color    string
	matches  bool
	progress string
	rate     rateFlags
}

func runRun(ctx context.Context, args []string, env Env) int {
	var f runFlags
	fs := flag.NewFlagSet("rulebench run", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	f.engineFlags.register(fs)
	f.rate.register(fs)
	fs.Var(&f.events, "events", "JSON, JSON-array or JSONL file, gzip-compressed or not, or a directory of them (repeatable)")
	fs.Var(&f.rules, "rule", "run only this detection (ID or glob), on every event whatever its log type (repeatable)")
	fs.StringVar(&f.format, "format", "text", "output: text, json or jsonl")
	fs.StringVar(&f.color, "color", "auto", "colour text output: auto, always or never")
	fs.BoolVar(&f.matches, "matches", true, "report every match (-matches=false: alerts and profile only)")
	fs.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (when it is a terminal), always or never")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: rulebench run [DIR] --events FILE [--rule ID] [flags]\n\n"+
			"Replays events through the detections of DIR (default: the bundled samples), in input order,\n"+
			"against one shared cache, on every CPU. Prints every match (title, dedup, alert context and the\n"+
			"rest), the alerts Panther would raise from them (grouped by dedup string, DedupPeriodMinutes\n"+
			"on event time, Threshold) and what each detection cost per event.\n"+
			"Without --rule, an event reaches the rules whose LogTypes hold its p_log_type.\n\n")
		fs.PrintDefaults()
	}
	positional, err := parseArgs(fs, args)
	if err != nil {
		return usageError(env, "run", err)
	}
	dir, ok := singleDir(positional, env, "run")
	if !ok {
		return ExitUsage
	}
	if len(f.events) == 0 {
		return usageError(env, "run", errors.New("--events is required"))
	}
	if err := f.rate.check(); err != nil {
		return usageError(env, "run", err)
	}
	switch f.format {
	case "text", "json", "jsonl":
	default:
		return usageError(env, "run", fmt.Errorf("--format %q: want text, json or jsonl", f.format))
	}

	stores, err := f.cache.open(ctx, env.Stderr)
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench run: %v\n", err)
		return ExitRuntime
	}
	defer func() {
		if err := stores.Close(); err != nil {
			fmt.Fprintf(env.Stderr, "rulebench run: %v\n", err)
		}
	}()
	opts, err := f.options(stores)
	if err != nil {
		return usageError(env, "run", err)
	}
	ready := startEngine(ctx, opts)
	r, err := loadRepository(dir)
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench run: %v\n", err)
		return ExitRuntime
	}
	for _, e := range r.Errors {
		fmt.Fprintf(env.Stderr, "load error: %s\n", relLoadError(r.Root, e))
	}
	dets, err := selectForRun(r, f.rules)
	if err != nil {
		return usageError(env, "run", err)
	}
	reader, err := events.Open(f.events)
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench run: %v\n", err)
		return ExitRuntime
	}
	defer reader.Close()
	eng, err := ready(r)
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench run: %v\n", err)
		return ExitRuntime
	}
	defer eng.Close()
	noteNetwork(env.Stderr, eng)

	rep := &replayReport{root: r.Root, cache: stores.Describe, grouper: alerts.New(), keepMatches: f.matches && f.format == "json"}
	st := colorMode(f.color, env.IsTerminal)
	var emit func(outcome)
	switch f.format {
	case "text":
		if f.matches {
			emit = func(o outcome) { writeOutcomeText(env.Stdout, st, r.Root, o, f.cache.show, f.network.showCalls) }
		}
	case "jsonl":
		enc := json.NewEncoder(env.Stdout)
		if f.matches {
			emit = func(o outcome) { _ = enc.Encode(toJSONOutcome(r.Root, o)) }
		}
	}
	bar := newProgressBar(env, f.progress, reader)
	bar.start()
	summary, err := eng.Stream(ctx, reader, engine.StreamOptions{
		Detections: dets,
		AllEvents:  len(f.rules) > 0,
		Store:      stores.Shared,
		OnResult: func(sr engine.StreamResult) {
			o := outcome{Event: sr.Event, Result: sr.Result, Time: sr.EventTime}
			rep.add(sr.Detection, o)
			bar.count(sr.Result)
			if emit != nil {
				emit(o)
			}
		},
		OnBad: func(ev events.Event, err error) {
			rep.addBad(err)
			bar.clear()
			fmt.Fprintf(env.Stderr, "bad input: %v\n", err)
		},
		OnInputError: func(err error) {
			rep.addBad(err)
			bar.clear()
			fmt.Fprintf(env.Stderr, "bad input: %v\n", err)
		},
	})
	bar.stop()
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench run: %v\n", err)
		if ctx.Err() != nil {
			return ExitFailed
		}
		return ExitRuntime
	}
	rep.summary = summary
	if rep.network, err = projectCalls(ctx, eng, summary, f.rate); err != nil {
		fmt.Fprintf(env.Stderr, "rulebench run: %v\n", err)
	}
	switch f.format {
	case "json":
		err = writeReplayJSON(env.Stdout, rep)
	case "jsonl":
		err = writeReplayJSONL(env.Stdout, rep)
	default:
		writeReplayText(env.Stdout, st, rep, f.cache.show)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench run: %v\n", err)
		return ExitRuntime
	}
	if rep.errors > 0 || len(rep.badInput) > 0 || len(r.Errors) > 0 {
		return ExitFailed
	}
	return ExitOK
}

// selectForRun picks the detections: the named ones (any kind, enabled or
// not), or every enabled rule.
func selectForRun(r *repo.Repository, named []string) ([]*repo.Detection, error) {
	if len(named) > 0 {
		dets := r.Select(repo.Filter{IDs: named})
		if len(dets) == 0 {
			return nil, fmt.Errorf("--rule %s: no such detection", strings.Join(named, ","))
		}
		return dets, nil
	}
	return r.Select(repo.Filter{SkipDisabled: true, Kinds: []repo.Kind{repo.KindRule}}), nil
}

// outcome is one detection's result on one input event.
type outcome struct {
	Event  events.Event
	Result *engine.Result
	Time   time.Time
}

// replayReport accumulates what a replay found.
type replayReport struct {
	// mu: results arrive from the workers' goroutines, input errors from
	// the reader's.
	mu          sync.Mutex
	root        string
	cache       string
	grouper     *alerts.Grouper
	keepMatches bool
	matches     []outcome
	matched     int64
	errors      int64
	badInput    []string
	alertsBy    map[string]int
	summary     *engine.StreamSummary
	// network projects the run's outside calls (nil: none made).
	network *networkReport
}

func (rep *replayReport) add(d *repo.Detection, o outcome) {
	rep.mu.Lock()
	defer rep.mu.Unlock()
	if o.Result.Error != nil {
		rep.errors++
	} else {
		rep.matched++
	}
	replay.Add(rep.grouper, rep.root, d, o.Event, o.Result, o.Time)
	if rep.keepMatches {
		rep.matches = append(rep.matches, o)
	}
}

func (rep *replayReport) addBad(err error) {
	rep.mu.Lock()
	rep.badInput = append(rep.badInput, err.Error())
	rep.mu.Unlock()
}

// profileRow is one detection's line in the cost table.
type profileRow = replay.ProfileRow

func (rep *replayReport) profile() []profileRow {
	return replay.Profile(rep.summary, rep.grouper)
}

func writeOutcomeText(w io.Writer, st theme.TextStyles, root string, o outcome, showCache, showCalls bool) {
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(w, "  %-14s %s\n", st.Muted.Render(name), value)
		}
	}
	res := o.Result
	where := st.Muted.Render(fmt.Sprintf("%s:%d", relPath(root, o.Event.File), o.Event.Line))
	if res.Error != nil {
		fmt.Fprintf(w, "%s %s %s\n  %s\n", st.Fail.Render("ERROR"), st.Header.Render(res.DetectionID), where, res.Error.Error())
		if tb := strings.TrimSpace(res.Error.Traceback); tb != "" {
			for _, line := range strings.Split(lastLinesOf(tb, 8), "\n") {
				fmt.Fprintf(w, "    %s\n", st.Muted.Render(line))
			}
		}
	} else {
		fmt.Fprintf(w, "%s %s %s\n", st.Pass.Render("MATCH"), st.Header.Render(res.DetectionID), where)
		if a := res.Alert; a != nil {
			field("title", a.Title)
			field("dedup", a.Dedup)
			field("severity", a.Severity)
			field("destinations", destinationText(a))
			field("description", strings.TrimSpace(a.Description))
			field("reference", strings.TrimSpace(a.Reference))
			field("runbook", strings.TrimSpace(a.Runbook))
			if string(a.AlertContext) != "{}" {
				field("alert_context", string(a.AlertContext))
			}
		}
		for _, name := range res.FunctionErrors() {
			field(name+"()", st.Warn.Render(res.Functions[name].Error.Error()))
		}
	}
	if res.Stdout != "" {
		field("printed", strings.TrimRight(strings.ReplaceAll(res.Stdout, "\n", "\n                 "), " \n"))
	}
	if showCache {
		for _, op := range res.CacheOps {
			field("cache", formatOp(op))
		}
	}
	for _, c := range res.NetworkCalls {
		if showCalls || callFailed(c) {
			field("call", formatCall(root, c))
		}
	}
	fmt.Fprintln(w)
}

func destinationText(a *engine.Alert) string {
	switch {
	case a.Suppressed:
		return "none (suppressed by destinations())"
	case len(a.Destinations) == 0:
		return "default (by severity)"
	}
	return strings.Join(a.Destinations, ", ")
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func writeReplayText(w io.Writer, st theme.TextStyles, rep *replayReport, showCache bool) {
	delivered, errs, held := alerts.Split(rep.grouper.Alerts())
	alerts.BySeverity(delivered)
	fmt.Fprintf(w, "%s\n", st.Header.Render(fmt.Sprintf("Alerts (%d)", len(delivered))))
	for _, a := range delivered {
		fmt.Fprintf(w, "  %-8s %s  %s\n", severityStyle(st, a.Severity).Render(a.Severity), st.Bold.Render(a.Title), st.Muted.Render(a.RuleID))
		fmt.Fprintf(w, "           %d event(s), %s → %s, dedup %q\n", a.Events, timeText(a.FirstTime), timeText(a.LastTime), a.Dedup)
		var refs []string
		for _, s := range a.Samples {
			refs = append(refs, fmt.Sprintf("%s:%d", s.File, s.Line))
		}
		more := ""
		if a.Events > len(a.Samples) {
			more = fmt.Sprintf(" (+%d more)", a.Events-len(a.Samples))
		}
		fmt.Fprintf(w, "           events %s%s\n", strings.Join(refs, ", "), more)
		if a.Suppressed {
			fmt.Fprintf(w, "           destinations: none (suppressed)\n")
		} else if len(a.Destinations) > 0 {
			fmt.Fprintf(w, "           destinations: %s\n", strings.Join(a.Destinations, ", "))
		}
	}
	if len(held) > 0 {
		fmt.Fprintf(w, "%s\n", st.Muted.Render(fmt.Sprintf("  %d more group(s) stayed below their Threshold and were not delivered", len(held))))
	}
	if len(errs) > 0 {
		fmt.Fprintf(w, "\n%s\n", st.Fail.Render(fmt.Sprintf("Rule errors (%d)", len(errs))))
		for _, a := range errs {
			fmt.Fprintf(w, "  %s: %s (%d event(s), first at %s:%d)\n", a.RuleID, a.Title, a.Events, a.Samples[0].File, a.Samples[0].Line)
		}
	}
	rows := rep.profile()
	fmt.Fprintf(w, "\n%s\n", st.Header.Render("Profile"))
	fmt.Fprintf(w, "  %-44s %9s %8s %6s %6s %9s %9s %9s %9s\n", "RULE", "EVENTS", "MATCHED", "ERRORS", "ALERTS", "MEAN", "P99", "CACHE/EV", "CACHE-NM")
	for _, row := range rows {
		flag := ""
		if row.CacheBeforeNeeded {
			flag = st.Warn.Render("  ⚠ cache used before it is necessary")
		}
		fmt.Fprintf(w, "  %-44s %9d %8d %6d %6d %8.1fµ %8.1fµ %9.3f %9d%s\n", trimTo(row.Rule, 44), row.Events, row.Matched, row.Errors,
			row.Alerts, row.MeanUS, row.P99US, row.CacheCallsPerEvent, row.CacheCallsUnmatched, flag)
	}
	s := rep.summary
	rate := 0.0
	if s.Duration > 0 {
		rate = float64(s.Events) / s.Duration.Seconds()
	}
	if rep.network != nil {
		writeProjectionText(w, st, rep.network.RateProjection, rep.network.Mode)
	}
	fmt.Fprintf(w, "\n%d events, %d matches, %d alerts, %d rule errors, %d bad input lines %s\n",
		s.Events, rep.matched, len(delivered), rep.errors, len(rep.badInput),
		st.Muted.Render(fmt.Sprintf("(%.1fs, %.0f events/s, cache: %s)", s.Duration.Seconds(), rate, rep.cache)))
	_ = showCache
}

func severityStyle(st theme.TextStyles, sev string) interface{ Render(...string) string } {
	switch sev {
	case "CRITICAL", "HIGH":
		return st.Fail
	case "MEDIUM":
		return st.Warn
	}
	return st.Muted
}

func trimTo(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

type jsonOutcome struct {
	Kind         string                           `json:"kind"`
	Rule         string                           `json:"rule"`
	File         string                           `json:"file"`
	Line         int                              `json:"line"`
	Seq          int64                            `json:"seq"`
	EventTime    string                           `json:"event_time,omitempty"`
	Title        string                           `json:"title,omitempty"`
	Dedup        string                           `json:"dedup,omitempty"`
	Severity     string                           `json:"severity,omitempty"`
	AlertContext json.RawMessage                  `json:"alert_context,omitempty"`
	Destinations []string                         `json:"destinations,omitempty"`
	Suppressed   bool                             `json:"suppressed,omitempty"`
	Description  string                           `json:"description,omitempty"`
	Reference    string                           `json:"reference,omitempty"`
	Runbook      string                           `json:"runbook,omitempty"`
	Error        string                           `json:"error,omitempty"`
	Traceback    string                           `json:"traceback,omitempty"`
	Functions    map[string]engine.FunctionResult `json:"functions,omitempty"`
	Stdout       string                           `json:"stdout,omitempty"`
	DurationMS   float64                          `json:"duration_ms"`
	CacheOps     []cache.Op                       `json:"cache_ops"`
	NetworkCalls []engine.NetworkCall             `json:"network_calls"`
}

func toJSONOutcome(root string, o outcome) jsonOutcome {
	res := o.Result
	j := jsonOutcome{
		Kind: "match", Rule: res.DetectionID, File: relPath(root, o.Event.File), Line: o.Event.Line, Seq: o.Event.Seq,
		Functions: res.Functions, Stdout: res.Stdout, DurationMS: float64(res.Duration.Microseconds()) / 1000,
		CacheOps: res.CacheOps, NetworkCalls: res.NetworkCalls,
	}
	if j.NetworkCalls == nil {
		j.NetworkCalls = []engine.NetworkCall{}
	}
	if !o.Time.IsZero() {
		j.EventTime = o.Time.UTC().Format(time.RFC3339Nano)
	}
	if j.CacheOps == nil {
		j.CacheOps = []cache.Op{}
	}
	if res.Error != nil {
		j.Kind = "error"
		j.Error = res.Error.Error()
		j.Traceback = res.Error.Traceback
	}
	if a := res.Alert; a != nil {
		j.Title, j.Dedup, j.Severity, j.AlertContext = a.Title, a.Dedup, a.Severity, a.AlertContext
		j.Destinations, j.Suppressed = a.Destinations, a.Suppressed
		j.Description, j.Reference, j.Runbook = a.Description, a.Reference, a.Runbook
	}
	return j
}

type replaySummary struct {
	Events     int64   `json:"events"`
	Matches    int64   `json:"matches"`
	Alerts     int     `json:"alerts"`
	Held       int     `json:"alerts_below_threshold"`
	Errors     int64   `json:"errors"`
	BadInput   int     `json:"bad_input"`
	DurationMS int64   `json:"duration_ms"`
	EventsPerS float64 `json:"events_per_second"`
}

func (rep *replayReport) summaryJSON() replaySummary {
	s := replaySummary{Events: rep.summary.Events, Matches: rep.matched, Errors: rep.errors, BadInput: len(rep.badInput),
		DurationMS: rep.summary.Duration.Milliseconds()}
	if rep.summary.Duration > 0 {
		s.EventsPerS = float64(rep.summary.Events) / rep.summary.Duration.Seconds()
	}
	delivered, _, held := alerts.Split(rep.grouper.Alerts())
	s.Alerts, s.Held = len(delivered), len(held)
	return s
}

func writeReplayJSON(w io.Writer, rep *replayReport) error {
	out := struct {
		Summary  replaySummary   `json:"summary"`
		Cache    string          `json:"cache"`
		Alerts   []*alerts.Alert `json:"alerts"`
		Profile  []profileRow    `json:"profile"`
		Matches  []jsonOutcome   `json:"matches"`
		Errors   []jsonOutcome   `json:"errors"`
		BadInput []string        `json:"bad_input"`
		Network  *networkReport  `json:"network"`
	}{Summary: rep.summaryJSON(), Cache: rep.cache, Alerts: rep.grouper.Alerts(), Profile: rep.profile(), Network: rep.network,
		Matches: []jsonOutcome{}, Errors: []jsonOutcome{}, BadInput: rep.badInput}
	if out.Alerts == nil {
		out.Alerts = []*alerts.Alert{}
	}
	if out.BadInput == nil {
		out.BadInput = []string{}
	}
	for _, o := range rep.matches {
		if o.Result.Error != nil {
			out.Errors = append(out.Errors, toJSONOutcome(rep.root, o))
		} else {
			out.Matches = append(out.Matches, toJSONOutcome(rep.root, o))
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeReplayJSONL(w io.Writer, rep *replayReport) error {
	enc := json.NewEncoder(w)
	for _, a := range rep.grouper.Alerts() {
		if err := enc.Encode(struct {
			Kind string `json:"kind"`
			*alerts.Alert
		}{"alert", a}); err != nil {
			return err
		}
	}
	for _, row := range rep.profile() {
		if err := enc.Encode(struct {
			Kind string `json:"kind"`
			profileRow
		}{"profile", row}); err != nil {
			return err
		}
	}
	return enc.Encode(struct {
		Kind string `json:"kind"`
		replaySummary
	}{"summary", rep.summaryJSON()})
}

// progressBar draws events/s, matches, errors and ETA on stderr while a
// replay runs, when stderr is a terminal.
type progressBar struct {
	w       io.Writer
	on      bool
	reader  *events.Reader
	mu      sync.Mutex
	matches int64
	errors  int64
	started time.Time
	done    chan struct{}
	wg      sync.WaitGroup
}

func newProgressBar(env Env, mode string, r *events.Reader) *progressBar {
	on := mode == "always" || (mode == "auto" && env.ErrIsTerminal)
	return &progressBar{w: env.Stderr, on: on, reader: r, done: make(chan struct{})}
}

func (b *progressBar) count(res *engine.Result) {
	b.mu.Lock()
	if res.Error != nil {
		b.errors++
	} else {
		b.matches++
	}
	b.mu.Unlock()
}

func (b *progressBar) start() {
	b.started = time.Now()
	if !b.on {
		return
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-b.done:
				return
			case <-t.C:
				b.draw()
			}
		}
	}()
}

func (b *progressBar) draw() {
	p := b.reader.Progress()
	elapsed := time.Since(b.started).Seconds()
	rate := float64(p.Events) / max(elapsed, 0.001)
	eta := "-"
	if p.TotalBytes > 0 && p.ReadBytes > 0 {
		frac := float64(p.ReadBytes) / float64(p.TotalBytes)
		if frac > 0 && frac <= 1 {
			eta = time.Duration(elapsed * (1 - frac) / frac * float64(time.Second)).Round(time.Second).String()
		}
	}
	b.mu.Lock()
	m, e := b.matches, b.errors
	b.mu.Unlock()
	pct := 0.0
	if p.TotalBytes > 0 {
		pct = 100 * float64(p.ReadBytes) / float64(p.TotalBytes)
	}
	fmt.Fprintf(b.w, "\r\x1b[K%d events  %.0f/s  %d matches  %d errors  %.0f%%  ETA %s", p.Events, rate, m, e, pct, eta)
}

// clear erases the bar so a message can be printed on its line.
func (b *progressBar) clear() {
	if b.on {
		fmt.Fprint(b.w, "\r\x1b[K")
	}
}

func (b *progressBar) stop() {
	if !b.on {
		return
	}
	close(b.done)
	b.wg.Wait()
	b.clear()
}
