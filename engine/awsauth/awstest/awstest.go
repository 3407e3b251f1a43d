// Package awstest is a stand-in for the AWS APIs rulebench's real network
// mode and doctor use (STS GetCallerIdentity and AssumeRole, Secrets
// Manager DescribeSecret and GetSecretValue), on 127.0.0.1. It speaks the
// wire protocols the SDKs use (the query protocol for STS, JSON 1.1 for
// Secrets Manager), tells callers apart by the access key in their
// signature, and enforces who may assume which role and read which secret,
// so both the Go SDK and boto3 can be pointed at it with AWS_ENDPOINT_URL.
package awstest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Account is the account every identity belongs to.
const Account = "123456789012"

// Server is the fake AWS endpoint.
type Server struct {
	URL string

	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]principal // access key ID -> who
	roles   map[string][]string  // role ARN -> principals it trusts
	secrets map[string]secret
	// anyReaders may read every secret (a policy on "*").
	anyReaders []string
	calls      []Call
	next       int
}

type principal struct {
	arn  string
	role string // the role behind an assumed-role session
}

type secret struct {
	value   string
	readers []string
}

// Call is one request the server answered.
type Call struct {
	Service   string // "sts" or "secretsmanager"
	Operation string
	AccessKey string
	Status    int
}

// New starts a server on 127.0.0.1, stopped when the test ends.
func New(t testing.TB) *Server {
	s := &Server{keys: map[string]principal{}, roles: map[string][]string{}, secrets: map[string]secret{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// AddUser registers an access key for an IAM user (or any principal) ARN.
func (s *Server) AddUser(accessKey, arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[accessKey] = principal{arn: arn}
}

// AddRole creates a role whose trust policy names the given principals
// (user ARNs or role ARNs).
func (s *Server) AddRole(arn string, trusted ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[arn] = trusted
}

// AddSecret creates a secret readable (GetSecretValue, DescribeSecret) by
// the given principals (user ARNs or role ARNs).
func (s *Server) AddSecret(name, value string, readers ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[name] = secret{value: value, readers: readers}
}

// AllowAllSecrets lets principal read every secret, so a missing one is
// reported as missing rather than denied.
func (s *Server) AllowAllSecrets(principal string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.anyReaders = append(s.anyReaders, principal)
}

// Calls returns the requests answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Count is how many calls of operation were answered (any status).
func (s *Server) Count(operation string) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Operation == operation {
			n++
		}
	}
	return n
}

// Env points SDKs at the server with the given credentials.
func (s *Server) Env(accessKey, secretKey string) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.URL,
		"AWS_ACCESS_KEY_ID=" + accessKey,
		"AWS_SECRET_ACCESS_KEY=" + secretKey,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

var credentialRe = regexp.MustCompile(`Credential=([^/,\s]+)/[^/]+/([^/]+)/`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key, region := "", "us-east-1"
	if m := credentialRe.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		key, region = m[1], m[2]
	}
	if target := r.Header.Get("X-Amz-Target"); strings.HasPrefix(target, "secretsmanager.") {
		s.secretsManager(w, strings.TrimPrefix(target, "secretsmanager."), key, region, body)
		return
	}
	form, _ := url.ParseQuery(string(body))
	s.sts(w, form.Get("Action"), key, form)
}

func (s *Server) record(service, op, key string, status int) {
	s.calls = append(s.calls, Call{Service: service, Operation: op, AccessKey: key, Status: status})
}

func (s *Server) sts(w http.ResponseWriter, action, key string, form url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	who, known := s.keys[key]
	fail := func(status int, code, msg string) {
		s.record("sts", action, key, status)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fake</RequestId></ErrorResponse>`, code, xmlText(msg))
	}
	if !known {
		fail(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
		return
	}
	switch action {
	case "GetCallerIdentity":
		s.record("sts", action, key, 200)
		writeXML(w, "GetCallerIdentity", fmt.Sprintf("<Arn>%s</Arn><UserId>AIDAFAKE</UserId><Account>%s</Account>", xmlText(who.arn), Account))
	case "AssumeRole":
		role := form.Get("RoleArn")
		session := form.Get("RoleSessionName")
		trusted, exists := s.roles[role]
		allowed := false
		for _, p := range trusted {
			if p == who.arn || (who.role != "" && p == who.role) {
				allowed = true
			}
		}
		if !exists || !allowed {
			fail(403, "AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", who.arn, role))
			return
		}
		s.next++
		newKey := fmt.Sprintf("ASIAFAKE%012d", s.next)
		name := role[strings.LastIndex(role, "/")+1:]
		arn := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", Account, name, session)
		s.keys[newKey] = principal{arn: arn, role: role}
		s.record("sts", action, key, 200)
		writeXML(w, "AssumeRole", fmt.Sprintf(
			"<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>fake-secret-%d</SecretAccessKey><SessionToken>fake-session-token-%d</SessionToken><Expiration>%s</Expiration></Credentials>"+
				"<AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROAFAKE:%s</AssumedRoleId></AssumedRoleUser>",
			newKey, s.next, s.next, time.Now().Add(time.Hour).UTC().Format(time.RFC3339), xmlText(arn), xmlText(session)))
	default:
		fail(400, "InvalidAction", "Could not find operation "+action)
	}
}

func writeXML(w http.ResponseWriter, op, result string) {
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%[1]sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><%[1]sResult>%[2]s</%[1]sResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></%[1]sResponse>`, op, result)
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (s *Server) secretsManager(w http.ResponseWriter, op, key, region string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	reply := func(status int, v any) {
		s.record("secretsmanager", op, key, status)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(status int, code, msg string) {
		w.Header().Set("X-Amzn-ErrorType", code)
		reply(status, map[string]string{"__type": code, "message": msg})
	}
	who, known := s.keys[key]
	if !known {
		fail(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	var in struct{ SecretId string }
	_ = json.Unmarshal(body, &in)
	name := in.SecretId
	if i := strings.Index(name, ":secret:"); i >= 0 {
		name = name[i+len(":secret:"):]
		if len(name) > 7 && name[len(name)-7] == '-' {
			name = name[:len(name)-7]
		}
	}
	sec, exists := s.secrets[name]
	allowed := false
	for _, p := range append(append([]string(nil), sec.readers...), s.anyReaders...) {
		if p == who.arn || (who.role != "" && p == who.role) {
			allowed = true
		}
	}
	arn := fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-AbCdEf", region, Account, name)
	switch {
	case op != "DescribeSecret" && op != "GetSecretValue":
		fail(400, "UnknownOperationException", "unknown operation "+op)
	case !allowed:
		// As AWS does: without permission, a missing secret is denied too.
		fail(400, "AccessDeniedException", fmt.Sprintf("User: %s is not authorized to perform: secretsmanager:%s on resource: %s because no identity-based policy allows the secretsmanager:%s action", who.arn, op, in.SecretId, op))
	case !exists:
		fail(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	case op == "DescribeSecret":
		reply(200, map[string]any{"ARN": arn, "Name": name, "LastChangedDate": 1.7e9})
	default:
		reply(200, map[string]any{"ARN": arn, "Name": name, "SecretString": sec.value, "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9})
	}
}

// Isolate points the AWS SDKs of this process (and of children started
// with its environment) at the server, with accessKey's credentials (none
// when empty), and hides the user's own AWS configuration: no profile, no
// config files, no instance metadata. Nothing can reach real AWS.
func (s *Server) Isolate(t testing.TB, accessKey, secretKey string) {
	t.Helper()
	dir := t.TempDir()
	for _, kv := range [][2]string{
		{"AWS_ENDPOINT_URL", s.URL},
		{"AWS_ACCESS_KEY_ID", accessKey},
		{"AWS_SECRET_ACCESS_KEY", secretKey},
		{"AWS_SESSION_TOKEN", ""},
		{"AWS_SECURITY_TOKEN", ""},
		{"AWS_PROFILE", ""},
		{"AWS_DEFAULT_PROFILE", ""},
		{"AWS_REGION", "us-east-1"},
		{"AWS_DEFAULT_REGION", "us-east-1"},
		{"AWS_CONFIG_FILE", dir + "/config"},
		{"AWS_SHARED_CREDENTIALS_FILE", dir + "/credentials"},
		{"AWS_EC2_METADATA_DISABLED", "true"},
		{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", ""},
		{"AWS_CONTAINER_CREDENTIALS_FULL_URI", ""},
		{"AWS_WEB_IDENTITY_TOKEN_FILE", ""},
		{"AWS_ROLE_ARN", ""},
	} {
		t.Setenv(kv[0], kv[1])
		if kv[1] == "" {
			// Unset, not empty: botocore reads AWS_PROFILE="" as a profile
			// named "". t.Setenv restores the original value either way.
			os.Unsetenv(kv[0])
		}
	}
}
