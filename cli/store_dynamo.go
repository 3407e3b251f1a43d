package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/rulebench/rulebench/cache"
	ddb "github.com/rulebench/rulebench/cache/dynamodb"
)

// openDynamo connects to the real key-value table. Unless --cache-write is
// given, rules read the table but their writes stay in an in-memory overlay:
// a workbench must never change production detection state by accident.
func (f *cacheFlags) openDynamo(ctx context.Context, notice io.Writer) (*storeSet, error) {
	t, err := ddb.Open(ctx, ddb.Config{
		Table: f.table, Endpoint: f.endpoint, Profile: f.profile,
		Region: f.region, AssumeRoleARN: f.assumeRole, Log: io.Discard,
	})
	if err != nil {
		return nil, fmt.Errorf("--cache dynamodb: %w", err)
	}
	if err := t.Check(ctx); err != nil {
		return nil, fmt.Errorf("--cache dynamodb: %w", err)
	}
	where := fmt.Sprintf("dynamodb table %s (%s)", t.TableName(), t.Region())
	if f.endpoint != "" {
		where = fmt.Sprintf("dynamodb table %s at %s", t.TableName(), f.endpoint)
	}
	s := &storeSet{}
	if f.write {
		s.Shared = cache.New(t)
		s.Describe = where + ", WRITES ENABLED"
		fmt.Fprintf(notice, "rulebench: --cache-write: rules WILL WRITE to %s\n", where)
	} else {
		s.Overlay = cache.NewOverlay(t)
		s.Shared = cache.New(s.Overlay)
		s.Describe = where + ", read-only (writes kept in memory)"
	}
	return s, nil
}
