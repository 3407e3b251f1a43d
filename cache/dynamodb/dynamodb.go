// Package ddb is the cache Backend on a DynamoDB table laid out as Panther's
// panther-kv-store: partition key "key" (S), "intCount" (N), "stringSet"
// (SS), "dictionary" (S, JSON text) and "expiresAt" (N, epoch seconds).
//
// The package is not called dynamodb so that it can be imported beside the
// AWS SDK's package of that name.
package ddb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"

	"github.com/rulebench/rulebench/cache"
)

// TableEnv names the environment variable Panther's helpers read the table
// name from; it overrides cache.DefaultTable.
const TableEnv = "KV_STORE_TABLE_NAME"

// Config says which table to use and how to reach it. Credentials come from
// the standard chain (environment, shared config and credentials files, SSO,
// container and instance roles) unless overridden.
type Config struct {
	// Table defaults to $KV_STORE_TABLE_NAME, else "panther-kv-store".
	Table string
	// Profile is a shared-config profile; empty uses AWS_PROFILE or default.
	Profile string
	// Region overrides the profile's or environment's region.
	Region string
	// AssumeRoleARN, when set, is assumed (through STS, with the chain's
	// credentials) for every call.
	AssumeRoleARN string
	// Endpoint is the base URL of a DynamoDB-compatible server (dynalite,
	// DynamoDB Local). A loopback endpoint works without AWS credentials
	// and region: local servers accept any.
	Endpoint string
	// Credentials, when set, replaces the standard chain.
	Credentials aws.CredentialsProvider
	// MaxAttempts bounds the SDK's retries (throttling, 5xx); 0 keeps the
	// SDK's default of 3.
	MaxAttempts int
	// ScanPageSize limits items per Scan request; 0 lets DynamoDB fill
	// 1 MB pages.
	ScanPageSize int32
	// Log receives the SDK's log output. Nil discards it: the SDK must
	// never write to stderr, which belongs to the terminal UI.
	Log io.Writer
}

// Table is a cache.Backend on one DynamoDB table.
type Table struct {
	client   *dynamodb.Client
	table    string
	region   string
	endpoint string
	profile  string
	pageSize int32
}

var _ cache.Backend = (*Table)(nil)

// Open prepares a client for cfg's table. It does not call DynamoDB; use
// Check to find out early whether the table can be reached.
func Open(ctx context.Context, cfg Config) (*Table, error) {
	if cfg.Table == "" {
		cfg.Table = os.Getenv(TableEnv)
	}
	if cfg.Table == "" {
		cfg.Table = cache.DefaultTable
	}
	logOut := cfg.Log
	if logOut == nil {
		logOut = io.Discard
	}
	local := isLoopback(cfg.Endpoint)

	opts := []func(*config.LoadOptions) error{
		config.WithLogger(logging.NewStandardLogger(logOut)),
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.MaxAttempts > 0 {
		opts = append(opts, config.WithRetryMaxAttempts(cfg.MaxAttempts))
	}
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	if local {
		// A missing instance-metadata service makes the chain wait on
		// timeouts before it gives up; a local server never needs it.
		opts = append(opts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, &cache.Error{
			Type:    "CacheError",
			Message: fmt.Sprintf("load AWS configuration: %v", err),
			Hint:    "check --aws-profile (it must exist in ~/.aws/config or ~/.aws/credentials) and the AWS_* environment variables",
			Err:     err,
		}
	}
	if awsCfg.Region == "" {
		if !local && cfg.Endpoint == "" {
			return nil, &cache.Error{
				Type:    "CacheError",
				Message: "no AWS region for the DynamoDB cache",
				Hint:    "pass --aws-region, set AWS_REGION, or give the profile a region",
			}
		}
		awsCfg.Region = "us-east-1"
	}
	if cfg.AssumeRoleARN != "" {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(awsCfg), cfg.AssumeRoleARN,
			func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = fmt.Sprintf("rulebench-%d", time.Now().Unix())
			})
		awsCfg.Credentials = aws.NewCredentialsCache(provider)
	} else if local && cfg.Credentials == nil {
		// Local servers ignore signatures but the SDK must sign with
		// something; use the chain's credentials when there are any, since
		// DynamoDB Local keeps one database per access key.
		awsCfg.Credentials = aws.NewCredentialsCache(fallback{
			primary: awsCfg.Credentials,
			backup:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		})
	}

	client := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &Table{
		client:   client,
		table:    cfg.Table,
		region:   awsCfg.Region,
		endpoint: cfg.Endpoint,
		profile:  cfg.Profile,
		pageSize: cfg.ScanPageSize,
	}, nil
}

// fallback retrieves credentials from primary, or backup when primary has
// none.
type fallback struct {
	primary, backup aws.CredentialsProvider
}

func (f fallback) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if f.primary != nil {
		if c, err := f.primary.Retrieve(ctx); err == nil {
			return c, nil
		}
	}
	return f.backup.Retrieve(ctx)
}

func isLoopback(endpoint string) bool {
	if endpoint == "" {
		return false
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name implements cache.Backend.
func (t *Table) Name() string {
	if t.endpoint != "" {
		return "dynamodb:" + t.table + "@" + t.endpoint
	}
	return "dynamodb:" + t.table
}

// TableName returns the table's name.
func (t *Table) TableName() string { return t.table }

// Region returns the region calls go to.
func (t *Table) Region() string { return t.region }

// Client returns the SDK client, for tools that need raw access.
func (t *Table) Client() *dynamodb.Client { return t.client }

// Check reads one key that never exists, which proves the credentials,
// region, endpoint and table with the one permission the cache cannot do
// without (dynamodb:GetItem).
func (t *Table) Check(ctx context.Context) error {
	_, _, err := t.GetItem(ctx, "rulebench:check")
	return err
}

// CreateTable creates the table with Panther's key schema, on-demand
// billing, and waits until it is active. A table that already exists is
// left as it is. Meant for local servers and tests: it does not enable
// DynamoDB's TTL (dynalite cannot), and rulebench expires items itself.
func (t *Table) CreateTable(ctx context.Context) error {
	_, err := t.client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(t.table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(cache.AttrKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(cache.AttrKey), KeyType: types.KeyTypeHash}},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return t.fail("CreateTable", err)
	}
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		out, err := t.client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(t.table)})
		if err != nil {
			return t.fail("DescribeTable", err)
		}
		if out.Table.TableStatus == types.TableStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return t.fail("DescribeTable", ctx.Err())
		case <-time.After(wait):
		}
	}
}

// DeleteTable deletes the table. Meant for tests.
func (t *Table) DeleteTable(ctx context.Context) error {
	_, err := t.client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(t.table)})
	if err != nil {
		return t.fail("DeleteTable", err)
	}
	return nil
}

func keyOf(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{cache.AttrKey: &types.AttributeValueMemberS{Value: key}}
}

// GetItem implements cache.Backend with a strongly consistent read, so a
// call sees the writes of the calls before it.
func (t *Table) GetItem(ctx context.Context, key string) (cache.Item, bool, error) {
	out, err := t.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.table),
		Key:            keyOf(key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return cache.Item{}, false, t.fail("GetItem", err)
	}
	if out.Item == nil {
		return cache.Item{}, false, nil
	}
	it, err := Unmarshal(out.Item)
	if err != nil {
		return cache.Item{}, false, t.fail("GetItem", err)
	}
	return it, true, nil
}

// PutItem implements cache.Backend.
func (t *Table) PutItem(ctx context.Context, it cache.Item) (cache.WriteResult, error) {
	_, err := t.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.table),
		Item:      Marshal(it),
	})
	if err != nil {
		return cache.WriteResult{}, t.fail("PutItem", err)
	}
	return cache.WriteResult{Item: it.Clone(), Exists: true, Written: true}, nil
}

// UpdateItem implements cache.Backend as one UpdateItem with
// ReturnValues=ALL_NEW.
func (t *Table) UpdateItem(ctx context.Context, key string, u cache.Update) (cache.WriteResult, error) {
	in := &dynamodb.UpdateItemInput{
		TableName:    aws.String(t.table),
		Key:          keyOf(key),
		ReturnValues: types.ReturnValueAllNew,
	}
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var set, remove, add, del []string
	if u.SetExpiresAt != nil {
		names["#e"] = cache.AttrExpiresAt
		values[":e"] = number(*u.SetExpiresAt)
		set = append(set, "#e = :e")
	}
	if u.AddCount != nil {
		names["#c"] = cache.AttrIntCount
		values[":c"] = number(*u.AddCount)
		add = append(add, "#c :c")
	}
	if u.AddStrings != nil {
		names["#s"] = cache.AttrStringSet
		values[":s"] = &types.AttributeValueMemberSS{Value: u.AddStrings}
		add = append(add, "#s :s")
	}
	if u.DeleteStrings != nil {
		names["#s"] = cache.AttrStringSet
		values[":d"] = &types.AttributeValueMemberSS{Value: u.DeleteStrings}
		del = append(del, "#s :d")
	}
	for i, attr := range u.Remove {
		n := "#r" + strconv.Itoa(i)
		names[n] = attr
		remove = append(remove, n)
	}
	var expr []string
	for _, clause := range []struct {
		verb  string
		parts []string
	}{{"SET", set}, {"REMOVE", remove}, {"ADD", add}, {"DELETE", del}} {
		if len(clause.parts) > 0 {
			expr = append(expr, clause.verb+" "+strings.Join(clause.parts, ", "))
		}
	}
	if len(expr) > 0 {
		in.UpdateExpression = aws.String(strings.Join(expr, " "))
		in.ExpressionAttributeNames = names
	}
	if len(values) > 0 {
		in.ExpressionAttributeValues = values
	}
	out, err := t.client.UpdateItem(ctx, in)
	if err != nil {
		return cache.WriteResult{}, t.fail("UpdateItem", err)
	}
	if len(out.Attributes) == 0 {
		return cache.WriteResult{Written: true}, nil
	}
	it, err := Unmarshal(out.Attributes)
	if err != nil {
		return cache.WriteResult{}, t.fail("UpdateItem", err)
	}
	return cache.WriteResult{Item: it, Exists: true, Written: true}, nil
}

// DeleteItem implements cache.Backend.
func (t *Table) DeleteItem(ctx context.Context, key string) (cache.WriteResult, error) {
	_, err := t.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(t.table),
		Key:       keyOf(key),
	})
	if err != nil {
		return cache.WriteResult{}, t.fail("DeleteItem", err)
	}
	return cache.WriteResult{Written: true}, nil
}

// Scan implements cache.Backend with a paginated, strongly consistent Scan
// filtered by begins_with on the key. Items come in DynamoDB's order, not
// key order.
func (t *Table) Scan(ctx context.Context, prefix string, fn func(cache.Item) bool) error {
	in := &dynamodb.ScanInput{
		TableName:      aws.String(t.table),
		ConsistentRead: aws.Bool(true),
	}
	if t.pageSize > 0 {
		in.Limit = aws.Int32(t.pageSize)
	}
	if prefix != "" {
		in.FilterExpression = aws.String("begins_with(#k, :prefix)")
		in.ExpressionAttributeNames = map[string]string{"#k": cache.AttrKey}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":prefix": &types.AttributeValueMemberS{Value: prefix}}
	}
	pages := dynamodb.NewScanPaginator(t.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return t.fail("Scan", err)
		}
		for _, av := range page.Items {
			it, err := Unmarshal(av)
			if err != nil {
				return t.fail("Scan", err)
			}
			if !fn(it) {
				return nil
			}
		}
	}
	return nil
}

func number(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// Marshal returns the item as DynamoDB attributes, with Panther's names and
// types. An empty string set is left out: DynamoDB has no empty sets.
func Marshal(it cache.Item) map[string]types.AttributeValue {
	av := keyOf(it.Key)
	if it.IntCount != nil {
		av[cache.AttrIntCount] = number(*it.IntCount)
	}
	if len(it.StringSet) > 0 {
		av[cache.AttrStringSet] = &types.AttributeValueMemberSS{Value: append([]string(nil), it.StringSet...)}
	}
	if it.Dictionary != nil {
		av[cache.AttrDictionary] = &types.AttributeValueMemberS{Value: *it.Dictionary}
	}
	if it.ExpiresAt != nil {
		av[cache.AttrExpiresAt] = number(*it.ExpiresAt)
	}
	return av
}

// Unmarshal reads an item written by Panther or rulebench. Attributes other
// tools added are ignored; Panther's attributes with another type are an
// error, since guessing would misreport what rules will see.
func Unmarshal(av map[string]types.AttributeValue) (cache.Item, error) {
	var it cache.Item
	key, ok := av[cache.AttrKey].(*types.AttributeValueMemberS)
	if !ok {
		return it, fmt.Errorf("item has no string attribute %q", cache.AttrKey)
	}
	it.Key = key.Value
	for name, v := range av {
		switch name {
		case cache.AttrIntCount, cache.AttrExpiresAt:
			n, ok := v.(*types.AttributeValueMemberN)
			if !ok {
				return it, fmt.Errorf("item %q: attribute %s is %s, want N", it.Key, name, typeName(v))
			}
			i, err := parseNumber(n.Value)
			if err != nil {
				return it, fmt.Errorf("item %q: attribute %s: %w", it.Key, name, err)
			}
			if name == cache.AttrIntCount {
				it.IntCount = &i
			} else {
				it.ExpiresAt = &i
			}
		case cache.AttrStringSet:
			ss, ok := v.(*types.AttributeValueMemberSS)
			if !ok {
				return it, fmt.Errorf("item %q: attribute %s is %s, want SS", it.Key, name, typeName(v))
			}
			it.StringSet = cache.SortedSet(ss.Value)
		case cache.AttrDictionary:
			s, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				return it, fmt.Errorf("item %q: attribute %s is %s, want S", it.Key, name, typeName(v))
			}
			d := s.Value
			it.Dictionary = &d
		}
	}
	return it, nil
}

// parseNumber reads an integer N. An expiry written by another tool may
// carry a fraction; it is truncated as Python's int() would.
func parseNumber(s string) (int64, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f >= 1<<63 || f < -(1<<63) {
		return 0, fmt.Errorf("number %s does not fit a 64-bit integer", s)
	}
	return int64(f), nil
}

func typeName(v types.AttributeValue) string {
	switch v.(type) {
	case *types.AttributeValueMemberS:
		return "S"
	case *types.AttributeValueMemberN:
		return "N"
	case *types.AttributeValueMemberB:
		return "B"
	case *types.AttributeValueMemberSS:
		return "SS"
	case *types.AttributeValueMemberNS:
		return "NS"
	case *types.AttributeValueMemberBS:
		return "BS"
	case *types.AttributeValueMemberM:
		return "M"
	case *types.AttributeValueMemberL:
		return "L"
	case *types.AttributeValueMemberBOOL:
		return "BOOL"
	case *types.AttributeValueMemberNULL:
		return "NULL"
	}
	return fmt.Sprintf("%T", v)
}
