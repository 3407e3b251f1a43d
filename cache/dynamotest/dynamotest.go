// Package dynamotest runs dynalite, a DynamoDB-compatible server, for tests
// that need a real DynamoDB API: the cache backend's and any package whose
// tests drive the cache through DynamoDB.
//
// One server serves a whole test binary, and every test gets a table of
// its own:
//
//	func TestMain(m *testing.M) { dynamotest.Main(m) }
//
//	func TestX(t *testing.T) {
//		table := dynamotest.NewTable(t) // a *ddb.Table, deleted after the test
//		...
//	}
//
// dynalite is pinned in testdata/dynalite; on a fresh clone the first test
// to need it runs npm ci there, under a lock so parallel test binaries do
// not install over each other. Node.js 20 or later must be on PATH. With
// go test -short the tests that need dynalite are skipped.
package dynamotest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	ddb "github.com/rulebench/rulebench/cache/dynamodb"
)

// Server is a running dynalite process.
type Server struct {
	// Endpoint is the server's base URL, for ddb.Config.Endpoint.
	Endpoint string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *tailBuffer
	exited chan struct{}
}

// Start installs dynalite if needed and starts a server on a free port of
// 127.0.0.1. The caller must Close it.
func Start(ctx context.Context) (*Server, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	if err := Install(ctx, dir); err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("start dynalite: node not found on PATH (Node.js 20 or later is needed for the DynamoDB tests; go test -short skips them): %w", err)
	}

	cmd := exec.Command(node, "server.js")
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start dynalite: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start dynalite: %w", err)
	}
	s := &Server{cmd: cmd, stdin: stdin, stderr: &tailBuffer{max: 8 << 10}, exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dynalite: %w", err)
	}
	go func() {
		cmd.Wait()
		close(s.exited)
	}()

	port := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			var hello struct{ Port int }
			if json.Unmarshal(sc.Bytes(), &hello) == nil && hello.Port > 0 {
				port <- hello.Port
			}
		}
		// Keep draining so the server never blocks on a full pipe.
		io.Copy(io.Discard, stdout)
	}()
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case p := <-port:
		s.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", p)
	case <-s.exited:
		return nil, fmt.Errorf("start dynalite: exited before listening: %s", s.stderr)
	case <-wait.Done():
		s.Close()
		return nil, fmt.Errorf("start dynalite: no port announced: %w; stderr: %s", wait.Err(), s.stderr)
	}
	if err := s.waitReady(wait); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// waitReady polls until the server answers a DynamoDB call.
func (s *Server) waitReady(ctx context.Context) error {
	table, err := s.Open(ctx, "rulebench-ready")
	if err != nil {
		return err
	}
	for {
		_, err := table.Client().ListTables(ctx, &dynamodb.ListTablesInput{})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dynalite at %s does not answer: %w (last error: %v); stderr: %s", s.Endpoint, ctx.Err(), err, s.stderr)
		case <-s.exited:
			return fmt.Errorf("dynalite exited: %s", s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close stops the server. Closing its stdin asks it to exit; it is killed
// if it has not within a few seconds.
func (s *Server) Close() error {
	s.stdin.Close()
	select {
	case <-s.exited:
		return nil
	case <-time.After(5 * time.Second):
	}
	if err := s.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill dynalite: %w", err)
	}
	<-s.exited
	return nil
}

// Config returns a ddb.Config for table on this server. Its static
// credentials keep tests away from the developer's real AWS setup.
//
// The SDK's retries stay on, as in production: on a heavily loaded
// machine a large response from dynalite is now and then cut off mid-body
// (the SDK reports "use of closed network connection"), which the SDK
// retries like any connection reset. Retrying is safe for these tests:
// only the 400 KB items are affected, and their writes add set members or
// replace whole items, which apply the same twice.
func (s *Server) Config(table string) ddb.Config {
	return ddb.Config{
		Table:       table,
		Endpoint:    s.Endpoint,
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("dynalite", "dynalite", ""),
	}
}

// Open opens table on this server without creating it.
func (s *Server) Open(ctx context.Context, table string) (*ddb.Table, error) {
	return ddb.Open(ctx, s.Config(table))
}

// Dir returns testdata/dynalite of the rulebench module, found from the
// working directory, which go test sets to the package being tested.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find testdata/dynalite: %w", err)
	}
	for d := wd; ; {
		if mod, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil &&
			bytes.HasPrefix(mod, []byte("module github.com/rulebench/rulebench\n")) {
			return filepath.Join(d, "testdata", "dynalite"), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("find testdata/dynalite: no rulebench go.mod above %s", wd)
		}
		d = parent
	}
}

// Install runs npm ci in dir unless node_modules already holds the dynalite
// version package-lock.json pins. Concurrent callers, in any process, wait
// for one install instead of running several.
func Install(ctx context.Context, dir string) error {
	sum := sha256.Sum256([]byte(dir))
	unlock, err := lockFile(filepath.Join(os.TempDir(), "rulebench-dynalite-"+hex.EncodeToString(sum[:8])+".lock"))
	if err != nil {
		return fmt.Errorf("install dynalite: %w", err)
	}
	defer unlock()

	want, err := pinnedVersion(dir)
	if err != nil {
		return fmt.Errorf("install dynalite: %w", err)
	}
	if installedVersion(dir) == want {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("install dynalite: npm not found on PATH (needed once, to install testdata/dynalite): %w", err)
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("install dynalite: npm ci in %s: %w\n%s", dir, err, out)
	}
	if got := installedVersion(dir); got != want {
		return fmt.Errorf("install dynalite: npm ci left version %q, package-lock.json pins %q", got, want)
	}
	return nil
}

func pinnedVersion(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return "", err
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return "", fmt.Errorf("read package-lock.json: %w", err)
	}
	v := lock.Packages["node_modules/dynalite"].Version
	if v == "" {
		return "", errors.New("package-lock.json pins no dynalite")
	}
	return v, nil
}

func installedVersion(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, "node_modules", "dynalite", "package.json"))
	if err != nil {
		return ""
	}
	var pkg struct{ Version string }
	if json.Unmarshal(data, &pkg) != nil {
		return ""
	}
	return pkg.Version
}

var shared struct {
	once   sync.Once
	server *Server
	err    error
}

// Shared returns the test binary's server, starting it on first use. It
// skips the test under go test -short and fails it when dynalite cannot
// run. Main stops the server when the tests are done; without Main it
// stops when the test binary exits.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs dynalite; skipped with -short")
	}
	shared.once.Do(func() {
		shared.server, shared.err = Start(context.Background())
	})
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.server
}

// Main runs the tests, stops the shared server if they started one, and
// exits with the tests' status. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main without the exit, for a TestMain with more to clean up.
func Run(m *testing.M) int {
	code := m.Run()
	if shared.server != nil {
		// A failure may come from the server's side; show what it said.
		if out := shared.server.stderr.String(); code != 0 && out != noOutput {
			fmt.Fprintf(os.Stderr, "dynalite stderr:\n%s\n", out)
		}
		if err := shared.server.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "dynamotest:", err)
		}
	}
	return code
}

var tables atomic.Int64

// NewTable creates a table with Panther's layout on the shared server and
// deletes it when the test ends. Each call gets a new, empty table, so
// tests can run in parallel. opts adjust the configuration the table is
// opened with (a small ScanPageSize, say).
func NewTable(tb testing.TB, opts ...func(*ddb.Config)) *ddb.Table {
	tb.Helper()
	s := Shared(tb)
	name := fmt.Sprintf("t%d-%s", tables.Add(1), sanitize(tb.Name()))
	cfg := s.Config(name)
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	table, err := ddb.Open(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := table.CreateTable(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := table.DeleteTable(context.Background()); err != nil {
			tb.Errorf("delete table %s: %v", name, err)
		}
	})
	return table
}

// sanitize makes a test name a valid table name ([a-zA-Z0-9_.-], at most
// 255 characters).
func sanitize(name string) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		}
		return '-'
	}, name)
	if len(name) > 200 {
		name = name[:200]
	}
	return name
}

const noOutput = "(no output)"

// tailBuffer keeps the last max bytes written, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) == 0 {
		return noOutput
	}
	return strings.TrimSpace(string(b.buf))
}
