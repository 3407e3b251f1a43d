package ddb_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/cache/cachetest"
	ddb "github.com/rulebench/rulebench/cache/dynamodb"
	"github.com/rulebench/rulebench/cache/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

func smallPages(c *ddb.Config) { c.ScanPageSize = 5 }

func TestBehaviour(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Backend { return dynamotest.NewTable(t, smallPages) })
}

func TestOverlayBehaviour(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) cache.Backend { return cache.NewOverlay(dynamotest.NewTable(t, smallPages)) })
}

func i64(v int64) *int64 { return &v }

// rawScan returns every item in the table as the SDK sees it.
func rawScan(t *testing.T, table *ddb.Table) []map[string]types.AttributeValue {
	t.Helper()
	out, err := table.Client().Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table.TableName())})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

func TestOverlayWritesNothingToTable(t *testing.T) {
	table := dynamotest.NewTable(t)
	ctx := context.Background()
	seed := cache.New(table)
	for _, call := range []cache.Call{
		{Op: cache.OpIncrementCounter, Key: "count", Val: i64(5)},
		{Op: cache.OpAddToStringSet, Key: "set", Strings: []string{"a"}},
	} {
		if _, _, err := seed.Do(ctx, cachetest.Now, call); err != nil {
			t.Fatal(err)
		}
	}
	before := rawScan(t, table)

	ro := cache.NewOverlay(table)
	kv := cache.New(ro)
	for _, call := range []cache.Call{
		{Op: cache.OpIncrementCounter, Key: "count"},
		{Op: cache.OpIncrementCounter, Key: "new"},
		{Op: cache.OpResetCounter, Key: "count"},
		{Op: cache.OpPutStringSet, Key: "set", Strings: []string{"z"}},
		{Op: cache.OpAddToStringSet, Key: "set2", Strings: []string{"y"}},
		{Op: cache.OpRemoveFromStringSet, Key: "set", Strings: []string{"z"}},
		{Op: cache.OpResetStringSet, Key: "set"},
		{Op: cache.OpPutDictionary, Key: "dict", Dictionary: aws.String(`{}`)},
		{Op: cache.OpSetKeyExpiration, Key: "count", EpochSeconds: aws.Float64(5)},
	} {
		_, op, err := kv.Do(ctx, cachetest.Now, call)
		if err != nil {
			t.Fatal(err)
		}
		if op.Written {
			t.Errorf("%s traced as written", call.Op)
		}
	}
	if _, err := ro.DeleteItem(ctx, "set"); err != nil {
		t.Fatal(err)
	}
	after := rawScan(t, table)
	if len(after) != 2 || !sameItems(before, after) {
		t.Errorf("the table changed under a read-only overlay:\nbefore %v\nafter  %v", dump(before), dump(after))
	}
	// The overlay itself shows its writes over the table's items.
	var keys []string
	if err := kv.List(ctx, "", func(it cache.Item) bool { keys = append(keys, it.Key); return true }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(sorted(keys), ",") != "count,dict,new,set2" {
		t.Errorf("overlay listing = %v", keys)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func dump(items []map[string]types.AttributeValue) string {
	var parts []string
	for _, av := range items {
		it, err := ddb.Unmarshal(av)
		if err != nil {
			parts = append(parts, err.Error())
			continue
		}
		b, _ := json.Marshal(it)
		parts = append(parts, string(b))
	}
	return strings.Join(sorted(parts), " ")
}

func sameItems(a, b []map[string]types.AttributeValue) bool { return dump(a) == dump(b) }

func TestPantherAttributeLayout(t *testing.T) {
	table := dynamotest.NewTable(t)
	kv := cache.New(table)
	ctx := context.Background()
	for _, call := range []cache.Call{
		{Op: cache.OpIncrementCounter, Key: "k", Val: i64(3)},
		{Op: cache.OpAddToStringSet, Key: "k", Strings: []string{"b", "a"}},
		{Op: cache.OpPutDictionary, Key: "d", Dictionary: aws.String(`{"x": 1}`), EpochSeconds: aws.Float64(60)},
	} {
		if _, _, err := kv.Do(ctx, cachetest.Now, call); err != nil {
			t.Fatal(err)
		}
	}
	get := func(key string) map[string]types.AttributeValue {
		out, err := table.Client().GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(table.TableName()),
			Key:       map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: key}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	k := get("k")
	if len(k) != 4 {
		t.Errorf("item k has attributes %v; want key, intCount, stringSet, expiresAt", k)
	}
	if v, ok := k["key"].(*types.AttributeValueMemberS); !ok || v.Value != "k" {
		t.Errorf("key = %#v; want S k", k["key"])
	}
	if v, ok := k["intCount"].(*types.AttributeValueMemberN); !ok || v.Value != "3" {
		t.Errorf("intCount = %#v; want N 3", k["intCount"])
	}
	if v, ok := k["stringSet"].(*types.AttributeValueMemberSS); !ok || strings.Join(sorted(v.Value), ",") != "a,b" {
		t.Errorf("stringSet = %#v; want SS [a b]", k["stringSet"])
	}
	if v, ok := k["expiresAt"].(*types.AttributeValueMemberN); !ok || v.Value != "1707776000" {
		t.Errorf("expiresAt = %#v; want N 1707776000", k["expiresAt"])
	}
	d := get("d")
	if len(d) != 3 {
		t.Errorf("item d has attributes %v; want key, dictionary, expiresAt", d)
	}
	if v, ok := d["dictionary"].(*types.AttributeValueMemberS); !ok || v.Value != `{"x": 1}` {
		t.Errorf("dictionary = %#v; want S {\"x\": 1}", d["dictionary"])
	}
	if v, ok := d["expiresAt"].(*types.AttributeValueMemberN); !ok || v.Value != "1700000060" {
		t.Errorf("expiresAt = %#v; want N 1700000060", d["expiresAt"])
	}
}

func TestReadsItemsOtherToolsWrote(t *testing.T) {
	table := dynamotest.NewTable(t)
	ctx := context.Background()
	put := func(item map[string]types.AttributeValue) {
		t.Helper()
		if _, err := table.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table.TableName()), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	put(map[string]types.AttributeValue{
		"key":       &types.AttributeValueMemberS{Value: "ok"},
		"intCount":  &types.AttributeValueMemberN{Value: "7"},
		"expiresAt": &types.AttributeValueMemberN{Value: "1700000000.75"},
		"note":      &types.AttributeValueMemberS{Value: "added by hand"},
	})
	it, ok, err := table.GetItem(ctx, "ok")
	if err != nil || !ok || *it.IntCount != 7 || *it.ExpiresAt != 1_700_000_000 {
		t.Errorf("GetItem = %+v %v %v; want count 7, expiry truncated", it, ok, err)
	}
	put(map[string]types.AttributeValue{
		"key":      &types.AttributeValueMemberS{Value: "bad"},
		"intCount": &types.AttributeValueMemberS{Value: "7"},
	})
	_, _, err = table.GetItem(ctx, "bad")
	var ce *cache.Error
	if !errors.As(err, &ce) || ce.Type != "CacheError" || !strings.Contains(ce.Message, "intCount is S, want N") {
		t.Errorf("GetItem of a mistyped item = %v", err)
	}
}

func TestMissingTable(t *testing.T) {
	s := dynamotest.Shared(t)
	table, err := s.Open(context.Background(), "no-such-table")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = cache.New(table).Do(context.Background(), cachetest.Now, cache.Call{Op: cache.OpGetCounter, Key: "k"})
	var ce *cache.Error
	if !errors.As(err, &ce) || ce.Type != "CacheError" || ce.Code != "ResourceNotFoundException" ||
		!strings.Contains(ce.Hint, `"no-such-table"`) || !strings.Contains(ce.Message, "when calling the GetItem operation") {
		t.Errorf("call on a missing table = %#v", err)
	}
	if err := table.Check(context.Background()); err == nil {
		t.Error("Check passed on a missing table")
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	table, err := ddb.Open(context.Background(), ddb.Config{Endpoint: endpoint, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	err = table.Check(context.Background())
	var ce *cache.Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "Could not connect to the endpoint URL") || !strings.Contains(ce.Hint, endpoint) {
		t.Errorf("Check against nothing = %#v", err)
	}
	if table.Name() != "dynamodb:panther-kv-store@"+endpoint {
		t.Errorf("Name() = %q", table.Name())
	}
}

func TestTableNameFromEnvironment(t *testing.T) {
	t.Setenv(ddb.TableEnv, "from-env")
	table, err := ddb.Open(context.Background(), ddb.Config{Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if table.TableName() != "from-env" {
		t.Errorf("table = %q, want the environment's", table.TableName())
	}
	table, err = ddb.Open(context.Background(), ddb.Config{Table: "flag", Endpoint: "http://127.0.0.1:1"})
	if err != nil || table.TableName() != "flag" {
		t.Errorf("explicit table = %q, %v", table.TableName(), err)
	}
}

// TestErrorHints answers with the errors DynamoDB sends, which dynalite
// cannot be made to send, and checks each maps to a hint saying what to fix.
func TestErrorHints(t *testing.T) {
	for _, c := range []struct {
		code, hint string
	}{
		{"AccessDeniedException", "dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem and dynamodb:Scan"},
		{"ProvisionedThroughputExceededException", "capacity"},
		{"ThrottlingException", "throttled"},
		{"ExpiredTokenException", "expired"},
		{"UnrecognizedClientException", "rejected the credentials"},
		{"ResourceNotFoundException", "--dynamodb-table"},
	} {
		t.Run(c.code, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{
					"__type":  "com.amazonaws.dynamodb.v20120810#" + c.code,
					"message": "said the server",
				})
			}))
			defer srv.Close()
			table, err := ddb.Open(context.Background(), ddb.Config{Table: "kv", Endpoint: srv.URL, Region: "eu-west-1", MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = table.UpdateItem(context.Background(), "k", cache.Update{AddCount: i64(1)})
			var ce *cache.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *cache.Error", err)
			}
			want := "An error occurred (" + c.code + ") when calling the UpdateItem operation: said the server"
			if ce.Type != "CacheError" || ce.Code != c.code || ce.Message != want || !strings.Contains(ce.Hint, c.hint) {
				t.Errorf("error = {%q %q %q hint %q}; want message %q, hint containing %q", ce.Type, ce.Code, ce.Message, ce.Hint, want, c.hint)
			}
			if c.code == "AccessDeniedException" && !strings.Contains(ce.Hint, "arn:aws:dynamodb:eu-west-1:<account>:table/kv") {
				t.Errorf("access-denied hint does not name the table ARN: %q", ce.Hint)
			}
		})
	}
}

func TestAssumeRoleFailureIsACredentialsProblem(t *testing.T) {
	// STS answers AccessDenied; that must not be reported as DynamoDB
	// refusing the table.
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed</Message></Error></ErrorResponse>`))
	}))
	defer sts.Close()
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	table, err := ddb.Open(context.Background(), ddb.Config{
		Endpoint: "http://127.0.0.1:1", Region: "us-east-1", MaxAttempts: 1,
		AssumeRoleARN: "arn:aws:iam::123456789012:role/panther-readonly",
	})
	if err != nil {
		t.Fatal(err)
	}
	err = table.Check(context.Background())
	var ce *cache.Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Hint, "--assume-role") || ce.Code != "" {
		t.Errorf("failed role assumption = %#v", err)
	}
}

func TestCreateTableIsIdempotent(t *testing.T) {
	table := dynamotest.NewTable(t)
	if _, err := table.PutItem(context.Background(), cache.Item{Key: "kept", IntCount: i64(1)}); err != nil {
		t.Fatal(err)
	}
	if err := table.CreateTable(context.Background()); err != nil {
		t.Fatalf("CreateTable of an existing table: %v", err)
	}
	if _, ok, err := table.GetItem(context.Background(), "kept"); !ok || err != nil {
		t.Errorf("CreateTable of an existing table lost its items: %v %v", ok, err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	for name, c := range map[string]struct {
		cfg  ddb.Config
		hint string
	}{
		"unknown profile": {ddb.Config{Profile: "nope"}, "--aws-profile"},
		"no region":       {ddb.Config{}, "--aws-region"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ddb.Open(context.Background(), c.cfg)
			var ce *cache.Error
			if !errors.As(err, &ce) || ce.Type != "CacheError" || !strings.Contains(ce.Hint, c.hint) {
				t.Errorf("Open = %v; want a CacheError whose hint names %s", err, c.hint)
			}
		})
	}
	// A local endpoint needs neither a region nor credentials.
	table, err := ddb.Open(context.Background(), ddb.Config{Endpoint: "http://localhost:8000"})
	if err != nil || table.Region() != "us-east-1" {
		t.Errorf("Open with a local endpoint = %v, region %q", err, table.Region())
	}
}
