// Package awsauth resolves the AWS identity rulebench acts as in real
// network mode, hands it to the Python workers, and checks the set-up
// Panther's "Enrichment: API calls and secrets" document walks through: who
// the credentials belong to, that the enrichment role can be assumed, and
// that each secret can be read.
package awsauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
)

// Config says how to reach AWS. Credentials come from the standard chain:
// environment, shared config and credentials files (profiles, SSO),
// container and instance roles.
type Config struct {
	Profile string
	Region  string
	// AssumeRoleARN is assumed once, with the chain's credentials.
	AssumeRoleARN string
	// Log receives the SDK's log output; nil discards it (stderr belongs
	// to the terminal UI).
	Log io.Writer
}

// DefaultRegion is used when neither flags, environment nor profile name
// one: Panther's detection engine always runs in some region, and STS and
// Secrets Manager clients need one.
const DefaultRegion = "us-east-1"

// SessionDuration is how long assumed-role credentials last. They are
// resolved once per run: a longer run needs a longer-lived role session.
const SessionDuration = time.Hour

// Load returns the SDK configuration for c, without calling AWS.
func Load(ctx context.Context, c Config) (aws.Config, error) {
	logOut := c.Log
	if logOut == nil {
		logOut = io.Discard
	}
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.NewStandardLogger(logOut))}
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if isLoopback(os.Getenv("AWS_ENDPOINT_URL")) {
		// A local stand-in for AWS never has an instance-metadata service;
		// asking for one would wait on timeouts (or leave the machine).
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, &Problem{
			What: "load AWS configuration", Err: err,
			Hint: "check --aws-profile (it must exist in ~/.aws/config or ~/.aws/credentials) and the AWS_* environment variables",
		}
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	return cfg, nil
}

func isLoopback(endpoint string) bool {
	if endpoint == "" {
		return false
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// Session is the identity handed to the workers.
type Session struct {
	Credentials aws.Credentials
	Region      string
	// Caller is the ARN the credentials belong to; Role the role assumed
	// ("" when the chain's credentials are used as they are).
	Caller string
	Role   string
}

// Resolve gets credentials from the chain (and assumes c.AssumeRoleARN
// with them) once, so every worker acts as the same identity and no worker
// repeats an SSO refresh or an AssumeRole.
func Resolve(ctx context.Context, c Config) (Session, error) {
	cfg, err := Load(ctx, c)
	if err != nil {
		return Session{}, err
	}
	if c.AssumeRoleARN != "" {
		assumed, arn, err := AssumeRole(ctx, cfg, c.AssumeRoleARN)
		if err != nil {
			if Code(err) == "" {
				return Session{}, explainCredentials(err, c.Profile)
			}
			// Name the caller in the hint: it is the principal the role's
			// trust policy must allow.
			caller, _, _ := Identity(ctx, cfg)
			return Session{}, ExplainAssume(err, caller, c.AssumeRoleARN)
		}
		creds, err := assumed.Credentials.Retrieve(ctx)
		if err != nil {
			return Session{}, explainCredentials(err, c.Profile)
		}
		return Session{Credentials: creds, Region: cfg.Region, Caller: arn, Role: c.AssumeRoleARN}, nil
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return Session{}, explainCredentials(err, c.Profile)
	}
	return Session{Credentials: creds, Region: cfg.Region}, nil
}

// Env is the workers' environment: boto3 in rule code finds these
// credentials first, before any profile.
func (s Session) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.Credentials.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + s.Credentials.SecretAccessKey,
		// Set even when empty, so a token left in the user's environment
		// is not paired with other keys.
		"AWS_SESSION_TOKEN=" + s.Credentials.SessionToken,
		"AWS_REGION=" + s.Region,
		"AWS_DEFAULT_REGION=" + s.Region,
	}
}

// Secrets are the values in Env that must never be shown.
func (s Session) Secrets() map[string]string {
	out := map[string]string{"aws-secret-access-key": s.Credentials.SecretAccessKey}
	if s.Credentials.SessionToken != "" {
		out["aws-session-token"] = s.Credentials.SessionToken
	}
	return out
}

// Identity calls sts:GetCallerIdentity.
func Identity(ctx context.Context, cfg aws.Config) (arn, account string, err error) {
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", err
	}
	return aws.ToString(out.Arn), aws.ToString(out.Account), nil
}

// AssumeRole assumes roleARN with cfg's credentials and returns a
// configuration using the role's, and the session's ARN.
func AssumeRole(ctx context.Context, cfg aws.Config, roleARN string) (aws.Config, string, error) {
	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(roleARN),
		RoleSessionName: aws.String(fmt.Sprintf("rulebench-%d", time.Now().Unix())),
		DurationSeconds: aws.Int32(int32(SessionDuration / time.Second)),
	})
	if err != nil {
		return aws.Config{}, "", err
	}
	c := out.Credentials
	assumed := cfg.Copy()
	assumed.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	arn := ""
	if out.AssumedRoleUser != nil {
		arn = aws.ToString(out.AssumedRoleUser.Arn)
	}
	return assumed, arn, nil
}

// DescribeSecret calls secretsmanager:DescribeSecret, which proves the
// secret exists and is visible without reading its value.
func DescribeSecret(ctx context.Context, cfg aws.Config, name string) (string, error) {
	out, err := secretsmanager.NewFromConfig(cfg).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ARN), nil
}

// Problem is a failed AWS step with what to do about it.
type Problem struct {
	What string
	Err  error
	Hint string
}

func (p *Problem) Error() string {
	msg := p.What
	if p.Err != nil && cause(p.Err) != p.What {
		msg += ": " + cause(p.Err)
	}
	if p.Hint != "" {
		msg += " (" + strings.ReplaceAll(p.Hint, "\n", " ") + ")"
	}
	return msg
}

func (p *Problem) Unwrap() error { return p.Err }

// RoleOf is the IAM role behind an assumed-role session ARN (the principal
// a trust policy names); other ARNs are returned unchanged.
func RoleOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && parts[2] == "sts" && strings.HasPrefix(parts[5], "assumed-role/") {
		fields := strings.Split(strings.TrimPrefix(parts[5], "assumed-role/"), "/")
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", parts[1], parts[4], fields[0])
	}
	return arn
}

// ErrNoCredentials: the standard chain found no credentials at all.
var ErrNoCredentials = errors.New("no AWS credentials found")
