// Command rulebench is a terminal workbench for Panther-style Python
// detection rules: rulebench (the workbench), rulebench test, rulebench run
// and rulebench doctor. See README.md.
package main

import (
	"os"
	"runtime/pprof"

	"github.com/mattn/go-isatty"

	"github.com/rulebench/rulebench/cli"
)

func main() {
	if path := os.Getenv("RULEBENCH_CPUPROFILE"); path != "" {
		// Developer aid, the Go-side twin of RULEBENCH_PROFILE_DIR.
		if f, err := os.Create(path); err == nil {
			_ = pprof.StartCPUProfile(f)
			code := run()
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(run())
}

func run() int {
	return cli.Main(os.Args[1:], cli.Env{
		Stdout:        os.Stdout,
		Stderr:        os.Stderr,
		Stdin:         os.Stdin,
		IsTerminal:    isatty.IsTerminal(os.Stdout.Fd()),
		ErrIsTerminal: isatty.IsTerminal(os.Stderr.Fd()),
	})
}
