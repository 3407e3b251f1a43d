package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/awsauth"
	"github.com/rulebench/rulebench/engine/replay"
	"github.com/rulebench/rulebench/engine/worker"
	"github.com/rulebench/rulebench/ui/theme"
)

// networkFlags choose what outside calls from rule code do.
type networkFlags struct {
	mode      string
	fixtures  listFlag
	showCalls bool
}

func (f *networkFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.mode, "network", worker.NetworkOffline, "outside calls from rule code: offline (answered from fixtures; nothing leaves the machine) or real (calls go out, AWS as --aws-profile/--assume-role)")
	fs.Var(&f.fixtures, "fixtures", "directory or file of network fixtures (repeatable; default: the repository's fixtures/ directory)")
	fs.BoolVar(&f.showCalls, "show-calls", false, "print every outside call (HTTP, AWS) with its status, time and what answered it")
}

// options turns the flags into the engine's network options. In real mode
// AWS credentials are resolved when the engine starts, with the same
// --aws-profile, --aws-region and --assume-role as the DynamoDB cache.
func (f *networkFlags) options(c *cacheFlags) (engine.NetworkOptions, error) {
	o := engine.NetworkOptions{Mode: f.mode, FixtureDirs: f.fixtures, RepoFixtures: len(f.fixtures) == 0}
	switch f.mode {
	case worker.NetworkOffline:
	case worker.NetworkReal:
		cfg := awsauth.Config{Profile: c.profile, Region: c.region, AssumeRoleARN: c.assumeRole}
		o.Credentials = func(ctx context.Context) (engine.NetworkSession, error) {
			sess, err := awsauth.Resolve(ctx, cfg)
			if err != nil {
				if cfg.AssumeRoleARN == "" && cfg.Profile == "" && errors.Is(err, awsauth.ErrNoCredentials) {
					// Real mode is also for rules that only call HTTP APIs.
					return engine.NetworkSession{Describe: err.Error() + "; AWS calls from rule code will fail"}, nil
				}
				return engine.NetworkSession{}, err
			}
			who := "the AWS credentials of the environment"
			if sess.Role != "" {
				who = sess.Caller
			}
			return engine.NetworkSession{Env: sess.Env(), Secrets: sess.Secrets(),
				Describe: fmt.Sprintf("calls leave this machine; AWS calls run as %s (%s)", who, sess.Region)}, nil
		}
	default:
		return o, fmt.Errorf("--network %q: want offline or real", f.mode)
	}
	return o, nil
}

// noteNetwork tells the user, on stderr, when calls will leave the machine.
func noteNetwork(w io.Writer, e *engine.Engine) {
	if e.NetworkMode() == worker.NetworkReal {
		fmt.Fprintf(w, "rulebench: --network %s\n", e.NetworkStatus())
	}
}

// rateFlags project a run's outside calls to production volume.
type rateFlags struct {
	eventsPerHour float64
	rateLimit     float64
}

func (f *rateFlags) register(fs *flag.FlagSet) {
	fs.Float64Var(&f.eventsPerHour, "events-per-hour", 0, "project outside calls to this many events an hour (the input's mix of log types standing for production's)")
	fs.Float64Var(&f.rateLimit, "rate-limit", 0, "warn when a rule, or all rules calling one API, would exceed this many calls a minute (with --events-per-hour)")
}

func (f *rateFlags) check() error {
	if f.eventsPerHour < 0 || f.rateLimit < 0 {
		return errors.New("--events-per-hour and --rate-limit must not be negative")
	}
	if f.rateLimit > 0 && f.eventsPerHour == 0 {
		return errors.New("--rate-limit needs --events-per-hour (the volume to project to)")
	}
	return nil
}

// formatCall is one outside call on one line: what, answer, where from,
// how long, and which function made it.
func formatCall(root string, c engine.NetworkCall) string {
	var b strings.Builder
	b.WriteString(c.Target)
	switch c.Source {
	case worker.CallMissing:
		b.WriteString(" ! no fixture")
		if c.Kind == "aws" && c.Code != "" && c.Code != "RulebenchNoFixture" {
			fmt.Fprintf(&b, " (answered %s)", c.Code)
		}
	case worker.CallBlocked:
		b.WriteString(" ! blocked (offline)")
	default:
		if c.Status != 0 {
			fmt.Fprintf(&b, " → %d", c.Status)
		}
		if c.Code != "" {
			b.WriteString(" " + c.Code)
		} else if c.Error != "" {
			b.WriteString(" ! " + firstLine(c.Error))
		}
	}
	var tags []string
	switch {
	case c.Source == worker.CallFixture && c.Fixture != "":
		tags = append(tags, "fixture "+relPath(root, c.Fixture))
	case c.Source == worker.CallReal:
		tags = append(tags, "real")
	}
	if c.DurationNS > 0 {
		tags = append(tags, time.Duration(c.DurationNS).Round(10*time.Microsecond).String())
	}
	if c.Function != "" {
		tags = append(tags, c.Function+"()")
	}
	if len(tags) > 0 {
		b.WriteString("  (" + strings.Join(tags, ", ") + ")")
	}
	return b.String()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// callFailed: offline calls that had no answer are shown even without
// --show-calls, since they fail the test.
func callFailed(c engine.NetworkCall) bool {
	return c.Source == worker.CallMissing || c.Source == worker.CallBlocked
}

// calls prints a test's outside calls under it, after its cache calls.
func (t *textReport) calls(r *engine.Result) {
	for _, c := range r.NetworkCalls {
		switch {
		case callFailed(c):
			fmt.Fprintf(t.w, "        %s %s %s\n", t.st.Fail.Render("[FAIL]"), t.st.Accent.Render("call"), formatCall(t.root, c))
			fmt.Fprintf(t.w, "               %s\n", t.st.Muted.Render(c.FixtureHint()))
		case t.showCalls:
			fmt.Fprintf(t.w, "        %s %s\n", t.st.Accent.Render("call"), formatCall(t.root, c))
		}
	}
}

// writeProjectionText prints the rate projection of a run.
func writeProjectionText(w io.Writer, st theme.TextStyles, p engine.RateProjection, mode string) {
	if p.Calls == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n", st.Header.Render(fmt.Sprintf("Outside calls (%s): %s over %s events", mode, engine.Count(float64(p.Calls)), engine.Count(float64(p.SampleEvents)))))
	project := p.EventsPerHour > 0
	if project {
		fmt.Fprintf(w, "  projected to %s events an hour", engine.Count(p.EventsPerHour))
		if p.RateLimit > 0 {
			fmt.Fprintf(w, ", limit %s calls a minute", engine.Count(p.RateLimit))
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  %-44s %8s %8s %9s %12s %10s  %s\n", "RULE", "CALLS", "FAILED", "CALLS/EV", "PER HOUR", "PER MIN", "FROM")
	} else {
		fmt.Fprintf(w, "  %-44s %8s %8s %9s  %s\n", "RULE", "CALLS", "FAILED", "CALLS/EV", "FROM")
	}
	for _, rp := range p.Rules {
		from := functionsText(rp.Functions)
		if project {
			line := fmt.Sprintf("  %-44s %8d %8d %9.3f %12s %10s  %s", trimTo(rp.Detection, 44), rp.Calls, rp.Failed, rp.CallsPerEvent,
				engine.Count(rp.PerHour), engine.Count(rp.PerMinute), from)
			if rp.OverLimit {
				line = st.Warn.Render(line + "  ⚠ over the limit")
			}
			fmt.Fprintln(w, line)
		} else {
			fmt.Fprintf(w, "  %-44s %8d %8d %9.3f  %s\n", trimTo(rp.Detection, 44), rp.Calls, rp.Failed, rp.CallsPerEvent, from)
		}
	}
	for _, ap := range p.APIs {
		line := fmt.Sprintf("  %s %s: %d call(s)", st.Muted.Render("api"), ap.API, ap.Calls)
		if project {
			line += fmt.Sprintf(", %s an hour, %s a minute", engine.Count(ap.PerHour), engine.Count(ap.PerMinute))
		}
		if ap.OverLimit {
			line = st.Warn.Render(line + "  ⚠ over the limit")
		}
		fmt.Fprintln(w, line)
	}
	for _, warning := range p.Warnings {
		fmt.Fprintf(w, "%s %s\n", st.Warn.Render("warning:"), warning)
	}
	if project && len(p.Warnings) > 0 {
		fmt.Fprintf(w, "  %s\n", st.Muted.Render("call APIs from alert_context() rather than rule(), and cache answers (panther_detection_helpers.caching) to stay under the limit"))
	}
}

func functionsText(fns map[string]int64) string {
	var parts []string
	for _, name := range []string{"rule", "policy", "title", "dedup", "alert_context", "severity", "description", "reference", "runbook", "destinations", "import", "?"} {
		if n := fns[name]; n > 0 {
			label := name + "()"
			if name == "import" || name == "?" {
				label = map[string]string{"import": "import", "?": "other"}[name]
			}
			parts = append(parts, fmt.Sprintf("%s %d", label, n))
		}
	}
	return strings.Join(parts, ", ")
}

// networkReport is a run's outside calls: the network mode and the
// projection to production volume (JSON "network").
type networkReport struct {
	Mode string `json:"mode"`
	engine.RateProjection
}

// projectCalls collects what the workers' rule code called during a
// replay (every event's calls, not only the matches') and projects it.
func projectCalls(ctx context.Context, eng *engine.Engine, summary *engine.StreamSummary, rate rateFlags) (*networkReport, error) {
	p, err := replay.ProjectCalls(ctx, eng, summary, rate.eventsPerHour, rate.rateLimit)
	if p == nil || err != nil {
		return nil, err
	}
	return &networkReport{Mode: eng.NetworkMode(), RateProjection: *p}, nil
}
