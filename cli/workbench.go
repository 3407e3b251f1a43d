package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/samples"
	"github.com/rulebench/rulebench/ui"
	"github.com/rulebench/rulebench/ui/cacheview"
)

type workbenchFlags struct {
	engineFlags
	events  listFlag
	noWatch bool
}

func (f *workbenchFlags) register(fs *flag.FlagSet) {
	f.engineFlags.register(fs)
	// The workbench replays stories, whose expiries only make sense in the
	// events' own time (the bundled samples are from 2024).
	clock := fs.Lookup("clock")
	clock.DefValue = "event"
	_ = clock.Value.Set("event")
	fs.Var(&f.events, "events", "JSON or JSONL file (or directory) of your own events to pick from and to replay (repeatable)")
	fs.BoolVar(&f.noWatch, "no-watch", false, "do not reload rules when their files change")
}

// runWorkbench opens the interactive workbench on DIR (default: the
// bundled samples).
func runWorkbench(ctx context.Context, args []string, env Env) int {
	var f workbenchFlags
	fs := flag.NewFlagSet("rulebench", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: rulebench [DIR] [flags]\n\n"+
			"Opens the workbench on DIR (default: the bundled samples): pick a rule and an event,\n"+
			"run it, and see the result, the source and the cache side by side; P replays the --events files\n"+
			"(or the bundled sample events) through every enabled rule, with alerts and profile. Press ? inside for keys.\n\n")
		fs.PrintDefaults()
	}
	positional, err := parseArgs(fs, args)
	if err != nil {
		return usageError(env, "workbench", err)
	}
	dir, ok := singleDir(positional, env, "workbench")
	if !ok {
		return ExitUsage
	}
	if !env.IsTerminal {
		fmt.Fprintln(env.Stderr, "rulebench: the workbench needs a terminal, and standard output is not one.\n"+
			"For scripts and CI use \"rulebench test\" or \"rulebench run\" (rulebench help lists them).")
		return ExitUsage
	}
	for _, p := range f.events {
		if _, err := os.Stat(p); err != nil {
			return usageError(env, "workbench", fmt.Errorf("--events: %w", err))
		}
	}

	stores, err := f.cache.open(ctx, env.Stderr)
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench: %v\n", err)
		return ExitRuntime
	}
	defer func() {
		if err := stores.Close(); err != nil {
			fmt.Fprintf(env.Stderr, "rulebench: %v\n", err)
		}
	}()
	opts, err := f.options(stores)
	if err != nil {
		return usageError(env, "workbench", err)
	}
	cfg, err := workbenchConfig(ctx, dir, opts.Clock, stores)
	if err != nil {
		fmt.Fprintf(env.Stderr, "rulebench: %v\n", err)
		return ExitRuntime
	}
	cfg.Engine = opts
	cfg.UserEvents = f.events
	cfg.Watch = !f.noWatch

	// Ask the terminal for its background now: once Bubble Tea reads the
	// input, the answer would arrive as key presses.
	lipgloss.HasDarkBackground()
	model := ui.New(cfg)
	popts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx), tea.WithOutput(env.Stdout), tea.WithFPS(ui.FPS)}
	if env.Stdin != nil {
		popts = append(popts, tea.WithInput(env.Stdin))
	}
	final, err := tea.NewProgram(model, popts...).Run()
	if m, ok := final.(ui.Model); ok {
		m.Close()
	} else {
		model.Close()
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		fmt.Fprintf(env.Stderr, "rulebench: %v\n", err)
		return ExitRuntime
	}
	return ExitOK
}

// workbenchConfig loads the repository and describes the cache for the
// workbench. The bundled sample events are offered for every repository:
// rules of the same log types can run on them.
func workbenchConfig(ctx context.Context, dir string, clock *engine.Clock, stores *storeSet) (ui.Config, error) {
	r, err := loadRepository(dir)
	if err != nil {
		return ui.Config{}, err
	}
	label := dir
	if dir == "" {
		label = "bundled samples"
	}
	var sampleFiles []string
	if sd, err := samples.Dir(); err == nil {
		sampleFiles = ui.SampleEventFiles(sd)
	}
	return ui.Config{
		Context: ctx,
		Repo:    r,
		Label:   label,
		Load:    func() (*repo.Repository, error) { return loadRepository(dir) },
		Store:   stores.Shared,
		Cache: cacheview.Source{
			Shared: stores.Shared, Memory: stores.Memory, Overlay: stores.Overlay,
			Describe: stores.Describe, Clock: clock,
		},
		SampleEvents: sampleFiles,
	}, nil
}
