package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rulebench/rulebench/engine/awsauth"
	"github.com/rulebench/rulebench/engine/awsauth/awstest"
	"github.com/rulebench/rulebench/engine/worker"
	"github.com/rulebench/rulebench/mocks"
)

func withNetwork(n NetworkOptions) engineOption { return func(o *Options) { o.Network = n } }
func withPython(p string) engineOption          { return func(o *Options) { o.Python = p } }

// pythonHas reports whether the test interpreter can import every module.
func pythonHas(t *testing.T, modules ...string) bool {
	t.Helper()
	py, err := worker.FindPython(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return exec.Command(py.Path, "-c", "import "+strings.Join(modules, ", ")).Run() == nil
}

func requireBoto3(t *testing.T) {
	t.Helper()
	if !pythonHas(t, "boto3") {
		t.Skip("boto3 is not installed for this python3: AWS calls cannot be exercised")
	}
}

func loadFixtures(t *testing.T, files map[string]string) *mocks.Fixtures {
	t.Helper()
	dir := writeRepo(t, files)
	f, err := mocks.LoadFixtures(dir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func callsOf(r *Result) []string {
	var out []string
	for _, c := range r.NetworkCalls {
		out = append(out, fmt.Sprintf("%s %s %d %s", c.Source, c.Target, c.Status, c.Function))
	}
	return out
}

const vtFixtures = `
	http:
	  - name: VirusTotal IP report
	    method: GET
	    url: https://www.virustotal.com/api/v3/ip_addresses/*
	    request_headers: {x-apikey: vt-fixture-key-1234}
	    json: {data: {attributes: {country: NL, last_analysis_stats: {malicious: 4}}}}
	  - url: https://api.example.com/limited
	    status: 429
	    headers: {Retry-After: "60"}
	    body: slow down
	secrets:
	  panther-secrets/virus-total: {api_key: vt-fixture-key-1234}
`

func TestOfflineHTTPFromFixtures(t *testing.T) {
	fx := loadFixtures(t, map[string]string{"vt.yml": vtFixtures})
	e, r := newEngine(t, map[string]string{
		"enrich.yml": ruleSpec("Enrich", "enrich.py", ""),
		"enrich.py": `
			import json, urllib.request, urllib.error

			def rule(event):
			    return True

			def alert_context(event):
			    req = urllib.request.Request(
			        "https://www.virustotal.com/api/v3/ip_addresses/" + event.get("ip"),
			        headers={"x-apikey": event.get("key")})
			    try:
			        with urllib.request.urlopen(req, timeout=5) as resp:
			            return {"status": resp.status, "body": json.loads(resp.read())}
			    except urllib.error.HTTPError as exc:
			        return {"http_error": exc.code, "retry": exc.headers.get("Retry-After")}
			    except urllib.error.URLError as exc:
			        return {"url_error": str(exc.reason)}

			def title(event):
			    try:
			        urllib.request.urlopen("https://api.example.com/limited")
			    except urllib.error.HTTPError as exc:
			        return "limited %d %s" % (exc.code, exc.headers.get("Retry-After"))
			    return "not limited"
		`,
	}, withNetwork(NetworkOptions{Fixtures: fx}))

	res := evalOne(t, e, r, "Enrich",
		`{"ip": "35.216.199.51", "key": "vt-fixture-key-1234"}`,
		`{"ip": "35.216.199.51", "key": "wrong-key"}`)

	ok := res[0]
	if ok.Error != nil || ok.Alert == nil {
		t.Fatalf("result %+v", ok)
	}
	var ctx map[string]any
	if err := json.Unmarshal(ok.Alert.AlertContext, &ctx); err != nil {
		t.Fatal(err)
	}
	if ctx["status"] != float64(200) || fmt.Sprint(ctx["body"]) != "map[data:map[attributes:map[country:NL last_analysis_stats:map[malicious:4]]]]" {
		t.Errorf("alert context from the fixture: %s", ok.Alert.AlertContext)
	}
	if got := ok.Alert.Title; got != "limited 429 60" {
		t.Errorf("a 429 fixture must reach urllib as an HTTPError with its headers, title %q", got)
	}
	calls := callsOf(ok)
	want := []string{
		"fixture GET https://api.example.com/limited 429 title",
		"fixture GET https://www.virustotal.com/api/v3/ip_addresses/35.216.199.51 200 alert_context",
	}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	if c := ok.NetworkCalls[1]; !strings.HasSuffix(c.Fixture, "vt.yml:2") {
		t.Errorf("the call names the fixture that answered: %q", c.Fixture)
	}
	if len(ok.MissingFixtures()) != 0 {
		t.Errorf("nothing is missing: %v", ok.MissingFixtures())
	}

	// The wrong API key does not match the fixture's request_headers: the
	// request fails and says which fixture nearly matched.
	bad := res[1]
	if err := json.Unmarshal(bad.Alert.AlertContext, &ctx); err != nil {
		t.Fatal(err)
	}
	msg, _ := ctx["url_error"].(string)
	for _, want := range []string{"no fixture for GET https://www.virustotal.com/api/v3/ip_addresses/35.216.199.51", "vt.yml:2 matches the URL but not its request header x-apikey", "--network real"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	missing := bad.MissingFixtures()
	if len(missing) != 1 || missing[0].Source != worker.CallMissing || missing[0].URL != "https://www.virustotal.com/api/v3/ip_addresses/35.216.199.51" {
		t.Errorf("missing calls %+v", missing)
	}
}

func TestOfflineHTTPThroughRequests(t *testing.T) {
	if !pythonHas(t, "requests") {
		t.Skip("requests is not installed for this python3")
	}
	fx := loadFixtures(t, map[string]string{"vt.yml": vtFixtures})
	e, r := newEngine(t, map[string]string{
		"q.yml": ruleSpec("Req", "q.py", ""),
		"q.py": `
			import requests

			def rule(event):
			    return True

			def alert_context(event):
			    out = {}
			    resp = requests.get("https://www.virustotal.com/api/v3/ip_addresses/8.8.8.8",
			                        headers={"x-apikey": "vt-fixture-key-1234"}, timeout=5)
			    out["status"] = resp.status_code
			    out["country"] = resp.json()["data"]["attributes"]["country"]
			    with requests.Session() as session:
			        out["again"] = session.get("https://www.virustotal.com/api/v3/ip_addresses/8.8.4.4",
			                                   headers={"x-apikey": "vt-fixture-key-1234"}).status_code
			        out["limited"] = session.post("https://api.example.com/limited", json={"a": 1}).status_code
			    try:
			        requests.get("https://intel.example.net/v1/ip/8.8.8.8", timeout=5)
			    except requests.exceptions.ConnectionError as exc:
			        out["missing"] = str(exc)
			    return out
		`,
	}, withNetwork(NetworkOptions{Fixtures: fx}))
	res := evalOne(t, e, r, "Req", `{}`)[0]
	if res.Alert == nil {
		t.Fatalf("%+v", res.Error)
	}
	var ctx map[string]any
	if err := json.Unmarshal(res.Alert.AlertContext, &ctx); err != nil {
		t.Fatal(err)
	}
	if ctx["status"] != float64(200) || ctx["country"] != "NL" || ctx["again"] != float64(200) || ctx["limited"] != float64(429) {
		t.Errorf("context %v", ctx)
	}
	if s, _ := ctx["missing"].(string); !strings.Contains(s, "no fixture for GET https://intel.example.net/v1/ip/8.8.8.8") {
		t.Errorf("requests must raise ConnectionError naming the URL: %q", s)
	}
	if res.Stdout != "" {
		t.Errorf("nothing printed (no TLS warnings): %q", res.Stdout)
	}
	if got := len(res.NetworkCalls); got != 4 {
		t.Errorf("calls: %v", callsOf(res))
	}
}

func TestOfflineUnfixturedCallFailsTheTest(t *testing.T) {
	e, r := newEngine(t, map[string]string{
		"r.yml": ruleSpec("Swallow", "r.py", `
			Tests:
			  - Name: swallowed
			    ExpectedResult: true
			    Log: {ip: 198.51.100.7}
		`),
		"r.py": `
			import urllib.request

			def rule(event):
			    try:
			        urllib.request.urlopen("http://intel.example.net/lookup?ip=" + event.get("ip"), timeout=2)
			    except Exception:
			        pass  # rule code that hides the failure
			    return True
		`,
	})
	reports, err := e.RunTests(context.Background(), r.Detections, TestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr := reports[0].Tests[0]
	if tr.Passed || !strings.Contains(tr.Failure, "no fixture for GET http://intel.example.net/lookup?ip=198.51.100.7") {
		t.Errorf("a test whose call had no fixture must fail naming the URL: passed=%v failure=%q", tr.Passed, tr.Failure)
	}
	calls := tr.Result.NetworkCalls
	if len(calls) != 1 || calls[0].Function != "rule" || calls[0].Method != "GET" {
		t.Errorf("calls %+v", calls)
	}
}

func TestOfflineBlocksRawSocketsAndDNS(t *testing.T) {
	// A listener on loopback stays reachable: offline is about leaving the
	// machine.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	e, r := newEngine(t, map[string]string{
		"s.yml": ruleSpec("Sock", "s.py", ""),
		"s.py": fmt.Sprintf(`
			import socket

			def attempt(fn):
			    try:
			        fn()
			        return "ok"
			    except OSError as exc:
			        return type(exc).__name__ + ": " + str(exc)

			def rule(event):
			    return True

			def alert_context(event):
			    return {
			        "tcp": attempt(lambda: socket.create_connection(("203.0.113.9", 443), timeout=1)),
			        "dns": attempt(lambda: socket.getaddrinfo("intel.example.net", 443)),
			        "udp": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("198.51.100.1", 53))),
			        "loopback": attempt(lambda: socket.create_connection(("127.0.0.1", %d), timeout=2).close()),
			    }
		`, port),
	})
	res := evalOne(t, e, r, "Sock", `{}`)[0]
	var ctx map[string]string
	if err := json.Unmarshal(res.Alert.AlertContext, &ctx); err != nil {
		t.Fatalf("%v: %s", err, res.Alert.AlertContext)
	}
	for key, want := range map[string]string{
		"tcp":      "NetworkBlocked: rulebench --network offline: connection to tcp 203.0.113.9:443 blocked",
		"dns":      "gaierror: [Errno -2] rulebench --network offline: DNS lookup of intel.example.net blocked",
		"udp":      "NetworkBlocked: rulebench --network offline: connection to udp 198.51.100.1:53 blocked",
		"loopback": "ok",
	} {
		if !strings.HasPrefix(ctx[key], want) {
			t.Errorf("%s: %q, want %q...", key, ctx[key], want)
		}
	}
	kinds := map[string]int{}
	for _, c := range res.NetworkCalls {
		kinds[c.Kind+"/"+c.Source]++
	}
	if kinds["socket/blocked"] != 2 || kinds["dns/blocked"] != 1 || len(res.NetworkCalls) != 3 {
		t.Errorf("blocked calls recorded: %v", callsOf(res))
	}
}

func TestOfflineAWSFromFixtures(t *testing.T) {
	requireBoto3(t)
	fx := loadFixtures(t, map[string]string{"aws.yml": `
		secrets:
		  panther-secrets/virus-total: {api_key: vt-fixture-key-1234}
		aws:
		  - service: dynamodb
		    operation: get_item
		    params: {TableName: denied}
		    error: {code: AccessDeniedException, message: not for you}
		  - service: s3
		    operation: GetObject
		    response: {Body: {base64: aGVsbG8=}, LastModified: "2024-05-01T12:00:00Z", ContentLength: 5}
	`})
	e, r := newEngine(t, map[string]string{
		"a.yml": ruleSpec("AWS", "a.py", ""),
		"a.py": `
			import json
			import boto3

			def rule(event):
			    return True

			def alert_context(event):
			    out = {}
			    creds = boto3.client("sts").assume_role(
			        RoleArn="arn:aws:iam::111122223333:role/Enrichment", RoleSessionName="s1")
			    out["assumed"] = creds["AssumedRoleUser"]["Arn"]
			    out["expiration_is_datetime"] = hasattr(creds["Credentials"]["Expiration"], "tzinfo")
			    sm = boto3.client("secretsmanager", region_name="eu-west-1",
			                      aws_access_key_id=creds["Credentials"]["AccessKeyId"],
			                      aws_secret_access_key=creds["Credentials"]["SecretAccessKey"],
			                      aws_session_token=creds["Credentials"]["SessionToken"])
			    secret = sm.get_secret_value(SecretId="panther-secrets/virus-total")
			    out["key_len"] = len(json.loads(secret["SecretString"])["api_key"])
			    out["arn"] = sm.describe_secret(SecretId=secret["ARN"])["Name"]
			    try:
			        sm.get_secret_value(SecretId="panther-secrets/missing")
			    except sm.exceptions.ResourceNotFoundException as exc:
			        out["missing"] = str(exc)
			    ddb = boto3.client("dynamodb")
			    try:
			        ddb.get_item(TableName="denied", Key={"k": {"S": "x"}})
			    except ddb.exceptions.ClientError as exc:
			        out["denied"] = exc.response["Error"]["Code"]
			    try:
			        ddb.get_item(TableName="other", Key={"k": {"S": "x"}})
			    except Exception as exc:
			        out["unfixtured"] = str(exc)
			    try:
			        ddb.get_item(Key={"k": {"S": "x"}})
			    except Exception as exc:
			        out["invalid"] = type(exc).__name__
			    obj = boto3.client("s3").get_object(Bucket="b", Key="k")
			    out["body"] = obj["Body"].read().decode()
			    out["modified"] = obj["LastModified"].isoformat()
			    return out
		`,
	}, withNetwork(NetworkOptions{Fixtures: fx}))
	res := evalOne(t, e, r, "AWS", `{}`)[0]
	if res.Alert == nil {
		t.Fatalf("%+v", res.Error)
	}
	var ctx map[string]any
	if err := json.Unmarshal(res.Alert.AlertContext, &ctx); err != nil {
		t.Fatal(err)
	}
	checks := map[string]any{
		"assumed":                "arn:aws:sts::111122223333:assumed-role/Enrichment/s1",
		"expiration_is_datetime": true,
		"key_len":                float64(len("vt-fixture-key-1234")),
		"arn":                    "panther-secrets/virus-total",
		"denied":                 "AccessDeniedException",
		"invalid":                "ParamValidationError",
		"body":                   "hello",
		"modified":               "2024-05-01T12:00:00+00:00",
	}
	for k, want := range checks {
		if ctx[k] != want {
			t.Errorf("%s = %v, want %v", k, ctx[k], want)
		}
	}
	if s, _ := ctx["missing"].(string); !strings.Contains(s, "ResourceNotFoundException") || !strings.Contains(s, "no fixture secret named 'panther-secrets/missing'") {
		t.Errorf("missing secret: %q", s)
	}
	if s, _ := ctx["unfixtured"].(string); !strings.Contains(s, "no fixture for dynamodb:GetItem") {
		t.Errorf("unfixtured call: %q", s)
	}
	got := strings.Join(callsOf(res), "\n")
	want := strings.Join([]string{
		"fixture sts:AssumeRole 200 alert_context",
		"fixture secretsmanager:GetSecretValue 200 alert_context",
		"fixture secretsmanager:DescribeSecret 200 alert_context",
		"missing secretsmanager:GetSecretValue 400 alert_context",
		"fixture dynamodb:GetItem 400 alert_context",
		"missing dynamodb:GetItem 0 alert_context",
		"fixture s3:GetObject 200 alert_context",
	}, "\n")
	if got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
	if res.NetworkCalls[1].Region != "eu-west-1" || res.NetworkCalls[0].Fixture != "built-in" {
		t.Errorf("call details: %+v", res.NetworkCalls[:2])
	}
}

// Rules that never import requests or boto3 run as before, and the
// interception works on an interpreter that has neither.
func TestNetworkWithoutThirdPartyLibraries(t *testing.T) {
	py := filepath.Join(os.Getenv("HOME"), ".pyenv/versions/3.9.18/bin/python3")
	if _, err := os.Stat(py); err != nil {
		py = ""
	}
	opts := []engineOption{withNetwork(NetworkOptions{Fixtures: loadFixtures(t, map[string]string{"f.yml": vtFixtures})})}
	if py != "" {
		opts = append(opts, withPython(py))
	}
	e, r := newEngine(t, map[string]string{
		"p.yml": ruleSpec("Plain", "p.py", ""),
		"p.py": `
			import sys, urllib.request

			def rule(event):
			    return True

			def alert_context(event):
			    body = urllib.request.urlopen("https://api.example.com/limited" if False else
			        urllib.request.Request("https://www.virustotal.com/api/v3/ip_addresses/1.1.1.1",
			                               headers={"x-apikey": "vt-fixture-key-1234"})).read()
			    # Looked at before this rule imports boto3 itself (which loads
			    # botocore and urllib3 where it is installed).
			    loaded = sorted(m for m in ("requests", "botocore", "urllib3") if m in sys.modules)
			    try:
			        import boto3
			        has_boto3 = True
			    except ImportError:
			        has_boto3 = False
			    return {"boto3": has_boto3, "body": len(body), "loaded": loaded,
			            "python": sys.version_info[:2]}
		`,
	}, opts...)
	res := evalOne(t, e, r, "Plain", `{}`)[0]
	if res.Alert == nil {
		t.Fatalf("%+v", res.Error)
	}
	var ctx struct {
		Boto3  bool
		Body   int
		Loaded []string
		Python []int
	}
	if err := json.Unmarshal(res.Alert.AlertContext, &ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Body == 0 || len(ctx.Loaded) != 0 {
		t.Errorf("context %+v: the harness must not import requests/botocore/urllib3 itself", ctx)
	}
	if py != "" && (ctx.Boto3 || ctx.Python[1] != 9) {
		t.Errorf("expected python 3.9 without boto3: %+v", ctx)
	}
	t.Logf("python %v, boto3 installed: %v", ctx.Python, ctx.Boto3)
}

func TestRealModeRecordsHTTP(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hits.Add(1)
		if req.URL.Path == "/missing" {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path": %q}`, req.URL.Path)
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	deadURL := closed.URL
	closed.Close()

	e, r := newEngine(t, map[string]string{
		"h.yml": ruleSpec("Real", "h.py", ""),
		"h.py": fmt.Sprintf(`
			import json, urllib.request, urllib.error

			def rule(event):
			    return True

			def alert_context(event):
			    out = {}
			    out["ok"] = json.loads(urllib.request.urlopen(%[1]q + "/ip/1", timeout=5).read())
			    try:
			        urllib.request.urlopen(%[1]q + "/missing", timeout=5)
			    except urllib.error.HTTPError as exc:
			        out["missing"] = exc.code
			    try:
			        urllib.request.urlopen(%[2]q + "/down", timeout=5)
			    except urllib.error.URLError as exc:
			        out["down"] = type(exc.reason).__name__
			    try:
			        import requests
			        out["requests"] = requests.get(%[1]q + "/via-requests", timeout=5).json()["path"]
			    except ImportError:
			        pass
			    return out
		`, srv.URL, deadURL),
	}, withNetwork(NetworkOptions{Mode: worker.NetworkReal}))
	res := evalOne(t, e, r, "Real", `{}`)[0]
	if res.Alert == nil {
		t.Fatalf("%+v", res.Error)
	}
	var ctx map[string]any
	if err := json.Unmarshal(res.Alert.AlertContext, &ctx); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ctx["ok"]) != "map[path:/ip/1]" || ctx["missing"] != float64(404) || ctx["down"] != "ConnectionRefusedError" {
		t.Errorf("context %v", ctx)
	}
	want := []string{
		"real GET " + srv.URL + "/ip/1 200 alert_context",
		"real GET " + srv.URL + "/missing 404 alert_context",
		"real GET " + deadURL + "/down 0 alert_context",
	}
	if _, ok := ctx["requests"]; ok {
		want = append(want, "real GET "+srv.URL+"/via-requests 200 alert_context")
	}
	if got := callsOf(res); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c := res.NetworkCalls[2]; !strings.Contains(c.Error, "ConnectionRefusedError") || c.DurationNS <= 0 {
		t.Errorf("failed call: %+v", c)
	}
	if int(hits.Load()) != len(want)-1 {
		t.Errorf("server saw %d requests", hits.Load())
	}
}

const secretValue = "sk-live-4f9a8b7c6d5e"

// Everything a result carries is masked before the engine hands it out:
// the CLI's text and JSON and the workbench render these results.
func TestSecretsAreMaskedInResults(t *testing.T) {
	fx := loadFixtures(t, map[string]string{"f.yml": `
		secrets:
		  team/intel-api: {api_key: ` + secretValue + `, user: svc-intel}
		http:
		  - url: https://intel.example.com/token
		    json: {token: ` + secretValue + `}
		  - url: https://intel.example.com/lookup?key=*
		    json: {ok: true}
	`})
	e, r := newEngine(t, map[string]string{
		"m.yml": ruleSpec("Mask", "m.py", ""),
		"m.py": `
			import json, urllib.request
			from panther_detection_helpers.caching import put_dictionary, increment_counter

			TOKEN = json.loads(urllib.request.urlopen("https://intel.example.com/token").read())["token"]
			print("token at import:", TOKEN)

			def rule(event):
			    print("using", TOKEN)
			    urllib.request.urlopen("https://intel.example.com/lookup?key=" + TOKEN).read()
			    increment_counter("seen:" + TOKEN)
			    put_dictionary("last", {"token": TOKEN, "quoted": '"' + TOKEN + '"'})
			    return True

			def title(event):
			    return "x" * 978 + TOKEN

			def dedup(event):
			    raise ValueError("bad token " + TOKEN)

			def alert_context(event):
			    return {"token": TOKEN, "nested": [{"t": TOKEN}], "json": json.dumps({"t": TOKEN})}
		`,
	}, withNetwork(NetworkOptions{Fixtures: fx}))
	res := evalOne(t, e, r, "Mask", `{}`)[0]
	if res.Alert == nil {
		t.Fatalf("%+v", res)
	}
	whole, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := e.LoadInfo("Mask")
	load, _ := json.Marshal(info)
	for what, text := range map[string]string{"result": string(whole), "import report": string(load)} {
		for _, leak := range []string{secretValue, secretValue[:10]} {
			if strings.Contains(text, leak) {
				t.Errorf("%s leaks %q: %s", what, leak, text)
			}
		}
	}
	token := "[masked:team/intel-api.api_key]"
	for what, text := range map[string]string{
		"stdout":        res.Stdout,
		"import stdout": info.Stdout,
		"title":         res.Alert.Title,
		"dedup error":   res.Functions["dedup"].Error.Message,
		"traceback":     res.Functions["dedup"].Error.Traceback,
		"alert context": string(res.Alert.AlertContext),
		"title output":  string(res.Functions["title"].Output),
		"network call":  res.NetworkCalls[0].URL,
		"cache key":     res.CacheOps[0].Key,
		"cache value":   *res.CacheOps[1].After.Item.Dictionary,
	} {
		if !strings.Contains(text, token) {
			t.Errorf("%s not masked: %q", what, text)
		}
	}
	if !json.Valid(res.Alert.AlertContext) || !json.Valid(res.Functions["title"].Output) {
		t.Errorf("masked JSON must stay valid: %s", res.Alert.AlertContext)
	}
	if e.Secrets().Mask("svc-intel") != "[masked:team/intel-api.user]" || e.Secrets().Mask("team/intel-api") != "team/intel-api" {
		t.Errorf("fields of a key/value secret are masked, its name is not")
	}
}

func TestMaskCutValues(t *testing.T) {
	s := NewSecrets()
	s.Add("k", secretValue)
	s.Add("tiny", "abc")
	if s.Len() != 1 {
		t.Errorf("a value shorter than %d characters is not masked", MinSecretLength)
	}
	r := &Result{
		Stdout: "printed " + secretValue[:9], StdoutTruncated: 100,
		Alert: &Alert{Title: "t " + secretValue[:7] + truncatedSuffix, Dedup: "ends " + secretValue[:6], AlertContext: json.RawMessage(`{"a":"é` + secretValue + `"}`)},
	}
	s.MaskResult(r)
	if r.Stdout != "printed [masked:k]" || r.Alert.Title != "t [masked:k]"+truncatedSuffix {
		t.Errorf("cut values: %q %q", r.Stdout, r.Alert.Title)
	}
	if r.Alert.Dedup != "ends "+secretValue[:6] {
		t.Errorf("an uncut field is left alone: %q", r.Alert.Dedup)
	}
	ascii := NewSecrets()
	ascii.Add("u", "pässwörd-1")
	if got := string(ascii.MaskJSON(json.RawMessage(`{"p": "p\u00e4ssw\u00f6rd-1"}`))); got != `{"p": "[masked:u]"}` {
		t.Errorf("ensure_ascii form: %s", got)
	}
	if got := ascii.Mask("abc"); got != "abc" {
		t.Errorf("nothing to mask: %q", got)
	}
}

// Real mode: Go resolves the credentials and assumes the role once; boto3
// in rule code uses them against (here) a local stand-in for AWS, every
// call is recorded, and the secret it reads is masked.
func TestRealModeAWSUsesTheAssumedRole(t *testing.T) {
	requireBoto3(t)
	const (
		devKey = "AKIADEVELOPER0000001"
		devARN = "arn:aws:iam::123456789012:user/dev"
		engine = "arn:aws:iam::123456789012:role/PantherDetectionsUnitTests"
		reader = "arn:aws:iam::123456789012:role/PantherEnrichmentSecretsReader"
	)
	aws := awstest.New(t)
	aws.AddUser(devKey, devARN)
	aws.AddRole(engine, devARN)
	aws.AddRole(reader, engine)
	aws.AddSecret("panther-secrets/virus-total", `{"api_key": "`+secretValue+`"}`, reader)
	aws.Isolate(t, devKey, "dev-secret-key")

	e, r := newEngine(t, map[string]string{
		"a.yml": ruleSpec("RealAWS", "a.py", ""),
		"a.py": `
			import json
			import boto3

			def rule(event):
			    return True

			def alert_context(event):
			    sts = boto3.client("sts")
			    me = sts.get_caller_identity()["Arn"]
			    creds = sts.assume_role(RoleArn="` + reader + `", RoleSessionName="enrich")["Credentials"]
			    sm = boto3.client("secretsmanager", aws_access_key_id=creds["AccessKeyId"],
			                      aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
			    key = json.loads(sm.get_secret_value(SecretId="panther-secrets/virus-total")["SecretString"])["api_key"]
			    print("api key", key)
			    try:
			        boto3.client("secretsmanager").get_secret_value(SecretId="panther-secrets/virus-total")
			        denied = None
			    except Exception as exc:
			        denied = exc.response["Error"]["Code"]
			    return {"me": me, "key": key, "denied": denied}
		`,
	}, withWorkers(2), withNetwork(NetworkOptions{Mode: worker.NetworkReal, Credentials: func(ctx context.Context) (NetworkSession, error) {
		sess, err := awsauth.Resolve(ctx, awsauth.Config{AssumeRoleARN: engine})
		return NetworkSession{Env: sess.Env(), Secrets: sess.Secrets()}, err
	}}))
	res := evalOne(t, e, r, "RealAWS", `{}`, `{}`)
	for i, res := range res {
		if res.Alert == nil {
			t.Fatalf("result %d: %+v", i, res.Error)
		}
		var ctx map[string]any
		if err := json.Unmarshal(res.Alert.AlertContext, &ctx); err != nil {
			t.Fatal(err)
		}
		if me, _ := ctx["me"].(string); !strings.HasPrefix(me, "arn:aws:sts::123456789012:assumed-role/PantherDetectionsUnitTests/rulebench-") {
			t.Errorf("rule code must run as the role Go assumed, ran as %q", me)
		}
		if ctx["key"] != "[masked:panther-secrets/virus-total.api_key]" || !strings.Contains(res.Stdout, "api key [masked:") {
			t.Errorf("the secret read by rule code must be masked: %v / %q", ctx["key"], res.Stdout)
		}
		if ctx["denied"] != "AccessDeniedException" {
			t.Errorf("the unit-test role itself may not read the secret: %v", ctx["denied"])
		}
		got := strings.Join(callsOf(res), "\n")
		want := strings.Join([]string{
			"real sts:GetCallerIdentity 200 alert_context",
			"real sts:AssumeRole 200 alert_context",
			"real secretsmanager:GetSecretValue 200 alert_context",
			"real secretsmanager:GetSecretValue 400 alert_context",
		}, "\n")
		if got != want {
			t.Errorf("calls (HTTP under boto3 must not be counted twice):\n%s\nwant:\n%s", got, want)
		}
	}
	if n := aws.Count("AssumeRole"); n != 3 {
		t.Errorf("AssumeRole: once by rulebench, once per event by the rule; got %d", n)
	}
	for _, c := range aws.Calls() {
		if c.Operation == "GetCallerIdentity" && !strings.HasPrefix(c.AccessKey, "ASIAFAKE") {
			t.Errorf("boto3 signed with %s, not the assumed credentials", c.AccessKey)
		}
	}
	if e.Secrets().Mask("fake-secret-1") != "[masked:aws-secret-access-key]" {
		t.Errorf("the credentials handed to workers are masked too")
	}
}

// Every call counts toward the projection, including those on events the
// rule did not match (a replay sends back only matches).
func TestNetworkUsageProjection(t *testing.T) {
	fx := loadFixtures(t, map[string]string{"f.yml": vtFixtures})
	e, r := newEngine(t, map[string]string{
		"p.yml": ruleSpec("PerEvent", "p.py", ""),
		"p.py": `
			import urllib.request

			def rule(event):
			    urllib.request.urlopen(urllib.request.Request(
			        "https://www.virustotal.com/api/v3/ip_addresses/" + event.get("ip"),
			        headers={"x-apikey": "vt-fixture-key-1234"})).read()
			    return event.get("bad", False)

			def alert_context(event):
			    try:
			        urllib.request.urlopen("https://api.example.com/limited")
			    except Exception:
			        pass
			    return {}
		`,
		"q.yml": ruleSpec("Quiet", "q.py", ""),
		"q.py":  "def rule(event):\n    return False\n",
	}, withNetwork(NetworkOptions{Fixtures: fx}), withWorkers(2))
	evs := []string{`{"ip": "8.8.8.8"}`, `{"ip": "8.8.4.4", "bad": true}`, `{"ip": "1.1.1.1"}`, `{"ip": "9.9.9.9"}`}
	evalOne(t, e, r, "PerEvent", evs...)
	evalOne(t, e, r, "Quiet", evs...)

	u := NewNetworkUsage()
	if err := e.CollectNetworkUsage(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if u.Calls() != 5 {
		t.Fatalf("calls %d", u.Calls())
	}
	u.SetEvents("PerEvent", 4)
	u.SetEvents("Quiet", 4)
	p := u.Project(8, 1_000_000, 4)
	if len(p.Rules) != 1 {
		t.Fatalf("rules with calls: %+v", p.Rules)
	}
	rp := p.Rules[0]
	if rp.Detection != "PerEvent" || rp.Calls != 5 || rp.Failed != 1 || rp.CallsPerEvent != 1.25 || rp.PerHour != 625_000 ||
		rp.Functions["rule"] != 4 || rp.Functions["alert_context"] != 1 || rp.APIs["https://www.virustotal.com"] != 4 || !rp.OverLimit {
		t.Errorf("projection %+v", rp)
	}
	if len(p.APIs) != 2 || p.APIs[0].API != "https://www.virustotal.com" || p.APIs[0].PerMinute != 500_000.0/60 {
		t.Errorf("apis %+v", p.APIs)
	}
	if len(p.Warnings) != 3 || !strings.Contains(p.Warnings[0], "PerEvent would make 10,417 calls a minute at 1,000,000 events an hour, above the limit of 4 a minute") {
		t.Errorf("warnings %q", p.Warnings)
	}
	// Collected once: the workers start counting afresh.
	again := NewNetworkUsage()
	if err := e.CollectNetworkUsage(context.Background(), again); err != nil || again.Calls() != 0 {
		t.Errorf("second collection: %d %v", again.Calls(), err)
	}
	if none := u.Project(8, 0, 0); len(none.Warnings) != 0 || none.Rules[0].PerHour != 0 {
		t.Errorf("no volume, no projection: %+v", none)
	}
}

func TestProjectionHoldsOnlyHTTPAPIsToTheLimit(t *testing.T) {
	u := NewNetworkUsage()
	u.AddEvents("R", 10, []NetworkCall{
		{Kind: "aws", Service: "secretsmanager", Operation: "GetSecretValue", Source: worker.CallFixture, Status: 200, Function: "alert_context"},
		{Kind: "http", URL: "https://api.example.com/x?y=1", Source: worker.CallFixture, Status: 429, Function: "alert_context"},
		{Kind: "socket", Host: "10.0.0.1:443", Source: worker.CallBlocked},
	})
	p := u.Project(10, 600, 0.5)
	if len(p.APIs) != 3 || p.Rules[0].Failed != 2 || p.Rules[0].PerMinute != 3 || p.Rules[0].Functions["?"] != 1 {
		t.Fatalf("%+v", p)
	}
	for _, ap := range p.APIs {
		if ap.OverLimit != (ap.API == "https://api.example.com") {
			t.Errorf("%s over the limit: %v", ap.API, ap.OverLimit)
		}
	}
	if len(p.Warnings) != 2 {
		t.Errorf("warnings %q", p.Warnings)
	}
}

func TestCount(t *testing.T) {
	for f, want := range map[float64]string{0: "0", 0.25: "0.25", 4: "4", 1234.4: "1,234", 1_000_000: "1,000,000", 12.5: "13"} {
		if got := Count(f); got != want {
			t.Errorf("Count(%v) = %q, want %q", f, got, want)
		}
	}
}
