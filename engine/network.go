package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/engine/worker"
	"github.com/rulebench/rulebench/mocks"
)

// NetworkCall is one outside call rule code made (HTTP, AWS, or a blocked
// connection or DNS lookup).
type NetworkCall = worker.NetworkCall

// NetworkOptions say what happens to calls rule code makes to the outside.
type NetworkOptions struct {
	// Mode is worker.NetworkOffline (the default: answered from fixtures,
	// nothing leaves the machine) or worker.NetworkReal.
	Mode string
	// Fixtures answer HTTP and AWS calls offline, with those read from
	// FixtureDirs and (RepoFixtures) the repository's fixtures/ directory
	// when Use is called. Without any, every call fails naming what to add.
	Fixtures     *mocks.Fixtures
	FixtureDirs  []string
	RepoFixtures bool
	// Account is the AWS account offline answers put in ARNs (default
	// 123456789012).
	Account string
	// Credentials, in real mode, resolves once (when the engine starts)
	// the identity the workers act as.
	Credentials func(ctx context.Context) (NetworkSession, error)
}

// NetworkSession is what real-mode workers get.
type NetworkSession struct {
	// Env is added to the workers' environment (AWS credentials, region).
	Env []string
	// Secrets are the values in Env to mask, by name.
	Secrets map[string]string
	// Describe says who AWS calls run as, for status lines.
	Describe string
}

// OfflineAWSEnv is the environment offline workers get: throwaway
// credentials, so a rule that asks botocore for credentials never finds the
// user's real ones nor starts an SSO refresh, and no instance-metadata
// lookups.
var OfflineAWSEnv = []string{
	"AWS_ACCESS_KEY_ID=ASIARULEBENCHOFFLINE",
	"AWS_SECRET_ACCESS_KEY=rulebench-offline-throwaway-secret-access-key",
	"AWS_SESSION_TOKEN=rulebench-offline-throwaway-session-token",
	"AWS_EC2_METADATA_DISABLED=true",
}

// harnessNetwork is the "network" part of a worker's configuration, as
// network.py reads it.
type harnessNetwork struct {
	Mode    string              `json:"mode"`
	HTTP    []mocks.HTTPFixture `json:"http,omitempty"`
	AWS     []mocks.AWSFixture  `json:"aws,omitempty"`
	Secrets map[string]string   `json:"secrets,omitempty"`
	// SecretSources says where each secret is defined, for traces.
	SecretSources map[string]string `json:"secret_sources,omitempty"`
	Account       string            `json:"account,omitempty"`
}

// networkState is the engine's side of outside calls.
type networkState struct {
	mode     string
	describe string
	secrets  *Secrets
	fixtures *mocks.Fixtures
	err      error
}

// startNetwork settles the mode and the workers' environment before they
// start (real-mode credentials are resolved here, once).
func (e *Engine) startNetwork(ctx context.Context) error {
	o := e.opts.Network
	e.net.secrets = NewSecrets()
	switch o.Mode {
	case "", worker.NetworkOffline:
		e.net.mode = worker.NetworkOffline
	case worker.NetworkReal:
		e.net.mode = worker.NetworkReal
	default:
		return fmt.Errorf("network mode %q: want offline or real", o.Mode)
	}
	env := append([]string(nil), e.wopts.Env...)
	if e.net.mode == worker.NetworkOffline {
		env = append(env, OfflineAWSEnv...)
		if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
			// Panther's runtime always has a region; boto3 refuses to make
			// most clients without one.
			env = append(env, "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1")
		}
	} else if o.Credentials != nil {
		sess, err := o.Credentials(ctx)
		if err != nil {
			return fmt.Errorf("--network real: %w", err)
		}
		env = append(env, sess.Env...)
		for name, value := range sess.Secrets {
			e.net.secrets.Add(name, value)
		}
		e.net.describe = sess.Describe
	}
	e.wopts.Env = env
	return nil
}

// useNetwork reads the fixtures for r and returns the workers' encoded
// network configuration. A fixture problem is kept for NetworkErr: the
// engine still runs, and every offline call then fails.
func (e *Engine) useNetwork(r *repo.Repository) json.RawMessage {
	o := e.opts.Network
	fixtures := o.Fixtures
	dirs := append([]string(nil), o.FixtureDirs...)
	if o.RepoFixtures && r != nil {
		dir := filepath.Join(r.Root, mocks.FixtureDir)
		if info, err := os.Stat(dir); err == nil && info.IsDir() {
			dirs = append(dirs, dir)
		}
	}
	if len(dirs) > 0 {
		loaded, err := mocks.LoadFixtures(dirs...)
		if err != nil {
			e.net.err = err
		} else {
			fixtures = loaded.Merge(fixtures)
		}
	}
	e.net.fixtures = fixtures
	cfg := harnessNetwork{Mode: e.net.mode, Account: o.Account}
	if fixtures != nil {
		for _, name := range fixtures.SecretNames() {
			e.net.secrets.Add(name, fixtures.Secrets[name])
		}
		if e.net.mode == worker.NetworkOffline {
			cfg.HTTP, cfg.AWS, cfg.Secrets = fixtures.HTTP, fixtures.AWS, fixtures.Secrets
			cfg.SecretSources = map[string]string{}
			for name := range fixtures.Secrets {
				cfg.SecretSources[name] = fixtures.SecretSource(name)
			}
		}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		e.net.err = fmt.Errorf("encode network fixtures: %w", err)
		raw, _ = json.Marshal(harnessNetwork{Mode: e.net.mode})
	}
	return raw
}

// NetworkErr reports a problem with the fixtures (a file that does not
// parse, a missing --fixtures directory). Check it after Use.
func (e *Engine) NetworkErr() error { return e.net.err }

// NetworkMode is worker.NetworkOffline or worker.NetworkReal.
func (e *Engine) NetworkMode() string { return e.net.mode }

// NetworkStatus describes what outside calls do, for a status line:
// "offline: 2 HTTP, 0 AWS, 1 secret(s) in 1 file(s)" or "real: AWS calls
// run as arn:...".
func (e *Engine) NetworkStatus() string {
	if e.net.mode == worker.NetworkReal {
		if e.net.describe != "" {
			return "real: " + e.net.describe
		}
		return "real"
	}
	return "offline: " + e.net.fixtures.Summary()
}

// Fixtures are the fixtures in use (nil: none).
func (e *Engine) Fixtures() *mocks.Fixtures { return e.net.fixtures }

// Secrets is the engine's masker: every Result and import report the
// engine hands out is already masked with it. Anything else shown to a
// person that may carry rule output must go through it too.
func (e *Engine) Secrets() *Secrets { return e.net.secrets }

// learnAndMask registers the secrets a result's calls received, then masks
// the result.
func (s *Secrets) learnAndMask(r *Result) {
	if s == nil || r == nil {
		return
	}
	for _, sec := range r.learned {
		s.Add(sec.Name, sec.Value)
	}
	r.learned = nil
	s.MaskResult(r)
}

func (s *Secrets) learnAndMaskLoad(reply worker.LoadReply) worker.LoadReply {
	if s == nil {
		return reply
	}
	for _, sec := range reply.Secrets {
		s.Add(sec.Name, sec.Value)
	}
	reply.Secrets = nil
	return s.maskLoad(reply)
}

// MissingFixtures lists the calls offline mode could not answer (no
// fixture) or refused (raw connections, DNS).
func (r *Result) MissingFixtures() []NetworkCall {
	var out []NetworkCall
	for _, c := range r.NetworkCalls {
		if c.Source == worker.CallMissing || c.Source == worker.CallBlocked {
			out = append(out, c)
		}
	}
	return out
}

// NetworkUsage tallies outside calls per detection over a run, to project
// them to production volumes. Safe for concurrent use.
type NetworkUsage struct {
	mu    sync.Mutex
	rules map[string]*ruleUsage
}

type ruleUsage struct {
	events   int64
	calls    int64
	failed   int64
	duration time.Duration
	byAPI    map[string]int64
	byFunc   map[string]int64
}

// NewNetworkUsage returns an empty tally.
func NewNetworkUsage() *NetworkUsage { return &NetworkUsage{rules: map[string]*ruleUsage{}} }

// Add counts one evaluated event of detection and the calls it made.
func (u *NetworkUsage) Add(detection string, calls []NetworkCall) {
	u.AddEvents(detection, 1, calls)
}

// AddEvents counts events evaluated by detection and the calls they made
// altogether (a replay that keeps only counters reports in bulk).
func (u *NetworkUsage) AddEvents(detection string, events int64, calls []NetworkCall) {
	u.mu.Lock()
	defer u.mu.Unlock()
	ru := u.rule(detection)
	ru.events += events
	for _, c := range calls {
		ru.calls++
		if c.Failed() {
			ru.failed++
		}
		ru.duration += time.Duration(c.DurationNS)
		ru.byAPI[c.API()]++
		fn := c.Function
		if fn == "" {
			fn = "?"
		}
		ru.byFunc[fn]++
	}
}

// Calls is the number of calls counted.
func (u *NetworkUsage) Calls() int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	var n int64
	for _, ru := range u.rules {
		n += ru.calls
	}
	return n
}

// RateProjection is what a run's outside calls come to at production
// volume: the sample's calls scaled from its events to EventsPerHour.
type RateProjection struct {
	SampleEvents  int64   `json:"sample_events"`
	EventsPerHour float64 `json:"events_per_hour"`
	// RateLimit is calls per minute (0: none given).
	RateLimit float64          `json:"rate_limit_per_minute,omitempty"`
	Calls     int64            `json:"calls"`
	Rules     []RuleProjection `json:"rules"`
	// APIs sums every rule's calls to one API (a host, an AWS operation):
	// rate limits apply per API key, whichever rule spends it. Only HTTP
	// APIs are held to RateLimit.
	APIs     []APIProjection `json:"apis"`
	Warnings []string        `json:"warnings"`
}

// RuleProjection is one detection's share.
type RuleProjection struct {
	Detection string `json:"detection"`
	// Events is how many sample events the detection evaluated; Calls
	// what they made, Failed how many of those got no good answer.
	Events int64 `json:"events"`
	Calls  int64 `json:"calls"`
	Failed int64 `json:"failed"`
	// CallsPerEvent is per event the detection evaluated.
	CallsPerEvent float64 `json:"calls_per_event"`
	PerHour       float64 `json:"calls_per_hour"`
	PerMinute     float64 `json:"calls_per_minute"`
	OverLimit     bool    `json:"over_limit,omitempty"`
	// MeanCallMS is the average time one call took.
	MeanCallMS float64          `json:"mean_call_ms"`
	APIs       map[string]int64 `json:"apis"`
	Functions  map[string]int64 `json:"functions"`
}

// APIProjection is every rule's calls to one API.
type APIProjection struct {
	API       string  `json:"api"`
	Calls     int64   `json:"calls"`
	PerHour   float64 `json:"calls_per_hour"`
	PerMinute float64 `json:"calls_per_minute"`
	OverLimit bool    `json:"over_limit,omitempty"`
}

// Project scales the tally from sampleEvents (all events of the run, so
// the sample's mix of log types stands for production's) to eventsPerHour,
// and flags what goes above ratePerMinute (0: no limit). Detections that
// made no call are left out.
func (u *NetworkUsage) Project(sampleEvents int64, eventsPerHour, ratePerMinute float64) RateProjection {
	p := RateProjection{SampleEvents: sampleEvents, EventsPerHour: eventsPerHour, RateLimit: ratePerMinute,
		Rules: []RuleProjection{}, APIs: []APIProjection{}, Warnings: []string{}}
	scale := 0.0
	if sampleEvents > 0 {
		scale = eventsPerHour / float64(sampleEvents)
	}
	over := func(perMinute float64) bool { return ratePerMinute > 0 && perMinute > ratePerMinute }
	apis := map[string]int64{}
	u.mu.Lock()
	for id, ru := range u.rules {
		if ru.calls == 0 {
			continue
		}
		rp := RuleProjection{Detection: id, Events: ru.events, Calls: ru.calls, Failed: ru.failed,
			PerHour: float64(ru.calls) * scale, APIs: map[string]int64{}, Functions: map[string]int64{}}
		rp.PerMinute = rp.PerHour / 60
		if ru.events > 0 {
			rp.CallsPerEvent = float64(ru.calls) / float64(ru.events)
		}
		rp.MeanCallMS = float64(ru.duration) / float64(ru.calls) / float64(time.Millisecond)
		rp.OverLimit = over(rp.PerMinute)
		for k, v := range ru.byAPI {
			rp.APIs[k] = v
			apis[k] += v
		}
		for k, v := range ru.byFunc {
			rp.Functions[k] = v
		}
		p.Calls += ru.calls
		p.Rules = append(p.Rules, rp)
	}
	u.mu.Unlock()
	sort.Slice(p.Rules, func(i, j int) bool {
		if p.Rules[i].Calls != p.Rules[j].Calls {
			return p.Rules[i].Calls > p.Rules[j].Calls
		}
		return p.Rules[i].Detection < p.Rules[j].Detection
	})
	for api, n := range apis {
		ap := APIProjection{API: api, Calls: n, PerHour: float64(n) * scale}
		ap.PerMinute = ap.PerHour / 60
		// The limit is a third-party API's: AWS operations have quotas of
		// their own, orders of magnitude higher.
		ap.OverLimit = over(ap.PerMinute) && (strings.HasPrefix(api, "https://") || strings.HasPrefix(api, "http://"))
		p.APIs = append(p.APIs, ap)
	}
	sort.Slice(p.APIs, func(i, j int) bool {
		if p.APIs[i].Calls != p.APIs[j].Calls {
			return p.APIs[i].Calls > p.APIs[j].Calls
		}
		return p.APIs[i].API < p.APIs[j].API
	})
	if eventsPerHour > 0 {
		for _, rp := range p.Rules {
			if rp.OverLimit {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s would make %s calls a minute at %s events an hour, above the limit of %s a minute",
					rp.Detection, Count(rp.PerMinute), Count(eventsPerHour), Count(ratePerMinute)))
			}
		}
		for _, ap := range p.APIs {
			if ap.OverLimit {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s would get %s calls a minute from all rules together, above the limit of %s a minute",
					ap.API, Count(ap.PerMinute), Count(ratePerMinute)))
			}
		}
	}
	return p
}

// Count formats a projected number for people: whole numbers with thousands
// separators, small ones with a decimal.
func Count(f float64) string {
	switch {
	case f == 0:
		return "0"
	case f < 10 && f != math.Trunc(f):
		return fmt.Sprintf("%.2g", f)
	}
	n := int64(math.Round(f))
	s := fmt.Sprint(n)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// AddTally counts calls a worker tallied (its rule code's calls since it
// was last asked).
func (u *NetworkUsage) AddTally(t worker.NetworkTally) {
	u.mu.Lock()
	defer u.mu.Unlock()
	ru := u.rule(t.Detection)
	ru.calls += t.Calls
	ru.failed += t.Failed
	ru.duration += time.Duration(t.DurationNS)
	ru.byAPI[t.API] += t.Calls
	fn := t.Function
	if fn == "" {
		fn = "?"
	}
	ru.byFunc[fn] += t.Calls
}

// SetEvents sets how many events detection evaluated (a replay counts
// them itself).
func (u *NetworkUsage) SetEvents(detection string, events int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.rule(detection).events = events
}

func (u *NetworkUsage) rule(detection string) *ruleUsage {
	ru := u.rules[detection]
	if ru == nil {
		ru = &ruleUsage{byAPI: map[string]int64{}, byFunc: map[string]int64{}}
		u.rules[detection] = ru
	}
	return ru
}

// CollectNetworkUsage adds to u the calls every worker's rule code made
// since the last collection, including calls on events whose results were
// not sent back. Call it when no run is in flight; a worker that died in
// between takes its count with it.
func (e *Engine) CollectNetworkUsage(ctx context.Context, u *NetworkUsage) error {
	leases, err := e.pool.AcquireAll(ctx)
	if err != nil {
		return err
	}
	defer func() {
		for _, l := range leases {
			l.Release()
		}
	}()
	for _, l := range leases {
		tallies, err := l.Worker.NetworkStats(ctx)
		if err != nil {
			return err
		}
		for _, t := range tallies {
			u.AddTally(t)
		}
	}
	return nil
}
