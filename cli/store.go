package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/rulebench/rulebench/cache"
	"github.com/rulebench/rulebench/mocks"
)

// cacheFlags choose and configure the cache backend.
type cacheFlags struct {
	backend    string
	table      string
	endpoint   string
	profile    string
	region     string
	assumeRole string
	write      bool
	file       string
	show       bool
}

func (f *cacheFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.backend, "cache", "memory", "cache backend: memory or dynamodb")
	fs.StringVar(&f.table, "dynamodb-table", "", "DynamoDB table (default $KV_STORE_TABLE_NAME, then "+cache.DefaultTable+")")
	fs.StringVar(&f.endpoint, "dynamodb-endpoint", "", "DynamoDB endpoint URL, for a local server such as dynalite")
	fs.StringVar(&f.profile, "aws-profile", "", "AWS shared-config profile")
	fs.StringVar(&f.region, "aws-region", "", "AWS region")
	fs.StringVar(&f.assumeRole, "assume-role", "", "IAM role ARN to assume before calling AWS")
	fs.BoolVar(&f.write, "cache-write", false, "let rules write to the real DynamoDB table (default: read-only, writes stay in memory)")
	fs.StringVar(&f.file, "cache-file", "", "memory cache: load state from this JSON file before the run and save it after")
	fs.BoolVar(&f.show, "show-cache", false, "print every cache call (operation, key, before and after)")
}

// storeSet is the cache a command runs against: the shared store for event
// runs, plus fresh in-memory stores for unit tests.
type storeSet struct {
	Shared   *cache.KV
	Memory   *mocks.Cache   // set for --cache memory
	Overlay  *cache.Overlay // set for read-only DynamoDB
	Describe string
	file     string
	closers  []func() error
}

// newTestStore gives a unit test its own empty cache: each test starts clean,
// as in Panther's own test runner (whatever the --cache backend).
func (s *storeSet) newTestStore() cache.Store {
	return cache.New(mocks.NewCache())
}

// open builds the stores the flags ask for. Messages about what the run will
// do (read-only, writes enabled) go to notice.
func (f *cacheFlags) open(ctx context.Context, notice io.Writer) (*storeSet, error) {
	switch f.backend {
	case "", "memory":
		mem := mocks.NewCache()
		s := &storeSet{Memory: mem, Shared: cache.New(mem), Describe: "memory", file: f.file}
		if f.file != "" {
			if err := mem.LoadFile(f.file); err != nil && !os.IsNotExist(err) {
				return nil, fmt.Errorf("--cache-file: %w", err)
			}
			s.Describe = "memory (" + f.file + ")"
		}
		return s, nil
	case "dynamodb":
		if f.file != "" {
			return nil, fmt.Errorf("--cache-file works with --cache memory only")
		}
		return f.openDynamo(ctx, notice)
	}
	return nil, fmt.Errorf("--cache %q: want memory or dynamodb", f.backend)
}

// Close saves the memory cache to --cache-file and releases backends.
func (s *storeSet) Close() error {
	var first error
	if s.Memory != nil && s.file != "" {
		if err := s.Memory.SaveFile(s.file); err != nil {
			first = fmt.Errorf("save --cache-file: %w", err)
		}
	}
	for _, c := range s.closers {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
