package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rulebench/rulebench/cache/dynamotest"
)

const cachingRule = `from panther_detection_helpers.caching import (
    add_to_string_set, get_dictionary, increment_counter, put_dictionary,
)

def rule(event):
    user = event.get("user")
    count = increment_counter("logins-" + user, epoch_seconds=86400)
    seen = add_to_string_set("ips-" + user, event.get("ip"))
    last = get_dictionary("last-" + user)
    put_dictionary("last-" + user, {"ip": event.get("ip")})
    return len(seen) > 1 and last.get("ip") != event.get("ip") and count >= 2
`

func cachingRepo(t *testing.T) (repoDir, events string) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"repo/r.py":  cachingRule,
		"repo/r.yml": "AnalysisType: rule\nRuleID: NewIP\nFilename: r.py\nSeverity: Low\nLogTypes: [Auth]\n",
		"events.jsonl": `{"p_log_type": "Auth", "user": "ann", "ip": "1.1.1.1"}
{"p_log_type": "Auth", "user": "ann", "ip": "1.1.1.1"}
{"p_log_type": "Auth", "user": "bob", "ip": "3.3.3.3"}
{"p_log_type": "Auth", "user": "ann", "ip": "2.2.2.2"}
`,
	})
	return filepath.Join(dir, "repo"), filepath.Join(dir, "events.jsonl")
}

type tracedRun struct {
	Matches []struct {
		Rule     string
		Line     int
		CacheOps []map[string]any `json:"cache_ops"`
	}
	Errors []any
}

func runJSON(t *testing.T, args ...string) tracedRun {
	t.Helper()
	out, errOut, code := run(t, args...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	var r tracedRun
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// comparable drops what legitimately differs between backends.
func comparable(ops []map[string]any) []map[string]any {
	for _, op := range ops {
		delete(op, "duration_ns")
		delete(op, "backend")
		delete(op, "now")
		delete(op, "written") // the read-only overlay keeps writes in memory
		for _, side := range []string{"before", "after"} {
			if st, ok := op[side].(map[string]any); ok {
				if it, ok := st["item"].(map[string]any); ok {
					delete(it, "expiresAt")
				}
			}
		}
		if args, ok := op["args"].(map[string]any); ok {
			delete(args, "epoch_seconds")
		}
	}
	return ops
}

func TestDynamoDBBackendMatchesMemory(t *testing.T) {
	table := dynamotest.NewTable(t)
	server := dynamotest.Shared(t)
	endpoint := server.Config(table.TableName()).Endpoint
	repoDir, events := cachingRepo(t)
	base := []string{"run", repoDir, "--events", events, "--format", "json", "--workers", "1"}

	mem := runJSON(t, base...)
	dyn := runJSON(t, append(base, "--cache", "dynamodb", "--dynamodb-endpoint", endpoint, "--dynamodb-table", table.TableName())...)
	if len(mem.Matches) != 1 || mem.Matches[0].Line != 4 {
		t.Fatalf("memory run: %+v", mem)
	}
	if len(dyn.Matches) != len(mem.Matches) || dyn.Matches[0].Line != mem.Matches[0].Line {
		t.Fatalf("dynamodb run differs: %+v", dyn)
	}
	for _, op := range dyn.Matches[0].CacheOps {
		if op["written"] != false {
			t.Errorf("read-only run reports a write: %v", op)
		}
	}
	if !reflect.DeepEqual(comparable(mem.Matches[0].CacheOps), comparable(dyn.Matches[0].CacheOps)) {
		a, _ := json.MarshalIndent(mem.Matches[0].CacheOps, "", " ")
		b, _ := json.MarshalIndent(dyn.Matches[0].CacheOps, "", " ")
		t.Errorf("traces differ:\nmemory %s\ndynamodb %s", a, b)
	}

	// Read-only by default: the table is still empty.
	client := table.Client()
	scan, err := client.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table.TableName())})
	if err != nil {
		t.Fatal(err)
	}
	if len(scan.Items) != 0 {
		t.Fatalf("read-only run wrote %d items", len(scan.Items))
	}

	// With --cache-write the items land with Panther's attribute types.
	out, errOut, code := run(t, append(base, "--cache", "dynamodb", "--dynamodb-endpoint", endpoint, "--dynamodb-table", table.TableName(), "--cache-write")...)
	if code != ExitOK || !strings.Contains(errOut, "WILL WRITE") {
		t.Fatalf("write run: %d %s %s", code, errOut, out)
	}
	get := func(key string) map[string]types.AttributeValue {
		res, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
			TableName: aws.String(table.TableName()),
			Key:       map[string]types.AttributeValue{"key": &types.AttributeValueMemberS{Value: key}},
		})
		if err != nil || res.Item == nil {
			t.Fatalf("get %s: %v", key, err)
		}
		return res.Item
	}
	if n, ok := get("logins-ann")["intCount"].(*types.AttributeValueMemberN); !ok || n.Value != "3" {
		t.Errorf("intCount = %#v", get("logins-ann")["intCount"])
	}
	if _, ok := get("logins-ann")["expiresAt"].(*types.AttributeValueMemberN); !ok {
		t.Errorf("expiresAt not a number: %#v", get("logins-ann"))
	}
	if ss, ok := get("ips-ann")["stringSet"].(*types.AttributeValueMemberSS); !ok || len(ss.Value) != 2 {
		t.Errorf("stringSet = %#v", get("ips-ann")["stringSet"])
	}
	if d, ok := get("last-ann")["dictionary"].(*types.AttributeValueMemberS); !ok || !strings.Contains(d.Value, "2.2.2.2") {
		t.Errorf("dictionary = %#v", get("last-ann")["dictionary"])
	}
}

func TestDynamoDBMissingTableIsAClearError(t *testing.T) {
	server := dynamotest.Shared(t)
	repoDir, events := cachingRepo(t)
	_, errOut, code := run(t, "run", repoDir, "--events", events, "--cache", "dynamodb",
		"--dynamodb-endpoint", server.Config("x").Endpoint, "--dynamodb-table", "no-such-table")
	if code == ExitOK || !strings.Contains(errOut, "no-such-table") {
		t.Errorf("missing table: %d %q", code, errOut)
	}
}

func TestCacheFileCarriesStateBetweenRuns(t *testing.T) {
	repoDir, events := cachingRepo(t)
	file := filepath.Join(t.TempDir(), "cache.json")
	first := runJSON(t, "run", repoDir, "--events", events, "--format", "json", "--cache-file", file)
	second := runJSON(t, "run", repoDir, "--events", events, "--format", "json", "--cache-file", file)
	if len(first.Matches) != 1 {
		t.Fatalf("first run: %+v", first)
	}
	// With the saved state ann has logged in three times already and seen
	// two addresses, so her first event of the replay already alerts.
	if len(second.Matches) < 2 || second.Matches[0].Line != 1 {
		t.Errorf("second run did not start from the saved cache: %+v", second)
	}
}
