package cli

import (
	"context"
	"fmt"
)

func runWorkbench(ctx context.Context, args []string, env Env) int {
	fmt.Fprintln(env.Stderr, "rulebench: the workbench is not built yet; use rulebench test or rulebench run")
	return ExitUsage
}
