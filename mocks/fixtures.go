package mocks

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// FixtureDir is the directory of a rules repository that holds network
// fixtures when no --fixtures directory is named.
const FixtureDir = "fixtures"

// Fixtures answer the outside calls rule code makes when rulebench runs
// offline: HTTP requests by method and URL pattern, AWS API calls by service
// and operation, and Secrets Manager secrets by name. The worker matches and
// answers them itself (they are sent to it once, when it is configured), so a
// fixture costs no round trip to Go.
type Fixtures struct {
	HTTP    []HTTPFixture     `json:"http"`
	AWS     []AWSFixture      `json:"aws"`
	Secrets map[string]string `json:"secrets"`
	// Files are the fixture files read, in the order their entries are tried.
	Files []string `json:"-"`
	// secretSource says where each secret was defined, for messages.
	secretSource map[string]string
}

// HTTPFixture answers requests whose method and URL match. Entries are tried
// in file-name order, then in order within a file; the first match answers.
type HTTPFixture struct {
	// Source is "file:line", shown in traces as what answered a call.
	Source string `json:"source"`
	Name   string `json:"name,omitempty"`
	// Method is upper case; empty matches any method.
	Method string `json:"method,omitempty"`
	// URL is the pattern as written; Pattern is its anchored regular
	// expression (RE2 syntax that Python's re reads the same way).
	URL     string `json:"url"`
	Pattern string `json:"pattern"`
	// RequestHeaders must be present on the request; values are anchored
	// patterns, header names lower case.
	RequestHeaders map[string]string `json:"request_headers,omitempty"`
	Status         int               `json:"status"`
	Headers        map[string]string `json:"headers,omitempty"`
	// Body is the response body as text, or BodyBase64 when it is not
	// UTF-8.
	Body       string  `json:"body,omitempty"`
	BodyBase64 string  `json:"body_base64,omitempty"`
	Latency    float64 `json:"latency,omitempty"` // seconds
}

// AWSFixture answers an AWS API call made through boto3/botocore.
type AWSFixture struct {
	Source string `json:"source"`
	// Service is botocore's service name (boto3.client("secretsmanager")),
	// lower case.
	Service string `json:"service"`
	// Operation is the API name as written; Key is its matching form (lower
	// case without underscores, so GetSecretValue and get_secret_value are
	// the same operation).
	Operation string `json:"operation"`
	Key       string `json:"key"`
	// Params, when set, must all be present in the call with equal values.
	Params   map[string]any `json:"params,omitempty"`
	Response map[string]any `json:"response,omitempty"`
	Error    *AWSError      `json:"error,omitempty"`
	Latency  float64        `json:"latency,omitempty"`
}

// AWSError is the error an AWSFixture answers with; rule code sees it as the
// botocore exception for Code (ClientError when the service has no such
// modelled error).
type AWSError struct {
	Code    string `json:"code" yaml:"code"`
	Message string `json:"message" yaml:"message"`
	Status  int    `json:"status" yaml:"status"`
}

// fixtureFile is one file as written.
type fixtureFile struct {
	HTTP    []httpEntry `yaml:"http"`
	AWS     []awsEntry  `yaml:"aws"`
	Secrets yaml.Node   `yaml:"secrets"`
}

type httpEntry struct {
	Name           string            `yaml:"name"`
	Method         string            `yaml:"method"`
	URL            string            `yaml:"url"`
	URLRegex       string            `yaml:"url_regex"`
	RequestHeaders map[string]string `yaml:"request_headers"`
	Status         int               `yaml:"status"`
	Headers        map[string]string `yaml:"headers"`
	Body           *string           `yaml:"body"`
	JSON           yaml.Node         `yaml:"json"`
	BodyFile       string            `yaml:"body_file"`
	Latency        string            `yaml:"latency"`
}

type awsEntry struct {
	Service   string         `yaml:"service"`
	Operation string         `yaml:"operation"`
	Params    map[string]any `yaml:"params"`
	Response  yaml.Node      `yaml:"response"`
	Error     *AWSError      `yaml:"error"`
	Latency   string         `yaml:"latency"`
}

// FixtureError is a problem in one fixture file.
type FixtureError struct {
	File string
	Line int
	Err  error
}

func (e *FixtureError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *FixtureError) Unwrap() error { return e.Err }

// LoadFixtures reads every .yml, .yaml and .json file under dirs (a missing
// directory is an error: it was named on purpose). All problems are
// returned together, each naming its file and line.
func LoadFixtures(dirs ...string) (*Fixtures, error) {
	f := &Fixtures{Secrets: map[string]string{}, secretSource: map[string]string{}}
	var errs []error
	for _, dir := range dirs {
		files, err := fixtureFiles(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("fixtures %s: %w", dir, err))
			continue
		}
		for _, file := range files {
			f.Files = append(f.Files, file)
			for _, e := range f.loadFile(file) {
				errs = append(errs, e)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

func fixtureFiles(dir string) ([]string, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{dir}, nil
	}
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yml", ".yaml", ".json":
			if !strings.HasPrefix(d.Name(), ".") {
				files = append(files, p)
			}
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

func (f *Fixtures) loadFile(file string) []error {
	data, err := os.ReadFile(file)
	if err != nil {
		return []error{&FixtureError{File: file, Err: err}}
	}
	// Decoded twice: once strictly, so a misspelt key is an error rather
	// than a fixture that silently never matches, and once as nodes for the
	// line of every entry.
	var doc fixtureFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file
		}
		return []error{&FixtureError{File: file, Line: yamlErrorLine(err), Err: errors.New(cleanYAMLError(err))}}
	}
	var nodes struct {
		HTTP []yaml.Node `yaml:"http"`
		AWS  []yaml.Node `yaml:"aws"`
	}
	_ = yaml.Unmarshal(data, &nodes)
	line := func(list []yaml.Node, i int) int {
		if i < len(list) {
			return list[i].Line
		}
		return 0
	}
	var errs []error
	fail := func(l int, format string, args ...any) {
		errs = append(errs, &FixtureError{File: file, Line: l, Err: fmt.Errorf(format, args...)})
	}
	for i, e := range doc.HTTP {
		l := line(nodes.HTTP, i)
		fx, err := e.fixture(file)
		if err != nil {
			fail(l, "http fixture: %v", err)
			continue
		}
		fx.Source = fmt.Sprintf("%s:%d", file, l)
		f.HTTP = append(f.HTTP, fx)
	}
	for i, e := range doc.AWS {
		l := line(nodes.AWS, i)
		fx, err := e.fixture()
		if err != nil {
			fail(l, "aws fixture: %v", err)
			continue
		}
		fx.Source = fmt.Sprintf("%s:%d", file, l)
		f.AWS = append(f.AWS, fx)
	}
	if doc.Secrets.Kind != 0 && doc.Secrets.Kind != yaml.MappingNode {
		fail(doc.Secrets.Line, "secrets: want a mapping of secret names to values")
		return errs
	}
	for i := 0; i+1 < len(doc.Secrets.Content); i += 2 {
		key, node := doc.Secrets.Content[i], doc.Secrets.Content[i+1]
		name := key.Value
		value, err := secretValue(node)
		if err != nil {
			fail(key.Line, "secret %q: %v", name, err)
			continue
		}
		if other, dup := f.secretSource[name]; dup {
			fail(key.Line, "secret %q is also defined at %s", name, other)
			continue
		}
		f.Secrets[name] = value
		f.secretSource[name] = fmt.Sprintf("%s:%d", file, key.Line)
	}
	return errs
}

var yamlLine = regexp.MustCompile(`line (\d+):`)

func yamlErrorLine(err error) int {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		var n int
		fmt.Sscan(m[1], &n)
		return n
	}
	return 0
}

func cleanYAMLError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = yamlLine.ReplaceAllString(msg, "")
	msg = strings.ReplaceAll(msg, "in type mocks.httpEntry", "in an http fixture (want name, method, url, url_regex, request_headers, status, headers, body, json, body_file, latency)")
	msg = strings.ReplaceAll(msg, "in type mocks.awsEntry", "in an aws fixture (want service, operation, params, response, error, latency)")
	msg = strings.ReplaceAll(msg, "in type mocks.fixtureFile", "at the top level (want http, aws, secrets)")
	return strings.TrimSpace(msg)
}

func (e httpEntry) fixture(file string) (HTTPFixture, error) {
	fx := HTTPFixture{Name: e.Name, Method: strings.ToUpper(strings.TrimSpace(e.Method)), Status: e.Status, Headers: e.Headers}
	if fx.Method == "*" || fx.Method == "ANY" {
		fx.Method = ""
	}
	switch {
	case e.URL != "" && e.URLRegex != "":
		return fx, errors.New("give url or url_regex, not both")
	case e.URL != "":
		fx.URL, fx.Pattern = e.URL, Glob(e.URL)
	case e.URLRegex != "":
		if _, err := regexp.Compile(e.URLRegex); err != nil {
			return fx, fmt.Errorf("url_regex: %v", err)
		}
		fx.URL, fx.Pattern = e.URLRegex, `^(?:`+e.URLRegex+`)$`
	default:
		return fx, errors.New("url is required (a * in it matches any run of characters)")
	}
	if fx.Status == 0 {
		fx.Status = 200
	}
	if fx.Status < 100 || fx.Status > 599 {
		return fx, fmt.Errorf("status %d is not an HTTP status", fx.Status)
	}
	for name, value := range e.RequestHeaders {
		if fx.RequestHeaders == nil {
			fx.RequestHeaders = map[string]string{}
		}
		fx.RequestHeaders[strings.ToLower(name)] = Glob(value)
	}
	bodies := 0
	for _, set := range []bool{e.Body != nil, e.JSON.Kind != 0, e.BodyFile != ""} {
		if set {
			bodies++
		}
	}
	if bodies > 1 {
		return fx, errors.New("give one of body, json and body_file")
	}
	var body []byte
	switch {
	case e.Body != nil:
		body = []byte(*e.Body)
	case e.JSON.Kind != 0:
		var v any
		if err := e.JSON.Decode(&v); err != nil {
			return fx, fmt.Errorf("json: %v", err)
		}
		b, err := json.Marshal(jsonable(v))
		if err != nil {
			return fx, fmt.Errorf("json: %v", err)
		}
		body = b
		if !hasHeader(fx.Headers, "Content-Type") {
			if fx.Headers == nil {
				fx.Headers = map[string]string{}
			}
			fx.Headers["Content-Type"] = "application/json"
		}
	case e.BodyFile != "":
		p := e.BodyFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(file), p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return fx, fmt.Errorf("body_file: %v", err)
		}
		body = b
	}
	if utf8.Valid(body) {
		fx.Body = string(body)
	} else {
		fx.BodyBase64 = base64.StdEncoding.EncodeToString(body)
	}
	latency, err := parseLatency(e.Latency)
	if err != nil {
		return fx, err
	}
	fx.Latency = latency
	return fx, nil
}

func hasHeader(h map[string]string, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func (e awsEntry) fixture() (AWSFixture, error) {
	fx := AWSFixture{Service: strings.ToLower(strings.TrimSpace(e.Service)), Operation: strings.TrimSpace(e.Operation), Error: e.Error}
	if fx.Service == "" || fx.Operation == "" {
		return fx, errors.New("service and operation are required (e.g. service: secretsmanager, operation: GetSecretValue)")
	}
	fx.Key = OperationKey(fx.Operation)
	if e.Params != nil {
		fx.Params, _ = jsonable(e.Params).(map[string]any)
	}
	switch {
	case e.Response.Kind != 0 && e.Error != nil:
		return fx, errors.New("give response or error, not both")
	case e.Error != nil:
		if e.Error.Code == "" {
			return fx, errors.New("error.code is required (e.g. AccessDeniedException)")
		}
		if fx.Error.Status == 0 {
			fx.Error.Status = 400
		}
	case e.Response.Kind != 0:
		var v any
		if err := e.Response.Decode(&v); err != nil {
			return fx, fmt.Errorf("response: %v", err)
		}
		m, ok := jsonable(v).(map[string]any)
		if !ok && v != nil {
			return fx, errors.New("response must be a mapping of the operation's output fields")
		}
		fx.Response = m
	}
	if fx.Response == nil && fx.Error == nil {
		fx.Response = map[string]any{}
	}
	latency, err := parseLatency(e.Latency)
	if err != nil {
		return fx, err
	}
	fx.Latency = latency
	return fx, nil
}

func parseLatency(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("latency %q: want a duration such as 150ms", s)
	}
	return d.Seconds(), nil
}

// secretValue is a secret's SecretString: text as written, or a mapping
// stored as JSON text (the form the Secrets Manager console writes
// key/value secrets in).
func secretValue(node *yaml.Node) (string, error) {
	switch node.Kind {
	case yaml.ScalarNode:
		var s string
		if err := node.Decode(&s); err != nil {
			return "", err
		}
		return s, nil
	case yaml.MappingNode:
		var v any
		if err := node.Decode(&v); err != nil {
			return "", err
		}
		b, err := json.Marshal(jsonable(v))
		return string(b), err
	}
	return "", errors.New("want text or a mapping of keys to values")
}

// jsonable turns YAML's decoded values into ones encoding/json accepts
// (YAML allows non-string mapping keys).
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			x[k] = jsonable(val)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[fmt.Sprint(k)] = jsonable(val)
		}
		return m
	case []any:
		for i, val := range x {
			x[i] = jsonable(val)
		}
		return x
	}
	return v
}

// Glob turns a URL pattern into an anchored regular expression: * matches
// any run of characters (slashes included), everything else is literal.
func Glob(pattern string) string {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return "^" + strings.Join(parts, ".*") + "$"
}

// OperationKey is the form operations are matched in: GetSecretValue,
// get_secret_value and getsecretvalue are the same operation.
func OperationKey(op string) string {
	return strings.ToLower(strings.ReplaceAll(op, "_", ""))
}

// SecretSource is the file and line a secret is defined at.
func (f *Fixtures) SecretSource(name string) string { return f.secretSource[name] }

// SecretNames lists the secrets the fixtures define, sorted.
func (f *Fixtures) SecretNames() []string {
	names := make([]string, 0, len(f.Secrets))
	for n := range f.Secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Empty reports whether there is nothing to answer with.
func (f *Fixtures) Empty() bool {
	return f == nil || len(f.HTTP) == 0 && len(f.AWS) == 0 && len(f.Secrets) == 0
}

// Summary describes what the fixtures hold, for status lines.
func (f *Fixtures) Summary() string {
	if f == nil {
		return "no fixtures"
	}
	return fmt.Sprintf("%d HTTP, %d AWS, %d secret(s) in %d file(s)", len(f.HTTP), len(f.AWS), len(f.Secrets), len(f.Files))
}

// Merge returns the fixtures of f followed by those of other (which may be
// nil): f's entries are tried first, and f's secrets win.
func (f *Fixtures) Merge(other *Fixtures) *Fixtures {
	if other == nil {
		return f
	}
	out := &Fixtures{
		HTTP:         append(append([]HTTPFixture(nil), f.HTTP...), other.HTTP...),
		AWS:          append(append([]AWSFixture(nil), f.AWS...), other.AWS...),
		Secrets:      map[string]string{},
		Files:        append(append([]string(nil), f.Files...), other.Files...),
		secretSource: map[string]string{},
	}
	for _, src := range []*Fixtures{other, f} {
		for k, v := range src.Secrets {
			out.Secrets[k] = v
		}
		for k, v := range src.secretSource {
			out.secretSource[k] = v
		}
	}
	return out
}
