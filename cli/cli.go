// Package cli is rulebench's command line: the workbench (no subcommand),
// `test`, `run` and `doctor`.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/samples"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailed  = 1 // tests failed, load errors, rule errors
	ExitUsage   = 2
	ExitRuntime = 3 // could not run at all (no python, unreadable repo)
)

// Env is the process context a command runs in; tests substitute buffers.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Stdin  io.Reader
	// IsTerminal reports whether Stdout is a terminal (colour, progress).
	IsTerminal bool
	// ErrIsTerminal reports whether Stderr is a terminal (progress bars).
	ErrIsTerminal bool
}

// Main runs the command line and returns the exit code.
func Main(args []string, env Env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 {
		switch args[0] {
		case "test":
			return runTest(ctx, args[1:], env)
		case "run":
			return runRun(ctx, args[1:], env)
		case "doctor":
			return runDoctor(ctx, args[1:], env)
		case "help", "-h", "-help", "--help":
			fmt.Fprint(env.Stdout, usage)
			return ExitOK
		case "version", "--version":
			fmt.Fprintln(env.Stdout, "rulebench", Version)
			return ExitOK
		}
	}
	return runWorkbench(ctx, args, env)
}

// Version is set at build time (-ldflags "-X .../cli.Version=...").
var Version = "dev"

const usage = `rulebench: a workbench for Panther-style Python detection rules.

Usage:
  rulebench [DIR] [flags]            open the workbench (no DIR: the bundled samples)
  rulebench test [DIR] [flags]       run every unit test, headless (exit 0 only if all pass)
  rulebench run [DIR] --events FILE  run rules over log events and print what matched
  rulebench doctor [DIR]             check python, the repository, the cache and AWS set-up

Run "rulebench COMMAND -h" for a command's flags, "rulebench --no-watch -h" for the
workbench's.
`

// flagSet parses flags and positional arguments in any order, so both
// "rulebench test ./rules --tag AWS" and "rulebench test --tag AWS ./rules"
// work.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// listFlag collects repeated and comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

// engineFlags are shared by every command that runs rules.
type engineFlags struct {
	python  string
	workers int
	timeout time.Duration
	clock   string
	cache   cacheFlags
	network networkFlags
}

func (f *engineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.python, "python", "", "python3 to run rules with (default $RULEBENCH_PYTHON, then python3 on PATH)")
	fs.IntVar(&f.workers, "workers", runtime.NumCPU(), "number of Python worker processes")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "time limit for one test or event")
	fs.StringVar(&f.clock, "clock", "wall", "cache clock: wall, event (each event's p_event_time) or fixed:RFC3339")
	f.cache.register(fs)
	f.network.register(fs)
}

// loadRepository loads dir, or the bundled samples when dir is empty.
func loadRepository(dir string) (*repo.Repository, error) {
	if dir == "" {
		var err error
		dir, err = samples.Dir()
		if err != nil {
			return nil, err
		}
	}
	return repo.Load(dir)
}

func (f *engineFlags) options(stores *storeSet) (engine.Options, error) {
	clock, err := engine.ParseClock(f.clock)
	if err != nil {
		return engine.Options{}, err
	}
	if f.workers < 1 {
		return engine.Options{}, errors.New("--workers must be at least 1")
	}
	network, err := f.network.options(&f.cache)
	if err != nil {
		return engine.Options{}, err
	}
	return engine.Options{
		Python:       f.python,
		Workers:      f.workers,
		Timeout:      f.timeout,
		Clock:        clock,
		NewTestStore: stores.newTestStore,
		Network:      network,
	}, nil
}

// startEngine boots the workers in the background (resolving python3 and
// starting CPython takes longer than loading most repositories) and returns
// a function that waits for them and hands them the repository.
func startEngine(ctx context.Context, opts engine.Options) func(*repo.Repository) (*engine.Engine, error) {
	type started struct {
		e   *engine.Engine
		err error
	}
	ch := make(chan started, 1)
	go func() {
		e, err := engine.Start(ctx, opts)
		ch <- started{e, err}
	}()
	return func(r *repo.Repository) (*engine.Engine, error) {
		s := <-ch
		if s.err != nil {
			return nil, s.err
		}
		s.e.Use(r)
		if err := s.e.NetworkErr(); err != nil {
			s.e.Close()
			return nil, fmt.Errorf("network fixtures: %w", err)
		}
		return s.e, nil
	}
}

func singleDir(positional []string, env Env, cmd string) (string, bool) {
	switch len(positional) {
	case 0:
		return "", true
	case 1:
		return positional[0], true
	}
	fmt.Fprintf(env.Stderr, "rulebench %s: one repository directory expected, got %q\n", cmd, positional)
	return "", false
}

func usageError(env Env, cmd string, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "rulebench %s: %v\n", cmd, err)
	return ExitUsage
}
