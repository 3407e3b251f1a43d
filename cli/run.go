package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/events"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/theme"
)

type runFlags struct {
	engineFlags
	events listFlag
	rules  listFlag
	format string
	color  string
}

func runRun(ctx context.Context, args []string, env Env) int {
	var f runFlags
	fs := flag.NewFlagSet("rulebench run", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	f.engineFlags.register(fs)
	fs.Var(&f.events, "events", "JSON, JSON-array or JSONL file (or directory; .gz too) of events (repeatable)")
	fs.Var(&f.rules, "rule", "run only this detection (ID or glob), on every event whatever its log type (repeatable)")
	fs.StringVar(&f.format, "format", "text", "output: text, json or jsonl")
	fs.StringVar(&f.color, "color", "auto", "colour text output: auto, always or never")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: rulebench run [DIR] --events FILE [--rule ID] [flags]\n\n"+
			"Runs the detections of DIR (default: the bundled samples) over events, in order, against one\n"+
			"shared cache, and prints every match with its title, dedup, alert context and the rest.\n"+
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
	evs, inputErrs, err := events.ReadAll(f.events)
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench run: %v\n", err)
		return ExitRuntime
	}
	for _, e := range inputErrs {
		fmt.Fprintf(env.Stderr, "bad input: %v\n", e)
	}
	targets, err := routeEvents(r, evs, f.rules)
	if err != nil {
		return usageError(env, "run", err)
	}

	eng, err := ready(r)
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench run: %v\n", err)
		return ExitRuntime
	}
	defer eng.Close()

	outcomes, err := evaluateAll(ctx, eng, targets, evs, stores.Shared, opts.Workers)
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench run: %v\n", err)
		return ExitRuntime
	}
	rep := runReport{Root: r.Root, Cache: stores.Describe, Events: len(evs)}
	for _, e := range inputErrs {
		rep.BadInput = append(rep.BadInput, e.Error())
	}
	for _, o := range outcomes {
		switch {
		case o.Result.Error != nil:
			rep.Errors = append(rep.Errors, o)
		case o.Result.Alerted:
			rep.Matches = append(rep.Matches, o)
		}
	}
	switch f.format {
	case "json":
		err = writeRunJSON(env.Stdout, rep)
	case "jsonl":
		err = writeRunJSONL(env.Stdout, rep)
	default:
		writeRunText(env.Stdout, colorMode(f.color, env.IsTerminal), rep, f.cache.show)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench run: %v\n", err)
		return ExitRuntime
	}
	if len(rep.Errors) > 0 || len(rep.BadInput) > 0 || len(r.Errors) > 0 {
		return ExitFailed
	}
	return ExitOK
}

// target is one detection and the events (indexes into the input) it sees.
type target struct {
	det    *repo.Detection
	events []int
}

// routeEvents decides which detections see which events: named rules see
// everything; otherwise enabled detections see events of their log types.
func routeEvents(r *repo.Repository, evs []events.Event, named []string) ([]target, error) {
	var dets []*repo.Detection
	if len(named) > 0 {
		dets = r.Select(repo.Filter{IDs: named})
		if len(dets) == 0 {
			return nil, fmt.Errorf("--rule %s: no such detection", strings.Join(named, ","))
		}
	} else {
		dets = r.Select(repo.Filter{SkipDisabled: true})
	}
	var targets []target
	for _, d := range dets {
		t := target{det: d}
		for i, ev := range evs {
			if len(named) > 0 || d.AppliesTo(eventType(ev.Raw, d.Kind)) {
				t.events = append(t.events, i)
			}
		}
		if len(t.events) > 0 {
			targets = append(targets, t)
		}
	}
	return targets, nil
}

// eventType is the log type of an event, or the resource type of a resource.
func eventType(raw []byte, kind repo.Kind) string {
	if kind == repo.KindPolicy {
		for _, key := range []string{"ResourceType", "resourceType", "p_resource_type"} {
			if v, ok := events.StringField(raw, key); ok {
				return v
			}
		}
	}
	v, _ := events.StringField(raw, "p_log_type")
	return v
}

// outcome is one detection's result on one input event.
type outcome struct {
	Event  events.Event
	Result *engine.Result
}

// evaluateAll runs each detection over its events in input order; different
// detections run in parallel.
func evaluateAll(ctx context.Context, eng *engine.Engine, targets []target, evs []events.Event, store cache.Store, parallel int) ([]outcome, error) {
	var mu sync.Mutex
	var outcomes []outcome
	var firstErr error
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func(t target) {
			defer wg.Done()
			defer func() { <-sem }()
			raws := make([]json.RawMessage, len(t.events))
			for i, idx := range t.events {
				raws[i] = evs[idx].Raw
			}
			results, err := eng.Evaluate(ctx, t.det, raws, engine.EvalOptions{Store: store})
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			for i, res := range results {
				if res != nil {
					outcomes = append(outcomes, outcome{Event: evs[t.events[i]], Result: res})
				}
			}
		}(t)
	}
	wg.Wait()
	sort.SliceStable(outcomes, func(i, j int) bool {
		if outcomes[i].Event.Seq != outcomes[j].Event.Seq {
			return outcomes[i].Event.Seq < outcomes[j].Event.Seq
		}
		return outcomes[i].Result.DetectionID < outcomes[j].Result.DetectionID
	})
	return outcomes, firstErr
}

type runReport struct {
	Root     string
	Cache    string
	Events   int
	Matches  []outcome
	Errors   []outcome
	BadInput []string
}

func writeRunText(w io.Writer, st theme.TextStyles, rep runReport, showCache bool) {
	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(w, "  %-14s %s\n", st.Muted.Render(name), value)
		}
	}
	for _, o := range rep.Matches {
		res, a := o.Result, o.Result.Alert
		fmt.Fprintf(w, "%s %s %s\n", st.Pass.Render("MATCH"), st.Header.Render(res.DetectionID),
			st.Muted.Render(fmt.Sprintf("%s:%d", relPath(rep.Root, o.Event.File), o.Event.Line)))
		if a != nil {
			field("title", a.Title)
			field("dedup", a.Dedup)
			field("severity", a.Severity)
			switch {
			case a.Suppressed:
				field("destinations", "none (suppressed by destinations())")
			case len(a.Destinations) == 0:
				field("destinations", "default (by severity)")
			default:
				field("destinations", strings.Join(a.Destinations, ", "))
			}
			field("description", a.Description)
			field("reference", a.Reference)
			field("runbook", a.Runbook)
			if string(a.AlertContext) != "{}" {
				field("alert_context", string(a.AlertContext))
			}
		}
		for _, name := range res.FunctionErrors() {
			field(name+"()", st.Warn.Render(res.Functions[name].Error.Error()))
		}
		if res.Stdout != "" {
			field("printed", strings.TrimRight(strings.ReplaceAll(res.Stdout, "\n", "\n                 "), " \n"))
		}
		if showCache {
			for _, op := range res.CacheOps {
				field("cache", formatOp(op))
			}
		}
		fmt.Fprintln(w)
	}
	for _, o := range rep.Errors {
		fmt.Fprintf(w, "%s %s %s\n  %s\n", st.Fail.Render("ERROR"), st.Header.Render(o.Result.DetectionID),
			st.Muted.Render(fmt.Sprintf("%s:%d", relPath(rep.Root, o.Event.File), o.Event.Line)), o.Result.Error.Error())
		if tb := strings.TrimSpace(o.Result.Error.Traceback); tb != "" {
			for _, line := range strings.Split(lastLinesOf(tb, 8), "\n") {
				fmt.Fprintf(w, "    %s\n", st.Muted.Render(line))
			}
		}
		if showCache {
			for _, op := range o.Result.CacheOps {
				field("cache", formatOp(op))
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%d events, %d matches, %d rule errors, %d bad input lines %s\n",
		rep.Events, len(rep.Matches), len(rep.Errors), len(rep.BadInput), st.Muted.Render("(cache: "+rep.Cache+")"))
}

type jsonOutcome struct {
	Kind         string                           `json:"kind"`
	Rule         string                           `json:"rule"`
	File         string                           `json:"file"`
	Line         int                              `json:"line"`
	Seq          int64                            `json:"seq"`
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
}

func toJSONOutcome(root string, o outcome) jsonOutcome {
	res := o.Result
	j := jsonOutcome{
		Kind: "match", Rule: res.DetectionID, File: relPath(root, o.Event.File), Line: o.Event.Line, Seq: o.Event.Seq,
		Functions: res.Functions, Stdout: res.Stdout, DurationMS: float64(res.Duration.Microseconds()) / 1000,
		CacheOps: res.CacheOps,
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

func writeRunJSON(w io.Writer, rep runReport) error {
	out := struct {
		Summary struct {
			Events   int `json:"events"`
			Matches  int `json:"matches"`
			Errors   int `json:"errors"`
			BadInput int `json:"bad_input"`
		} `json:"summary"`
		Cache    string        `json:"cache"`
		Matches  []jsonOutcome `json:"matches"`
		Errors   []jsonOutcome `json:"errors"`
		BadInput []string      `json:"bad_input"`
	}{Cache: rep.Cache, Matches: []jsonOutcome{}, Errors: []jsonOutcome{}, BadInput: rep.BadInput}
	out.Summary.Events, out.Summary.Matches, out.Summary.Errors, out.Summary.BadInput = rep.Events, len(rep.Matches), len(rep.Errors), len(rep.BadInput)
	if out.BadInput == nil {
		out.BadInput = []string{}
	}
	for _, o := range rep.Matches {
		out.Matches = append(out.Matches, toJSONOutcome(rep.Root, o))
	}
	for _, o := range rep.Errors {
		out.Errors = append(out.Errors, toJSONOutcome(rep.Root, o))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeRunJSONL(w io.Writer, rep runReport) error {
	enc := json.NewEncoder(w)
	all := append(append([]outcome{}, rep.Matches...), rep.Errors...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Event.Seq < all[j].Event.Seq })
	for _, o := range all {
		if err := enc.Encode(toJSONOutcome(rep.Root, o)); err != nil {
			return err
		}
	}
	return nil
}
