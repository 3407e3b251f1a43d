package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rulebench/rulebench/engine/awsauth"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/engine/worker"
	"github.com/rulebench/rulebench/mocks"
	"github.com/rulebench/rulebench/samples"
	"github.com/rulebench/rulebench/ui/theme"
)

type doctorFlags struct {
	python  string
	cache   cacheFlags
	network networkFlags
	secrets listFlag
	color   string
}

// doctor prints one line per check, with what to do under each failure.
type doctor struct {
	w                    io.Writer
	st                   theme.TextStyles
	ok, warn, fail, skip int
}

func (d *doctor) line(status, name, detail string, hint ...string) {
	mark := map[string]string{
		"ok":   d.st.Pass.Render("ok  "),
		"warn": d.st.Warn.Render("warn"),
		"FAIL": d.st.Fail.Render("FAIL"),
		"skip": d.st.Muted.Render("skip"),
	}[status]
	switch status {
	case "ok":
		d.ok++
	case "warn":
		d.warn++
	case "FAIL":
		d.fail++
	default:
		d.skip++
	}
	fmt.Fprintf(d.w, "  %s  %-13s %s\n", mark, name, detail)
	for _, h := range hint {
		for _, l := range strings.Split(strings.TrimRight(h, "\n"), "\n") {
			fmt.Fprintf(d.w, "        %-13s %s\n", "", d.st.Muted.Render(l))
		}
	}
}

// problem prints a failed AWS step: what failed, then what to do.
func (d *doctor) problem(name string, p *awsauth.Problem) {
	what := p.What
	if p.Err != nil && !errors.Is(p.Err, awsauth.ErrNoCredentials) {
		what += ": " + firstLine(errorCause(p.Err))
	}
	if p.Hint == "" {
		d.line("FAIL", name, what)
		return
	}
	d.line("FAIL", name, what, p.Hint)
}

func errorCause(err error) string {
	var p *awsauth.Problem
	if errors.As(err, &p) && p.Err != nil {
		return errorCause(p.Err)
	}
	if code := awsauth.Code(err); code != "" {
		msg := err.Error()
		if i := strings.LastIndex(msg, code); i >= 0 {
			return msg[i:]
		}
		return code
	}
	return err.Error()
}

func runDoctor(ctx context.Context, args []string, env Env) int {
	var f doctorFlags
	fs := flag.NewFlagSet("rulebench doctor", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.StringVar(&f.python, "python", "", "python3 to check (default $RULEBENCH_PYTHON, then python3 on PATH)")
	f.cache.register(fs)
	f.network.register(fs)
	fs.Var(&f.secrets, "secret", "a Secrets Manager secret rules read, to check it is readable (repeatable; fixture secrets are checked too)")
	fs.StringVar(&f.color, "color", "auto", "colour: auto, always or never")
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: rulebench doctor [DIR] [flags]\n\n"+
			"Checks what rulebench needs to run DIR (default: the bundled samples): python and the worker\n"+
			"harness, the repository and its fixtures, the cache backend and, with --network real,\n"+
			"--assume-role or --secret, the AWS set-up enrichment rules use: who the credentials are,\n"+
			"that the role can be assumed and that each secret can be read (DescribeSecret; secret\n"+
			"values are never read). Exit status 1 when a check failed.\n\n")
		fs.PrintDefaults()
	}
	positional, err := parseArgs(fs, args)
	if err != nil {
		return usageError(env, "doctor", err)
	}
	dir, ok := singleDir(positional, env, "doctor")
	if !ok {
		return ExitUsage
	}
	if _, err := f.network.options(&f.cache); err != nil {
		return usageError(env, "doctor", err)
	}
	d := &doctor{w: env.Stdout, st: colorMode(f.color, env.IsTerminal)}
	fmt.Fprintf(d.w, "%s\n", d.st.Header.Render("rulebench doctor"))

	d.checkPython(ctx, f.python)
	root := d.checkRepository(dir)
	fixtures := d.checkFixtures(root, f.network.fixtures)
	d.checkCache(ctx, &f.cache)
	d.checkAWS(ctx, &f, fixtures)

	fmt.Fprintf(d.w, "\n%d ok, %d warnings, %d failed, %d skipped\n", d.ok, d.warn, d.fail, d.skip)
	if d.fail > 0 {
		return ExitFailed
	}
	return ExitOK
}

func (d *doctor) checkPython(ctx context.Context, name string) {
	py, err := worker.FindPython(ctx, name)
	if err != nil {
		d.line("FAIL", "python", err.Error(), "install Python 3.9 or newer, or point --python / RULEBENCH_PYTHON at one")
		d.line("skip", "harness", "no python to start it with")
		return
	}
	d.line("ok", "python", fmt.Sprintf("%s (Python %s)", py.Path, py.Version))

	started := time.Now()
	w, err := worker.Start(ctx, &worker.Options{Python: py, Timeout: 10 * time.Second})
	if err == nil {
		err = w.Ping(ctx)
		w.Close()
	}
	if err != nil {
		d.line("FAIL", "harness", "the worker did not boot: "+err.Error(), "run rulebench with the same --python to see the full error; the harness needs only the standard library")
	} else {
		d.line("ok", "harness", fmt.Sprintf("a worker booted and answered in %s", time.Since(started).Round(time.Millisecond)))
	}

	// Panther's runtime has boto3 and requests; a local python may not.
	out, err := exec.CommandContext(ctx, py.Path, "-c", `import importlib.metadata as m
for name in ("boto3", "requests"):
    try:
        print(name, m.version(name))
    except m.PackageNotFoundError:
        print(name, "-")`).Output()
	if err != nil {
		d.line("warn", "libraries", "could not ask python which libraries it has: "+err.Error())
		return
	}
	var have, missing []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if name, version, ok := strings.Cut(line, " "); ok {
			if version == "-" {
				missing = append(missing, name)
			} else {
				have = append(have, name+" "+version)
			}
		}
	}
	switch {
	case len(missing) == 0:
		d.line("ok", "libraries", strings.Join(have, ", "))
	default:
		detail := strings.Join(missing, " and ") + " not installed"
		if len(have) > 0 {
			detail = strings.Join(have, ", ") + "; " + detail
		}
		d.line("warn", "libraries", detail,
			"Panther's runtime has boto3 and requests; rules importing them fail here unless their tests mock the functions that use them (pip install boto3 requests)")
	}
}

func (d *doctor) checkRepository(dir string) string {
	if dir == "" {
		var err error
		if dir, err = samples.Dir(); err != nil {
			d.line("FAIL", "repository", err.Error())
			return ""
		}
	}
	r, err := repo.Load(dir)
	if err != nil {
		d.line("FAIL", "repository", err.Error())
		return ""
	}
	detail := fmt.Sprintf("%s: %d detections, %d globals, %d data models", r.Root, len(r.Detections), len(r.Globals), len(r.DataModels))
	if len(r.Errors) == 0 {
		d.line("ok", "repository", detail)
		return r.Root
	}
	var errs []string
	for _, e := range r.Errors {
		errs = append(errs, relLoadError(r.Root, e))
	}
	d.line("FAIL", "repository", fmt.Sprintf("%s; %d load error(s):", detail, len(r.Errors)), errs...)
	return r.Root
}

func (d *doctor) checkFixtures(root string, named []string) *mocks.Fixtures {
	dirs := named
	if len(dirs) == 0 && root != "" {
		dir := filepath.Join(root, mocks.FixtureDir)
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			d.line("ok", "fixtures", "none (offline, every outside call from rule code fails, naming the fixture to add to "+mocks.FixtureDir+"/)")
			return nil
		}
		dirs = []string{dir}
	}
	if len(dirs) == 0 {
		return nil
	}
	f, err := mocks.LoadFixtures(dirs...)
	if err != nil {
		var lines []string
		for _, l := range strings.Split(err.Error(), "\n") {
			lines = append(lines, relPath(root, l))
		}
		d.line("FAIL", "fixtures", "fixture files have errors:", lines...)
		return nil
	}
	where := make([]string, len(dirs))
	for i, dir := range dirs {
		where[i] = relPath(root, dir)
	}
	d.line("ok", "fixtures", strings.Join(where, ", ")+": "+f.Summary())
	return f
}

func (d *doctor) checkCache(ctx context.Context, c *cacheFlags) {
	switch c.backend {
	case "", "memory":
		if c.file == "" {
			d.line("ok", "cache", "memory (nothing to reach)")
			return
		}
		if err := mocks.NewCache().LoadFile(c.file); err != nil && !os.IsNotExist(err) {
			d.line("FAIL", "cache", "--cache-file: "+err.Error())
			return
		}
		d.line("ok", "cache", "memory, state in "+c.file)
	case "dynamodb":
		stores, err := c.openDynamo(ctx, io.Discard)
		if err != nil {
			d.line("FAIL", "cache", err.Error())
			return
		}
		d.line("ok", "cache", stores.Describe+": reachable (dynamodb:GetItem works)")
		_ = stores.Close()
	default:
		d.line("FAIL", "cache", fmt.Sprintf("--cache %q: want memory or dynamodb", c.backend))
	}
}

// checkAWS walks the set-up of Panther's enrichment document: the
// credentials' identity, the role that reads secrets, each secret.
func (d *doctor) checkAWS(ctx context.Context, f *doctorFlags, fixtures *mocks.Fixtures) {
	c := &f.cache
	real := f.network.mode == worker.NetworkReal
	if real {
		d.line("ok", "network", "real: outside calls from rule code leave this machine and are recorded")
	} else {
		d.line("ok", "network", "offline: outside calls from rule code are answered from fixtures; nothing leaves this machine")
	}
	secrets := append([]string(nil), f.secrets...)
	if real && fixtures != nil {
		for _, name := range fixtures.SecretNames() {
			if !slices.Contains(secrets, name) {
				secrets = append(secrets, name)
			}
		}
	}
	if !real && c.assumeRole == "" && len(f.secrets) == 0 && c.profile == "" {
		d.line("skip", "aws", "offline; pass --network real, --assume-role ARN or --secret NAME to check the AWS set-up")
		return
	}
	cfg, err := awsauth.Load(ctx, awsauth.Config{Profile: c.profile, Region: c.region})
	if err != nil {
		var p *awsauth.Problem
		if errors.As(err, &p) {
			d.problem("aws config", p)
		} else {
			d.line("FAIL", "aws config", err.Error())
		}
		d.line("skip", "aws", "the remaining AWS checks need a configuration")
		return
	}
	caller, account, err := awsauth.Identity(ctx, cfg)
	if err != nil {
		d.problem("aws identity", awsauth.ExplainIdentity(err, c.profile))
		d.line("skip", "aws", "the remaining AWS checks need working credentials")
		return
	}
	d.line("ok", "aws identity", fmt.Sprintf("%s (account %s, %s)", caller, account, cfg.Region))

	principal, use := caller, cfg
	if c.assumeRole != "" {
		assumed, session, err := awsauth.AssumeRole(ctx, cfg, c.assumeRole)
		if err != nil {
			d.problem("assume role", awsauth.ExplainAssume(err, caller, c.assumeRole))
			if len(secrets) > 0 {
				d.line("skip", "secrets", "reading secrets is checked as the role, which could not be assumed")
			}
			return
		}
		d.line("ok", "assume role", fmt.Sprintf("%s: assumed as %s", c.assumeRole, session))
		principal, use = session, assumed
	}
	if len(secrets) == 0 {
		d.line("skip", "secrets", "no secret named (--secret NAME, or secrets: in the fixtures)")
		return
	}
	for _, name := range secrets {
		arn, err := awsauth.DescribeSecret(ctx, use, name)
		if err != nil {
			d.problem("secret", awsauth.ExplainSecret(err, principal, use.Region, account, name))
			continue
		}
		d.line("ok", "secret", fmt.Sprintf("%s: %s is describable by %s (its value is not read)", name, arn, principal))
	}
}
