package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/repo"
)

type testFlags struct {
	engineFlags
	filter       listFlag
	tags         listFlag
	logTypes     listFlag
	testName     string
	minimumTests int
	skipDisabled bool
	format       string
	output       string
	color        string
}

func runTest(ctx context.Context, args []string, env Env) int {
	var f testFlags
	fs := flag.NewFlagSet("rulebench test", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	f.engineFlags.register(fs)
	fs.Var(&f.filter, "filter", "only detections whose ID matches this glob (repeatable, comma-separated)")
	fs.Var(&f.tags, "tag", "only detections with this tag (repeatable)")
	fs.Var(&f.logTypes, "log-type", "only detections for this log or resource type (repeatable)")
	fs.StringVar(&f.testName, "test", "", "only run tests with this name")
	fs.IntVar(&f.minimumTests, "minimum-tests", 0, "fail detections with fewer tests (above 1: also one positive and one negative)")
	fs.BoolVar(&f.skipDisabled, "skip-disabled", false, "skip detections with Enabled: false")
	fs.StringVar(&f.format, "format", "text", "output: text, json or junit")
	fs.StringVar(&f.output, "o", "", "write the report to this file instead of stdout")
	fs.StringVar(&f.color, "color", "auto", "colour text output: auto, always or never")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: rulebench test [DIR] [flags]\n\nRuns every unit test in DIR (default: the bundled samples).\n\n")
		fs.PrintDefaults()
	}
	positional, err := parseArgs(fs, args)
	if err != nil {
		return usageError(env, "test", err)
	}
	dir, ok := singleDir(positional, env, "test")
	if !ok {
		return ExitUsage
	}
	switch f.format {
	case "text", "json", "junit":
	default:
		return usageError(env, "test", fmt.Errorf("--format %q: want text, json or junit", f.format))
	}

	started := time.Now()
	stores, err := f.cache.open(ctx, env.Stderr)
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench test: %v\n", err)
		return ExitRuntime
	}
	defer stores.Close()
	opts, err := f.options(stores)
	if err != nil {
		return usageError(env, "test", err)
	}
	ready := startEngine(ctx, opts)
	r, err := loadRepository(dir)
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench test: %v\n", err)
		return ExitRuntime
	}
	dets := r.Select(repo.Filter{IDs: f.filter, Tags: f.tags, LogTypes: f.logTypes, SkipDisabled: f.skipDisabled})

	out := env.Stdout
	isTerminal := env.IsTerminal
	if f.output != "" {
		file, err := os.Create(f.output)
		if err != nil {
			fmt.Fprintf(env.Stderr, "rulebench test: %v\n", err)
			return ExitRuntime
		}
		defer file.Close()
		out, isTerminal = file, false
	}
	text := newTextReport(out, colorMode(f.color, isTerminal), f.cache.show)
	text.root = r.Root
	text.showCalls = f.network.showCalls

	var reports []engine.DetectionReport
	eng, err := ready(r)
	if eng != nil {
		defer eng.Close()
		noteNetwork(env.Stderr, eng)
	}
	if len(dets) > 0 {
		if err != nil {
			fmt.Fprintf(env.Stderr, "rulebench test: %v\n", err)
			return ExitRuntime
		}
		topts := engine.TestOptions{TestName: f.testName, MinimumTests: f.minimumTests}
		if f.format == "text" {
			// Stream text as detections finish, in completion order.
			topts.OnReport = text.detection
		}
		reports, err = eng.RunTests(ctx, dets, topts)
		if err != nil && ctx.Err() != nil {
			fmt.Fprintf(env.Stderr, "rulebench test: interrupted\n")
			return ExitFailed
		}
	}
	summary := summarize(r, reports, time.Since(started))
	switch f.format {
	case "json":
		err = writeJSONReport(out, r, reports, summary)
	case "junit":
		err = writeJUnitReport(out, r, reports, summary)
	default:
		text.summary(r, reports, summary)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench test: %v\n", err)
		return ExitRuntime
	}
	if summary.TestsFailed > 0 || summary.RulesFailed > 0 || len(r.Errors) > 0 {
		return ExitFailed
	}
	return ExitOK
}

// summary counts a test run.
type summary struct {
	TestsPassed int `json:"tests_passed"`
	TestsFailed int `json:"tests_failed"`
	RulesPassed int `json:"rules_passed"`
	RulesFailed int `json:"rules_failed"`
	LoadErrors  int `json:"load_errors"`
	// Duration of the whole run, loading included.
	DurationMS int64 `json:"duration_ms"`
}

func summarize(r *repo.Repository, reports []engine.DetectionReport, d time.Duration) summary {
	s := summary{LoadErrors: len(r.Errors), DurationMS: d.Milliseconds()}
	for _, rep := range reports {
		if rep.Detection == nil {
			continue
		}
		p, f := rep.Counts()
		s.TestsPassed += p
		s.TestsFailed += f
		if rep.Passed() {
			s.RulesPassed++
		} else {
			s.RulesFailed++
		}
	}
	return s
}
