package awsauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// cause is an SDK error without the layers of operation context the SDK
// wraps it in: "AccessDenied: User ... is not authorized ...".
func cause(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return err.Error()
}

// Code is the AWS error code of err ("" when it has none).
func Code(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// innermost is the error at the bottom of the SDK's wrapping (the refused
// connection, the DNS failure).
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

func credentialsMissing(err error) bool {
	msg := err.Error()
	for _, s := range []string{"failed to retrieve credentials", "failed to refresh cached credentials", "get identity:", "no EC2 IMDS role found", "static credentials are empty"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func profileFlag(profile string) string {
	if profile == "" {
		return ""
	}
	return " --profile " + profile
}

// explainCredentials describes a failure to get credentials at all, or
// AWS refusing the ones there are.
func explainCredentials(err error, profile string) *Problem {
	var sso *ssocreds.InvalidTokenError
	switch {
	case errors.As(err, &sso):
		return &Problem{What: "the AWS SSO session has expired", Err: err, Hint: "run aws sso login" + profileFlag(profile)}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &Problem{What: "AWS did not answer in time", Err: err, Hint: "check the network, VPN or proxy"}
	}
	switch Code(err) {
	case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
		return &Problem{What: "the AWS credentials have expired", Err: err, Hint: "refresh them: aws sso login" + profileFlag(profile) + ", or new session credentials"}
	case "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature":
		return &Problem{What: "AWS rejected the credentials", Err: err, Hint: "the access key is unknown or its secret is wrong: check --aws-profile, AWS_PROFILE and the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY variables"}
	}
	var send *smithyhttp.RequestSendError
	var netErr net.Error
	isSend, isNet := errors.As(err, &send), errors.As(err, &netErr)
	if isSend || isNet {
		hint := "check the network, VPN or proxy"
		if endpoint := os.Getenv("AWS_ENDPOINT_URL"); endpoint != "" {
			hint += "; AWS_ENDPOINT_URL sends every call to " + endpoint
		}
		cause := innermost(err)
		if isNet {
			cause = netErr
		}
		return &Problem{What: "AWS could not be reached", Err: cause, Hint: hint}
	}
	if credentialsMissing(err) {
		return &Problem{What: ErrNoCredentials.Error(), Err: ErrNoCredentials,
			Hint: "sign in with aws sso login" + profileFlag(profile) + ", pick a profile with --aws-profile or AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"}
	}
	return &Problem{What: "sts:GetCallerIdentity failed", Err: err}
}

// ExplainIdentity describes why sts:GetCallerIdentity failed.
func ExplainIdentity(err error, profile string) *Problem { return explainCredentials(err, profile) }

// ExplainAssume describes why caller could not assume role, naming the
// two statements the document asks for: the role's trust policy must name
// the caller, and the caller must be allowed sts:AssumeRole on the role.
func ExplainAssume(err error, caller, role string) *Problem {
	p := &Problem{What: "sts:AssumeRole on " + role + " failed", Err: err}
	code := Code(err)
	switch {
	case code == "AccessDenied" || code == "AccessDeniedException":
		principal := RoleOf(caller)
		if principal == "" {
			principal = "<your principal ARN>"
		}
		p.Hint = fmt.Sprintf("%s may not assume it. The role's trust policy needs\n"+
			`  {"Effect": "Allow", "Principal": {"AWS": %q}, "Action": "sts:AssumeRole"}`+"\n"+
			"and the caller's own IAM policy\n"+
			`  {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": %q}`,
			orUnknown(caller), principal, role)
	case code == "ValidationError" || code == "MalformedPolicyDocument":
		p.Hint = "check the role ARN (arn:aws:iam::<account>:role/<name>)"
	case code == "NoSuchEntity":
		p.Hint = "there is no such role: check the ARN"
	default:
		if q := explainCredentials(err, ""); q.What != "sts:GetCallerIdentity failed" {
			p.Hint = q.What + ": " + q.Hint
		}
	}
	return p
}

// ExplainSecret describes why principal could not describe secret name,
// naming the IAM statement Panther's document asks for.
func ExplainSecret(err error, principal, region, account, name string) *Problem {
	p := &Problem{What: "secretsmanager:DescribeSecret on " + name + " failed", Err: err}
	if account == "" {
		account = "<account>"
	}
	resource := fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-*", region, account, name)
	if strings.HasPrefix(name, "arn:") {
		resource = name
	}
	switch Code(err) {
	case "AccessDeniedException", "AccessDenied":
		p.Hint = fmt.Sprintf("%s may not read it. Its IAM policy (role %s) needs\n"+
			`  {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": [%q]}`+"\n"+
			"(and kms:Decrypt on the secret's key if it is encrypted with a customer managed KMS key)",
			orUnknown(principal), orUnknown(RoleOf(principal)), resource)
	case "ResourceNotFoundException":
		p.Hint = fmt.Sprintf("there is no secret %q in %s (account %s): check the name, --aws-region, and that the secret was created in this account", name, region, account)
	default:
		if q := explainCredentials(err, ""); q.What != "sts:GetCallerIdentity failed" {
			p.Hint = q.What + ": " + q.Hint
		}
	}
	return p
}

func orUnknown(s string) string {
	if s == "" {
		return "the caller"
	}
	return s
}
