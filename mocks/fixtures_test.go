package mocks

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func writeFixtureFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadFixtures(t *testing.T) {
	dir := writeFixtureFiles(t, map[string]string{
		"b_vt.yml": `
http:
  - name: VirusTotal
    method: get
    url: https://www.virustotal.com/api/v3/ip_addresses/*
    request_headers: {X-ApiKey: "*"}
    json: {data: {attributes: {country: NL}}}
    latency: 150ms
  - url_regex: 'https://api\.example\.com/v[0-9]+/.*'
    status: 503
    headers: {Retry-After: "5"}
    body: try later
  - url: https://files.example.com/blob
    body_file: blob.bin
secrets:
  panther-secrets/virus-total: {api_key: vt-key-1234}
  plain: just-text
`,
		"blob.bin": "\xff\xfe\x00binary",
		"a_aws.json": `{"aws": [{"service": "SecretsManager", "operation": "get_secret_value", "params": {"SecretId": "x"}, "error": {"code": "AccessDeniedException", "message": "no"}},
		                         {"service": "dynamodb", "operation": "GetItem", "response": {"Item": {"k": {"S": "v"}}}}]}`,
		"empty.yaml":     "",
		".hidden/x.yml":  "not: [valid",
		"notes.txt":      "ignored",
		"sub/nested.yml": "secrets: {nested: value-1}\n",
	})
	f, err := LoadFixtures(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Files) != 4 || !strings.HasSuffix(f.Files[0], "a_aws.json") {
		t.Errorf("files %v", f.Files)
	}
	if len(f.HTTP) != 3 || len(f.AWS) != 2 || len(f.Secrets) != 3 {
		t.Fatalf("%s", f.Summary())
	}
	vt := f.HTTP[0]
	if vt.Method != "GET" || vt.Status != 200 || vt.Latency != 0.15 || vt.Headers["Content-Type"] != "application/json" ||
		vt.Body != `{"data":{"attributes":{"country":"NL"}}}` || !strings.HasSuffix(vt.Source, "b_vt.yml:3") {
		t.Errorf("vt fixture %+v", vt)
	}
	if vt.RequestHeaders["x-apikey"] != "^.*$" {
		t.Errorf("request header names are matched lower case: %v", vt.RequestHeaders)
	}
	re := regexp.MustCompile(vt.Pattern)
	if !re.MatchString("https://www.virustotal.com/api/v3/ip_addresses/1.2.3.4") || re.MatchString("https://www.virustotal.com/api/v3/domains/x") ||
		re.MatchString("https://www.virustotalXcom/api/v3/ip_addresses/1") {
		t.Errorf("glob %q", vt.Pattern)
	}
	if re := regexp.MustCompile(f.HTTP[1].Pattern); !re.MatchString("https://api.example.com/v2/x") || re.MatchString("https://api.example.com/v2/x.evil.com/") == false {
		t.Errorf("url_regex %q", f.HTTP[1].Pattern)
	}
	if b, _ := base64.StdEncoding.DecodeString(f.HTTP[2].BodyBase64); string(b) != "\xff\xfe\x00binary" || f.HTTP[2].Body != "" {
		t.Errorf("a binary body_file travels as base64: %+v", f.HTTP[2])
	}
	denied := f.AWS[0]
	if denied.Service != "secretsmanager" || denied.Key != "getsecretvalue" || denied.Error.Status != 400 || denied.Params["SecretId"] != "x" {
		t.Errorf("aws fixture %+v", denied)
	}
	if got := f.Secrets["panther-secrets/virus-total"]; got != `{"api_key":"vt-key-1234"}` {
		t.Errorf("a mapping secret is stored as JSON text: %q", got)
	}
	if f.Secrets["plain"] != "just-text" || f.Secrets["nested"] != "value-1" || !strings.HasSuffix(f.SecretSource("plain"), "b_vt.yml:17") {
		t.Errorf("secrets %v (plain at %s)", f.Secrets, f.SecretSource("plain"))
	}
	if names := f.SecretNames(); strings.Join(names, ",") != "nested,panther-secrets/virus-total,plain" {
		t.Errorf("names %v", names)
	}
	// What the worker receives.
	wire, err := json.Marshal(f)
	if err != nil || !strings.Contains(string(wire), `"pattern":"^https://www\\.virustotal\\.com/api/v3/ip_addresses/.*$"`) {
		t.Errorf("wire form %s %v", wire, err)
	}
}

func TestFixtureErrorsNameFileAndLine(t *testing.T) {
	dir := writeFixtureFiles(t, map[string]string{
		"bad.yml": `
http:
  - url: https://ok.example.com/
  - method: GET
  - url: https://x.example.com/
    status: 999
  - url: https://y.example.com/
    body: a
    json: {b: 1}
aws:
  - service: sts
  - service: s3
    operation: GetObject
    response: {}
    error: {code: X}
  - service: s3
    operation: GetObject
    error: {message: no code}
  - service: s3
    operation: GetObject
    latency: soon
secrets:
  list: [a, b]
`,
		"typo.yml":   "http:\n  - url: https://a.example.com/\n    stauts: 404\n",
		"broken.yml": "http: [\n",
		"dup.yml":    "secrets: {list: again}\n",
	})
	_, err := LoadFixtures(dir, filepath.Join(dir, "missing"))
	if err == nil {
		t.Fatal("want errors")
	}
	msg := err.Error()
	for _, want := range []string{
		"bad.yml: line 4: http fixture: url is required",
		"bad.yml: line 5: http fixture: status 999 is not an HTTP status",
		"bad.yml: line 7: http fixture: give one of body, json and body_file",
		"bad.yml: line 11: aws fixture: service and operation are required",
		"bad.yml: line 12: aws fixture: give response or error, not both",
		"bad.yml: line 16: aws fixture: error.code is required",
		"bad.yml: line 19: aws fixture: latency \"soon\"",
		"bad.yml: line 23: secret \"list\": want text or a mapping",
		"typo.yml: line 3: field stauts not found in an http fixture",
		"broken.yml: line 1: did not find expected node content",
		"fixtures " + filepath.Join(dir, "missing") + ":",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("errors lack %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "ok.example.com") {
		t.Errorf("a good entry is not an error:\n%s", msg)
	}
}

func TestFixtureDuplicateSecretsAndMerge(t *testing.T) {
	dir := writeFixtureFiles(t, map[string]string{"a.yml": "secrets: {s: one}\n", "b.yml": "secrets: {s: two}\n"})
	if _, err := LoadFixtures(dir); err == nil || !strings.Contains(err.Error(), `secret "s" is also defined at`) {
		t.Errorf("duplicate secret: %v", err)
	}
	a, err := LoadFixtures(filepath.Join(dir, "a.yml"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadFixtures(filepath.Join(dir, "b.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if m := a.Merge(b); m.Secrets["s"] != "one" || len(m.Files) != 2 {
		t.Errorf("merge: %v %v", m.Secrets, m.Files)
	}
	if a.Merge(nil) != a {
		t.Error("merge with nothing")
	}
	var none *Fixtures
	if !none.Empty() || none.Summary() != "no fixtures" || a.Empty() {
		t.Error("empty")
	}
}

func TestGlobAndOperationKey(t *testing.T) {
	if g := Glob("https://h/a?b=*&c=(1)"); g != `^https://h/a\?b=.*&c=\(1\)$` {
		t.Errorf("glob %s", g)
	}
	if OperationKey("get_secret_value") != OperationKey("GetSecretValue") {
		t.Error("operation names")
	}
}
