package cli

import (
	"bytes"
	"flag"
	"strings"
	"testing"
)

func runWorkbenchArgs(t *testing.T, terminal bool, args ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, Env{Stdout: &out, Stderr: &errb, IsTerminal: terminal})
	if out.Len() > 0 {
		t.Errorf("the workbench wrote to stdout outside a terminal: %q", out.String())
	}
	return errb.String(), code
}

func TestWorkbenchNeedsATerminal(t *testing.T) {
	stderr, code := runWorkbenchArgs(t, false)
	if code != ExitUsage || !strings.Contains(stderr, "needs a terminal") || !strings.Contains(stderr, "rulebench test") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestWorkbenchFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--nope"}, ExitUsage, "flag provided but not defined"},
		{[]string{"a", "b"}, ExitUsage, "one repository directory expected"},
		{[]string{"--events", "/does/not/exist.jsonl"}, ExitUsage, "--events"},
		{[]string{"--clock", "sometimes"}, ExitUsage, "--clock"},
		// A first -h is rulebench's own help; after a flag it is the
		// workbench's.
		{[]string{"--no-watch", "-h"}, ExitOK, "-events"},
	} {
		stderr, code := runWorkbenchArgs(t, true, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, stderr)
		}
	}
}

func TestWorkbenchConfig(t *testing.T) {
	var f workbenchFlags
	fs := flag.NewFlagSet("rulebench", flag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse(nil); err != nil || f.clock != "event" {
		t.Errorf("the workbench's clock defaults to event time, got %q (%v)", f.clock, err)
	}
	stores, err := (&cacheFlags{backend: "memory"}).open(t.Context(), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := workbenchConfig(t.Context(), "", nil, stores)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Label != "bundled samples" || len(cfg.Repo.Detections) == 0 || len(cfg.SampleEvents) == 0 {
		t.Errorf("config: label %q, %d detections, %d sample files", cfg.Label, len(cfg.Repo.Detections), len(cfg.SampleEvents))
	}
	if cfg.Cache.Memory == nil || cfg.Cache.Describe != "memory" {
		t.Errorf("cache source %+v", cfg.Cache)
	}
}
