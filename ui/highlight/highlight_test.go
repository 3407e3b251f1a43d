package highlight

import (
	"testing"

	"github.com/rulebench/rulebench/ui/theme"
)

func classes(l Line) map[string]theme.CodeClass {
	out := map[string]theme.CodeClass{}
	for _, s := range l {
		out[s.Text] = s.Class
	}
	return out
}

func TestCodePython(t *testing.T) {
	src := "def rule(event):\n    \"\"\"Doc\n    string\"\"\"\n    return event.get('x') == 1  # hit\n"
	lines := Code("python", src)
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4: %v", len(lines), lines)
	}
	for i, want := range []string{"def rule(event):", `    """Doc`, `    string"""`, "    return event.get('x') == 1  # hit"} {
		if got := lines[i].Text(); got != want {
			t.Errorf("line %d = %q, want %q", i+1, got, want)
		}
	}
	c := classes(lines[0])
	if c["def"] != theme.CodeKeyword || c["rule"] != theme.CodeFunction {
		t.Errorf("line 1 classes: %v", c)
	}
	c = classes(lines[3])
	if c["'x'"] != theme.CodeString || c["1"] != theme.CodeNumber || c["# hit"] != theme.CodeComment || c["return"] != theme.CodeKeyword {
		t.Errorf("line 4 classes: %v", c)
	}
}

func TestJSON(t *testing.T) {
	lines := JSON([]byte(`{"a":1,"b":[true,null,"x:y"],"c":{"d":-2.5e3}}`))
	var text []string
	for _, l := range lines {
		text = append(text, l.Text())
	}
	if len(lines) != 11 || text[1] != `  "a": 1,` || text[9] != "  }" {
		t.Fatalf("pretty JSON:\n%q", text)
	}
	if c := classes(lines[1]); c[`"a"`] != theme.CodeKey || c["1"] != theme.CodeNumber {
		t.Errorf("key line classes %v", c)
	}
	if c := classes(lines[3]); c["true"] != theme.CodeConstant {
		t.Errorf("literal classes %v", c)
	}
	if c := classes(lines[5]); c[`"x:y"`] != theme.CodeString {
		t.Errorf("a string with a colon is a value, not a key: %v", c)
	}
	if c := classes(lines[8]); c["-2.5e3"] != theme.CodeNumber {
		t.Errorf("number classes %v", c)
	}
	if bad := JSON([]byte("{not json")); len(bad) != 1 || bad[0].Text() != "{not json" {
		t.Errorf("invalid JSON is shown as it is: %v", bad)
	}
}
