package dynamotest_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/cache/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

func TestStartClose(t *testing.T) {
	if testing.Short() {
		t.Skip("needs dynalite; skipped with -short")
	}
	s, err := dynamotest.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Errorf("Endpoint = %q; want loopback", s.Endpoint)
	}
	table, err := s.Open(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := table.Client().ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("server does not answer: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(s.Endpoint, "http://")
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("something still listens at %s after Close", addr)
	}
}

func TestNewTable(t *testing.T) {
	a, b := dynamotest.NewTable(t), dynamotest.NewTable(t)
	if a.TableName() == b.TableName() {
		t.Fatalf("two tables share the name %q", a.TableName())
	}
	ctx := context.Background()
	if _, err := a.PutItem(ctx, cache.Item{Key: "k"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.GetItem(ctx, "k"); ok || err != nil {
		t.Errorf("tables are not separate: %v %v", ok, err)
	}
	if dynamotest.Shared(t) != dynamotest.Shared(t) {
		t.Error("Shared started a second server")
	}
}
