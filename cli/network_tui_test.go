package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rulebench/rulebench/engine"
	"github.com/rulebench/rulebench/engine/repo"
	"github.com/rulebench/rulebench/ui/result"
	"github.com/rulebench/rulebench/ui/theme"
)

// The workbench renders engine results as they come: they are masked
// already, so the result pane shows no secret either.
func TestSecretsMaskedInTheWorkbenchResultPane(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"fixtures/secrets.yml": "secrets:\n  team/intel: " + maskedSecret + "\n",
		"rules/leak.py": `def rule(event):
    print("printing", event.get("k"))
    return True

def title(event):
    return "key " + event.get("k")

def alert_context(event):
    return {"key": event.get("k")}

def runbook(event):
    raise ValueError(event.get("k"))
`,
		"rules/leak.yml": "AnalysisType: rule\nRuleID: Leak\nFilename: leak.py\nSeverity: Low\nLogTypes: [Web]\n",
	})
	r, err := repo.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(context.Background(), r, engine.Options{Workers: 1, Timeout: 5 * time.Second,
		Network: engine.NetworkOptions{RepoFixtures: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.NetworkErr(); err != nil {
		t.Fatal(err)
	}
	// The secret arrives in the event here; any way it reaches rule output
	// is masked the same.
	ev, _ := json.Marshal(map[string]string{"k": maskedSecret})
	res, err := e.Evaluate(context.Background(), r.Detection("Leak"), []json.RawMessage{ev}, engine.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lines := result.Lines(theme.Default(), &result.Run{Detection: r.Detection("Leak"), Result: res[0]}, 120, filepath.Clean(dir))
	screen := strings.Join(lines, "\n")
	if strings.Contains(screen, maskedSecret) {
		t.Errorf("the result pane shows the secret:\n%s", screen)
	}
	if !strings.Contains(screen, "[masked:team/intel]") {
		t.Errorf("the result pane shows no masked value:\n%s", screen)
	}
}
