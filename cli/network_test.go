package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rulebench/rulebench/cache/dynamotest"
	"github.com/rulebench/rulebench/engine/awsauth/awstest"
	"github.com/rulebench/rulebench/engine/worker"
)

func pythonHas(t *testing.T, module string) bool {
	t.Helper()
	py, err := worker.FindPython(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return exec.Command(py.Path, "-c", "import "+module).Run() == nil
}

type jsonTestReport struct {
	Summary map[string]int `json:"summary"`
	Rules   []struct {
		ID    string `json:"id"`
		Tests []struct {
			Name    string `json:"name"`
			Passed  bool   `json:"passed"`
			Failure string `json:"failure"`
			Stdout  string `json:"stdout"`
			Alert   *struct {
				Title        string          `json:"title"`
				AlertContext json.RawMessage `json:"alert_context"`
			} `json:"alert"`
			NetworkCalls []worker.NetworkCall `json:"network_calls"`
		} `json:"tests"`
	} `json:"rules"`
}

func decodeTestReport(t *testing.T, out string) jsonTestReport {
	t.Helper()
	var rep jsonTestReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return rep
}

// The bundled enrichment rule, unmocked, runs offline against the sample
// fixtures: STS, Secrets Manager and VirusTotal all answered locally.
func TestEnrichmentSamplePassesOffline(t *testing.T) {
	const id = "Sample.AWS.CloudTrail.RootConsoleLoginEnriched"
	out, errOut, code := run(t, "test", "--filter", id, "--format", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	if strings.Contains(out, "rulebench-fixture-virustotal-key") {
		t.Error("the fixture API key must never be shown")
	}
	rep := decodeTestReport(t, out)
	var found bool
	for _, tr := range rep.Rules[0].Tests {
		if tr.Name != "Root login from a flagged address, enriched offline from fixtures" {
			continue
		}
		found = true
		if !pythonHas(t, "boto3") {
			t.Log("boto3 is not installed: the lookup reports the ImportError, and the test still passes")
			if len(tr.NetworkCalls) != 0 {
				t.Errorf("calls without boto3: %+v", tr.NetworkCalls)
			}
			continue
		}
		var ctx struct {
			IPReputation struct {
				Verdict   string   `json:"verdict"`
				Country   string   `json:"country"`
				FlaggedBy []string `json:"flagged_by"`
			} `json:"ip_reputation"`
		}
		if err := json.Unmarshal(tr.Alert.AlertContext, &ctx); err != nil {
			t.Fatal(err)
		}
		if ctx.IPReputation.Verdict != "malicious" || ctx.IPReputation.Country != "CH" || strings.Join(ctx.IPReputation.FlaggedBy, ",") != "CRDF" {
			t.Errorf("alert context from fixtures: %s", tr.Alert.AlertContext)
		}
		var targets []string
		for _, c := range tr.NetworkCalls {
			targets = append(targets, fmt.Sprintf("%s %s %d", c.Source, c.Target, c.Status))
			if c.Function != "alert_context" {
				t.Errorf("call made from %q", c.Function)
			}
		}
		want := "fixture sts:AssumeRole 200,fixture secretsmanager:GetSecretValue 200,fixture GET https://www.virustotal.com/api/v3/ip_addresses/35.216.199.51 200"
		if strings.Join(targets, ",") != want {
			t.Errorf("calls %v", targets)
		}
		if c := tr.NetworkCalls[2]; !strings.Contains(c.Fixture, filepath.Join("fixtures", "virustotal.yml")) || c.DurationNS < 120e6 {
			t.Errorf("the VirusTotal answer comes from the sample fixture, with its latency: %+v", c)
		}
	}
	if !found {
		t.Fatal("the sample has no unmocked enrichment test")
	}

	if pythonHas(t, "boto3") {
		text, _, _ := run(t, "test", "--filter", id, "--show-calls", "--test", "Root login from a flagged address, enriched offline from fixtures")
		for _, want := range []string{
			"call sts:AssumeRole → 200  (fixture built-in",
			"call secretsmanager:GetSecretValue → 200  (fixture fixtures/virustotal.yml:",
			"call GET https://www.virustotal.com/api/v3/ip_addresses/35.216.199.51 → 200  (fixture fixtures/virustotal.yml:",
			"alert_context())",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("--show-calls output lacks %q:\n%s", want, text)
			}
		}
	}
}

func lookupRepo(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	all := map[string]string{
		"rules/lookup.py": `import urllib.request

def rule(event):
    try:
        urllib.request.urlopen("https://intel.example.net/v1/ip/" + event.get("ip"), timeout=2)
    except Exception:
        pass
    return True
`,
		"rules/lookup.yml": `AnalysisType: rule
RuleID: Intel.Lookup
Filename: lookup.py
Severity: Low
LogTypes: [Web]
Tests:
  - {Name: looked up, ExpectedResult: true, Log: {ip: 203.0.113.5}}
`,
	}
	for k, v := range files {
		all[k] = v
	}
	writeFiles(t, dir, all)
	return dir
}

func TestUnfixturedCallFailsNamingTheURL(t *testing.T) {
	dir := lookupRepo(t, nil)
	out, _, code := run(t, "test", dir)
	if code != ExitFailed {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{
		"[FAIL] looked up",
		"[FAIL] call GET https://intel.example.net/v1/ip/203.0.113.5 ! no fixture  (",
		"rule())",
		`add to a file in fixtures/:  http: [{method: GET, url: "https://intel.example.net/v1/ip/203.0.113.5", json: {...}}]`,
		"0 passed, 1 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	js, _, _ := run(t, "test", dir, "--format", "json")
	tr := decodeTestReport(t, js).Rules[0].Tests[0]
	if tr.Passed || !strings.Contains(tr.Failure, "no fixture for GET https://intel.example.net/v1/ip/203.0.113.5") ||
		len(tr.NetworkCalls) != 1 || tr.NetworkCalls[0].Source != worker.CallMissing ||
		!strings.Contains(tr.NetworkCalls[0].Error, "rulebench --network offline: no fixture for GET https://intel.example.net/v1/ip/203.0.113.5") {
		t.Errorf("json test %+v", tr)
	}

	// A fixture in the repository's fixtures/ directory answers it.
	writeFiles(t, dir, map[string]string{"fixtures/intel.yml": "http:\n  - url: https://intel.example.net/v1/ip/*\n    json: {score: 1}\n"})
	if out, _, code := run(t, "test", dir, "--show-calls"); code != ExitOK || !strings.Contains(out, "call GET https://intel.example.net/v1/ip/203.0.113.5 → 200  (fixture fixtures/intel.yml:2") {
		t.Errorf("with a fixture: %d\n%s", code, out)
	}
	// --fixtures replaces the default directory.
	other := t.TempDir()
	writeFiles(t, other, map[string]string{"none.yml": "http: []\n"})
	if _, _, code := run(t, "test", dir, "--fixtures", other); code != ExitFailed {
		t.Errorf("--fixtures must replace fixtures/: exit %d", code)
	}
}

func TestNetworkFlagErrors(t *testing.T) {
	dir := lookupRepo(t, map[string]string{"fixtures/bad.yml": "http:\n  - method: GET\n"})
	if _, errOut, code := run(t, "test", dir, "--network", "online"); code != ExitUsage || !strings.Contains(errOut, `--network "online": want offline or real`) {
		t.Errorf("bad mode: %d %q", code, errOut)
	}
	if _, errOut, code := run(t, "test", dir); code != ExitRuntime || !strings.Contains(errOut, filepath.Join("fixtures", "bad.yml")+": line 2: http fixture: url is required") {
		t.Errorf("bad fixture: %d %q", code, errOut)
	}
	if _, errOut, code := run(t, "test", dir, "--fixtures", filepath.Join(dir, "nope")); code != ExitRuntime || !strings.Contains(errOut, "nope") {
		t.Errorf("missing --fixtures: %d %q", code, errOut)
	}
	if _, errOut, code := run(t, "run", dir, "--events", "x.jsonl", "--rate-limit", "4"); code != ExitUsage || !strings.Contains(errOut, "--rate-limit needs --events-per-hour") {
		t.Errorf("rate limit alone: %d %q", code, errOut)
	}
}

const maskedSecret = "s3cr3t-Intel-Key-9c1e"

// Secrets never reach the output: not in text, not in JSON, whichever
// command printed it.
func TestSecretsMaskedInTextAndJSON(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"repo/fixtures/secrets.yml": "secrets:\n  team/intel: " + maskedSecret + "\nhttp:\n  - url: https://intel.example.net/key\n    body: " + maskedSecret + "\n",
		"repo/rules/leak.py": `import urllib.request

KEY = urllib.request.urlopen("https://intel.example.net/key").read().decode()

def rule(event):
    print("the key is", KEY)
    return True

def title(event):
    return "key " + KEY

def alert_context(event):
    return {"key": KEY}

def dedup(event):
    raise RuntimeError("cannot use " + KEY)
`,
		"repo/rules/leak.yml": "AnalysisType: rule\nRuleID: Leak\nFilename: leak.py\nSeverity: Low\nLogTypes: [Web]\nTests:\n  - {Name: leaks, ExpectedResult: true, Log: {a: 1}}\n",
		"events.jsonl":        `{"p_log_type": "Web", "a": 1}` + "\n",
	})
	repoDir, events := filepath.Join(dir, "repo"), filepath.Join(dir, "events.jsonl")
	outputs := map[string]string{}
	outputs["test text"], _, _ = run(t, "test", repoDir, "--show-calls")
	outputs["test json"], _, _ = run(t, "test", repoDir, "--format", "json")
	outputs["run text"], _, _ = run(t, "run", repoDir, "--events", events, "--show-calls")
	outputs["run json"], _, _ = run(t, "run", repoDir, "--events", events, "--format", "json")
	outputs["run jsonl"], _, _ = run(t, "run", repoDir, "--events", events, "--format", "jsonl")
	for name, out := range outputs {
		if strings.Contains(out, maskedSecret) || strings.Contains(out, maskedSecret[:8]) {
			t.Errorf("%s leaks the secret:\n%s", name, out)
		}
		if !strings.Contains(out, "[masked:team/intel]") {
			t.Errorf("%s shows no masked value:\n%s", name, out)
		}
	}
	for name, want := range map[string]string{
		"test text": "[PASS] [title] key [masked:team/intel]",
		"test json": `"title": "key [masked:team/intel]"`,
		"run text":  `alert_context  {"key": "[masked:team/intel]"}`,
		"run json":  `"stdout": "the key is [masked:team/intel]\n"`,
		"run jsonl": `"dedup":"key [masked:team/intel]"`,
	} {
		if !strings.Contains(outputs[name], want) {
			t.Errorf("%s lacks %q:\n%s", name, want, outputs[name])
		}
	}
	if !strings.Contains(outputs["test text"], "[FAIL] [dedup] RuntimeError: cannot use [masked:team/intel]") {
		t.Errorf("the error line is masked:\n%s", outputs["test text"])
	}
}

func TestRunProjectsCallsToProductionVolume(t *testing.T) {
	dir := lookupRepo(t, map[string]string{"fixtures/intel.yml": "http:\n  - url: https://intel.example.net/v1/ip/*\n    json: {score: 1}\n"})
	var lines []string
	for i := 0; i < 20; i++ {
		lines = append(lines, fmt.Sprintf(`{"p_log_type": "Web", "ip": "198.51.100.%d"}`, i))
	}
	lines = append(lines, `{"p_log_type": "Other", "ip": "198.51.100.99"}`)
	writeFiles(t, dir, map[string]string{"events.jsonl": strings.Join(lines, "\n") + "\n"})
	events := filepath.Join(dir, "events.jsonl")

	out, errOut, code := run(t, "run", dir, "--events", events, "--events-per-hour", "1000000", "--rate-limit", "4", "--matches=false")
	if code != ExitOK {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"Outside calls (offline): 20 over 21 events",
		"projected to 1,000,000 events an hour, limit 4 calls a minute",
		"Intel.Lookup",
		"952,381",
		"warning: Intel.Lookup would make 15,873 calls a minute at 1,000,000 events an hour, above the limit of 4 a minute",
		"warning: https://intel.example.net would get 15,873 calls a minute from all rules together",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	js, _, _ := run(t, "run", dir, "--events", events, "--events-per-hour", "1000000", "--rate-limit", "4", "--format", "json")
	var rep struct {
		Network struct {
			Mode     string   `json:"mode"`
			Calls    int64    `json:"calls"`
			Warnings []string `json:"warnings"`
			Rules    []struct {
				Detection     string           `json:"detection"`
				Events        int64            `json:"events"`
				CallsPerEvent float64          `json:"calls_per_event"`
				PerMinute     float64          `json:"calls_per_minute"`
				OverLimit     bool             `json:"over_limit"`
				Functions     map[string]int64 `json:"functions"`
			} `json:"rules"`
		} `json:"network"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	n := rep.Network
	if n.Mode != "offline" || n.Calls != 20 || len(n.Rules) != 1 || n.Rules[0].Events != 20 || n.Rules[0].CallsPerEvent != 1 ||
		!n.Rules[0].OverLimit || n.Rules[0].Functions["rule"] != 20 || len(n.Warnings) != 2 {
		t.Errorf("network section %+v", n)
	}
	// Without a volume the run still reports what it called.
	out, _, _ = run(t, "run", dir, "--events", events, "--matches=false")
	if !strings.Contains(out, "Outside calls (offline): 20 over 21 events") || strings.Contains(out, "warning:") {
		t.Errorf("plain run:\n%s", out)
	}
}

func TestRealModeCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"score": 7}`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"rules/r.py": fmt.Sprintf(`import json, urllib.request

def rule(event):
    return json.loads(urllib.request.urlopen(%q + "/score").read())["score"] == 7
`, srv.URL),
		"rules/r.yml": "AnalysisType: rule\nRuleID: Real\nFilename: r.py\nSeverity: Low\nLogTypes: [Web]\nTests:\n  - {Name: scored, ExpectedResult: true, Log: {a: 1}}\n",
	})
	aws := awstest.New(t)
	aws.Isolate(t, "", "")
	out, errOut, code := run(t, "test", dir, "--network", "real", "--show-calls")
	if code != ExitOK {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "call GET "+srv.URL+"/score → 200  (real,") {
		t.Errorf("real call not shown:\n%s", out)
	}
	if !strings.Contains(errOut, "rulebench: --network real: no AWS credentials found (sign in with aws sso login") || !strings.Contains(errOut, "AWS calls from rule code will fail") {
		t.Errorf("real mode without credentials warns: %q", errOut)
	}
	// Offline the same test fails: nothing leaves the machine, not even
	// for a server on it.
	if _, _, code := run(t, "test", dir); code != ExitFailed {
		t.Errorf("offline: exit %d", code)
	}

	const dev, role = "arn:aws:iam::123456789012:user/dev", "arn:aws:iam::123456789012:role/Enrichment"
	aws.AddUser("AKIADEV0000000000001", dev)
	aws.AddRole(role, dev)
	aws.Isolate(t, "AKIADEV0000000000001", "dev-secret")
	_, errOut, code = run(t, "test", dir, "--network", "real", "--assume-role", role)
	if code != ExitOK || !strings.Contains(errOut, "AWS calls run as arn:aws:sts::123456789012:assumed-role/Enrichment/rulebench-") {
		t.Errorf("assumed role: %d %q", code, errOut)
	}
	_, errOut, code = run(t, "test", dir, "--network", "real", "--assume-role", "arn:aws:iam::123456789012:role/Nope")
	if code != ExitRuntime || !strings.Contains(errOut, "sts:AssumeRole on arn:aws:iam::123456789012:role/Nope failed: AccessDenied") {
		t.Errorf("role that cannot be assumed: %d %q", code, errOut)
	}
}

func doctorAWS(t *testing.T) *awstest.Server {
	s := awstest.New(t)
	s.AddUser("AKIADEV0000000000001", "arn:aws:iam::123456789012:user/dev")
	s.AddRole("arn:aws:iam::123456789012:role/PantherEnrichmentSecretsReader", "arn:aws:iam::123456789012:user/dev")
	s.AddSecret("panther-secrets/virus-total", "vt", "arn:aws:iam::123456789012:role/PantherEnrichmentSecretsReader")
	return s
}

func TestDoctorAgainstAFakeAWS(t *testing.T) {
	s := doctorAWS(t)
	s.Isolate(t, "AKIADEV0000000000001", "dev-secret")
	const role = "arn:aws:iam::123456789012:role/PantherEnrichmentSecretsReader"
	out, errOut, code := run(t, "doctor", "--network", "real", "--assume-role", role, "--secret", "panther-secrets/other")
	if code != ExitFailed {
		t.Errorf("exit %d (%s)", code, errOut)
	}
	for _, want := range []string{
		"ok    python",
		"ok    harness",
		"ok    repository",
		"ok    fixtures      fixtures: 2 HTTP, 0 AWS, 1 secret(s) in 1 file(s)",
		"ok    network       real: outside calls from rule code leave this machine",
		"ok    aws identity  arn:aws:iam::123456789012:user/dev (account 123456789012, us-east-1)",
		"ok    assume role   " + role + ": assumed as arn:aws:sts::123456789012:assumed-role/PantherEnrichmentSecretsReader/rulebench-",
		// The fixtures' secret is checked by name against real AWS.
		"ok    secret        panther-secrets/virus-total: arn:aws:secretsmanager:us-east-1:123456789012:secret:panther-secrets/virus-total-AbCdEf is describable",
		"FAIL  secret        secretsmanager:DescribeSecret on panther-secrets/other failed: AccessDeniedException",
		`{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": ["arn:aws:secretsmanager:us-east-1:123456789012:secret:panther-secrets/other-*"]}`,
		"1 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "vt\n") || s.Count("GetSecretValue") != 0 {
		t.Errorf("doctor must never read a secret's value")
	}

	out, _, code = run(t, "doctor", "--assume-role", "arn:aws:iam::123456789012:role/Untrusting")
	for _, want := range []string{
		"FAIL  assume role   sts:AssumeRole on arn:aws:iam::123456789012:role/Untrusting failed: AccessDenied",
		`{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:user/dev"}, "Action": "sts:AssumeRole"}`,
		`{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::123456789012:role/Untrusting"}`,
	} {
		if code != ExitFailed || !strings.Contains(out, want) {
			t.Errorf("untrusting role: %d, output lacks %q:\n%s", code, want, out)
		}
	}
}

func TestDoctorWithoutCredentials(t *testing.T) {
	s := doctorAWS(t)
	s.Isolate(t, "", "")
	out, _, code := run(t, "doctor", "--network", "real")
	if code != ExitFailed {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{
		"FAIL  aws identity  no AWS credentials found",
		"sign in with aws sso login, pick a profile with --aws-profile or AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
		"skip  aws           the remaining AWS checks need working credentials",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if len(s.Calls()) != 0 {
		t.Errorf("no credentials, no calls: %+v", s.Calls())
	}
	// Offline, AWS is not checked at all, and nothing fails.
	out, _, code = run(t, "doctor")
	if code != ExitOK || !strings.Contains(out, "skip  aws           offline;") {
		t.Errorf("offline doctor: %d\n%s", code, out)
	}
}

func TestDoctorRepositoryAndCache(t *testing.T) {
	dir := lookupRepo(t, map[string]string{
		"rules/broken.yml":  "AnalysisType: rule\nRuleID: Broken\n\tFilename: x.py\n",
		"fixtures/typo.yml": "http:\n  - url: https://x.example.com/\n    stauts: 200\n",
	})
	out, _, code := run(t, "doctor", dir)
	for _, want := range []string{
		"FAIL  repository",
		"rules/broken.yml: line ",
		"FAIL  fixtures      fixture files have errors:",
		"fixtures/typo.yml: line 3: field stauts not found in an http fixture",
	} {
		if code != ExitFailed || !strings.Contains(out, want) {
			t.Errorf("exit %d, output lacks %q:\n%s", code, want, out)
		}
	}

	server := dynamotest.Shared(t)
	table := dynamotest.NewTable(t)
	endpoint := server.Config(table.TableName()).Endpoint
	out, _, _ = run(t, "doctor", "--cache", "dynamodb", "--dynamodb-endpoint", endpoint, "--dynamodb-table", table.TableName())
	if !strings.Contains(out, "ok    cache         dynamodb table "+table.TableName()) {
		t.Errorf("reachable table:\n%s", out)
	}
	out, _, code = run(t, "doctor", "--cache", "dynamodb", "--dynamodb-endpoint", endpoint, "--dynamodb-table", "no-such-table")
	if code != ExitFailed || !strings.Contains(out, "FAIL  cache") || !strings.Contains(out, "no-such-table") {
		t.Errorf("missing table: %d\n%s", code, out)
	}
}
