package awsauth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rulebench/rulebench/engine/awsauth/awstest"
)

const (
	devKey  = "AKIADEVELOPER0000001"
	devARN  = "arn:aws:iam::123456789012:user/dev"
	roleARN = "arn:aws:iam::123456789012:role/PantherEnrichmentSecretsReader"
)

func fakeAWS(t *testing.T) *awstest.Server {
	s := awstest.New(t)
	s.AddUser(devKey, devARN)
	s.AddRole(roleARN, devARN)
	s.AddSecret("panther-secrets/virus-total", `{"api_key": "vt-real-key-5678"}`, roleARN)
	s.AddSecret("panther-secrets/other-team", "nope", "arn:aws:iam::123456789012:role/Other")
	return s
}

func TestResolveAssumesTheRoleOnce(t *testing.T) {
	s := fakeAWS(t)
	s.Isolate(t, devKey, "dev-secret")
	ctx := context.Background()
	sess, err := Resolve(ctx, Config{AssumeRoleARN: roleARN})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sess.Credentials.AccessKeyID, "ASIAFAKE") || sess.Credentials.SessionToken == "" ||
		sess.Role != roleARN || !strings.Contains(sess.Caller, "assumed-role/PantherEnrichmentSecretsReader/rulebench-") {
		t.Errorf("session %+v", sess)
	}
	if n := s.Count("AssumeRole"); n != 1 {
		t.Errorf("AssumeRole called %d times", n)
	}
	env := strings.Join(sess.Env(), "\n")
	for _, want := range []string{"AWS_ACCESS_KEY_ID=" + sess.Credentials.AccessKeyID, "AWS_SESSION_TOKEN=fake-session-token-1", "AWS_REGION=us-east-1"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %q:\n%s", want, env)
		}
	}
	if sess.Secrets()["aws-secret-access-key"] != "fake-secret-1" {
		t.Errorf("secrets to mask: %v", sess.Secrets())
	}

	// Without a role the chain's own credentials are handed over.
	plain, err := Resolve(ctx, Config{})
	if err != nil || plain.Credentials.AccessKeyID != devKey || plain.Role != "" {
		t.Errorf("plain session %+v, %v", plain, err)
	}
}

func TestChecksExplainWhatIsMissing(t *testing.T) {
	s := fakeAWS(t)
	s.Isolate(t, devKey, "dev-secret")
	ctx := context.Background()
	cfg, err := Load(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	arn, account, err := Identity(ctx, cfg)
	if err != nil || arn != devARN || account != awstest.Account {
		t.Fatalf("identity %q %q %v", arn, account, err)
	}

	// The developer may not read the secret directly: the statement the
	// role needs is spelled out.
	_, err = DescribeSecret(ctx, cfg, "panther-secrets/virus-total")
	p := ExplainSecret(err, arn, cfg.Region, account, "panther-secrets/virus-total")
	for _, want := range []string{
		"secretsmanager:DescribeSecret on panther-secrets/virus-total failed: AccessDeniedException",
		`"Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]`,
		`"Resource": ["arn:aws:secretsmanager:us-east-1:123456789012:secret:panther-secrets/virus-total-*"]`,
		devARN + " may not read it",
	} {
		if !strings.Contains(p.Error(), want) {
			t.Errorf("%q lacks %q", p.Error(), want)
		}
	}

	assumed, session, err := AssumeRole(ctx, cfg, roleARN)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DescribeSecret(ctx, assumed, "panther-secrets/virus-total"); err != nil || !strings.Contains(got, ":secret:panther-secrets/virus-total-") {
		t.Errorf("describe as the role: %q %v", got, err)
	}
	_, err = DescribeSecret(ctx, assumed, "panther-secrets/other-team")
	if p := ExplainSecret(err, session, cfg.Region, account, "panther-secrets/other-team"); !strings.Contains(p.Error(), "role "+roleARN+") needs") {
		t.Errorf("the hint names the role whose policy to change: %v", p)
	}

	s.AllowAllSecrets(roleARN)
	_, err = DescribeSecret(ctx, assumed, "panther-secrets/typo")
	if p := ExplainSecret(err, session, cfg.Region, account, "panther-secrets/typo"); !strings.Contains(p.Error(), `there is no secret "panther-secrets/typo" in us-east-1`) {
		t.Errorf("missing secret: %v", p)
	}

	_, _, err = AssumeRole(ctx, cfg, "arn:aws:iam::123456789012:role/NotTrusting")
	p = ExplainAssume(err, arn, "arn:aws:iam::123456789012:role/NotTrusting")
	for _, want := range []string{
		"sts:AssumeRole on arn:aws:iam::123456789012:role/NotTrusting failed: AccessDenied",
		`"Principal": {"AWS": "arn:aws:iam::123456789012:user/dev"}, "Action": "sts:AssumeRole"`,
		`"Action": "sts:AssumeRole", "Resource": "arn:aws:iam::123456789012:role/NotTrusting"`,
	} {
		if !strings.Contains(p.Error(), want) {
			t.Errorf("%q lacks %q", p.Error(), want)
		}
	}
}

func TestMissingAndRejectedCredentials(t *testing.T) {
	s := fakeAWS(t)
	s.Isolate(t, "", "")
	_, err := Resolve(context.Background(), Config{})
	var p *Problem
	if !errors.As(err, &p) || !errors.Is(err, ErrNoCredentials) || !strings.Contains(p.Hint, "aws sso login") || !strings.Contains(p.Hint, "AWS_ACCESS_KEY_ID") {
		t.Errorf("no credentials: %v", err)
	}
	if _, err := Resolve(context.Background(), Config{Profile: "nonesuch"}); err == nil || !strings.Contains(err.Error(), "nonesuch") {
		t.Errorf("missing profile: %v", err)
	}

	s.Isolate(t, "AKIAUNKNOWN000000000", "x")
	cfg, err := Load(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Identity(context.Background(), cfg)
	if p := ExplainIdentity(err, ""); p.What != "AWS rejected the credentials" {
		t.Errorf("unknown key: %v", p)
	}
	if len(s.Calls()) != 1 {
		t.Errorf("calls %+v", s.Calls())
	}
}

func TestRoleOf(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sts::123456789012:assumed-role/Dev/alice": "arn:aws:iam::123456789012:role/Dev",
		"arn:aws:iam::123456789012:user/bob":               "arn:aws:iam::123456789012:user/bob",
		"":                                                 "",
	} {
		if got := RoleOf(in); got != want {
			t.Errorf("RoleOf(%q) = %q", in, got)
		}
	}
}
