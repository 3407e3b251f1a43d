package ddb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/rulebench/rulebench/cache"
)

// fail turns an SDK error into the *cache.Error a rule sees, with a hint
// naming what to fix. The SDK has already retried what can be retried.
func (t *Table) fail(operation string, err error) error {
	e := &cache.Error{Type: "CacheError", Err: err}
	where := fmt.Sprintf("table %q in %s", t.table, t.region)
	if t.endpoint != "" {
		where = fmt.Sprintf("table %q at %s", t.table, t.endpoint)
	}

	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e.Message = fmt.Sprintf("DynamoDB %s on %s: %v", operation, where, err)
		e.Hint = "the call was cancelled or ran out of time before DynamoDB answered"
		return e
	}

	if svc, cause, ok := credentialFailure(err); ok {
		e.Message = fmt.Sprintf("DynamoDB %s on %s: no usable AWS credentials: %v", operation, where, cause)
		var sso *ssocreds.InvalidTokenError
		switch {
		case errors.As(err, &sso):
			e.Hint = "the SSO session has expired: run aws sso login" + t.profileFlag()
		case svc == "STS":
			e.Hint = "assuming the role failed: check --assume-role and that the base credentials may call sts:AssumeRole on it"
		default:
			e.Hint = "sign in (aws sso login" + t.profileFlag() + "), pick a profile with --aws-profile or AWS_PROFILE, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
		}
		return e
	}

	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		e.Code = code
		e.Message = fmt.Sprintf("An error occurred (%s) when calling the %s operation: %s", code, operation, api.ErrorMessage())
		switch code {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "LimitExceededException":
			e.Hint = fmt.Sprintf("DynamoDB throttled %s even after retries: retry later, replay fewer events at once, or raise the table's capacity (on-demand, or more read/write capacity units)", where)
		case "AccessDeniedException", "AccessDenied":
			e.Hint = fmt.Sprintf("the credentials in use may not call dynamodb:%s; the cache needs dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem and dynamodb:Scan (GetItem and Scan alone without --cache-write) on arn:aws:dynamodb:%s:<account>:table/%s",
				operation, t.region, t.table)
		case "ResourceNotFoundException":
			e.Hint = fmt.Sprintf("there is no %s: check --dynamodb-table (or %s) and --aws-region", where, TableEnv)
		case "ExpiredTokenException", "ExpiredToken", "RequestExpired":
			e.Hint = "the AWS credentials have expired: refresh them (aws sso login" + t.profileFlag() + ", or new session credentials)"
		case "UnrecognizedClientException", "InvalidSignatureException", "InvalidClientTokenId", "MissingAuthenticationTokenException", "IncompleteSignature":
			e.Hint = "AWS rejected the credentials: check --aws-profile, AWS_PROFILE or the AWS_* variables, and that the keys belong to the table's partition"
		case cache.CodeValidation:
			if strings.Contains(api.ErrorMessage(), "size") {
				e.Hint = "DynamoDB items are limited to 400 KB and keys to 2048 bytes; store less under one key"
			}
		case "InternalServerError", "ServiceUnavailable", "InternalFailure":
			e.Hint = "DynamoDB failed on its side even after retries; try again"
		}
		return e
	}

	var send *smithyhttp.RequestSendError
	var netErr net.Error
	if errors.As(err, &send) || errors.As(err, &netErr) {
		url := t.endpoint
		if url == "" {
			url = fmt.Sprintf("https://dynamodb.%s.amazonaws.com", t.region)
		}
		e.Message = fmt.Sprintf("Could not connect to the endpoint URL: %q (%s %s): %v", url, operation, t.table, err)
		if t.endpoint != "" {
			e.Hint = "nothing answered at --dynamodb-endpoint " + t.endpoint + ": is the local server running on that port?"
		} else {
			e.Hint = "DynamoDB is unreachable: check the network, VPN or proxy, and that --aws-region names a real region"
		}
		return e
	}

	e.Message = fmt.Sprintf("DynamoDB %s on %s: %v", operation, where, err)
	return e
}

func (t *Table) profileFlag() string {
	if t.profile == "" {
		return ""
	}
	return " --profile " + t.profile
}

// credentialFailure reports whether err happened while getting credentials
// rather than in the DynamoDB call itself. Such errors can carry an API
// error of their own (STS's AccessDenied when assuming a role), which must
// not be mistaken for DynamoDB refusing the table.
func credentialFailure(err error) (service string, cause error, ok bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if op, isOp := e.(*smithy.OperationError); isOp && op.ServiceID != "" && op.ServiceID != "DynamoDB" {
			return op.ServiceID, op, true
		}
		if !ok {
			if msg := e.Error(); strings.HasPrefix(msg, "get identity: ") || strings.HasPrefix(msg, "failed to retrieve credentials") {
				ok, cause = true, e
				if inner := errors.Unwrap(e); inner != nil {
					cause = inner
				}
			}
		}
	}
	return "", cause, ok
}
