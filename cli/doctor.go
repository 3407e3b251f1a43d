package cli

import (
	"context"
	"fmt"
)

func runDoctor(ctx context.Context, args []string, env Env) int {
	fmt.Fprintln(env.Stderr, "rulebench doctor: not built yet")
	return ExitUsage
}
