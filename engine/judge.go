package engine

import "github.com/rulebench/rulebench/engine/repo"

// Judge decides one unit test from its result exactly as RunTests does. The
// workbench runs a test on its own through Evaluate — against the shared
// cache when demoing caching, or as an edited copy — and judges it here, so
// its verdict never drifts from rulebench test's.
func Judge(d *repo.Detection, t repo.Test, r *Result) TestResult { return judge(d, t, r) }
