package repo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Repository is everything loaded from one directory tree.
type Repository struct {
	Root       string
	Detections []*Detection
	Globals    []*Global
	DataModels []*DataModel
	Items      []*Item
	Errors     []*LoadError

	byID        map[string]*Detection
	modelByType map[string]*DataModel
}

// Detection returns the detection with id, or nil.
func (r *Repository) Detection(id string) *Detection { return r.byID[id] }

// DataModelFor returns the enabled data model for a log type, or nil.
func (r *Repository) DataModelFor(logType string) *DataModel { return r.modelByType[logType] }

// ErrNotSpec marks YAML files that are not analysis specs (no AnalysisType):
// CI configs, schemas and the like are skipped, not reported.
var errNotSpec = errors.New("not an analysis spec")

// Load walks root and loads every spec. Problems with individual files are
// collected in Errors; the returned error is only for an unreadable root.
func Load(root string) (*Repository, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", root, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", root, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("load %s: not a directory", root)
	}
	var files []string
	stamps := map[string]fileStamp{}
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == abs {
				return err
			}
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if p != abs && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "__pycache__") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := strings.ToLower(filepath.Ext(name)); (ext == ".yml" || ext == ".yaml") && !strings.HasPrefix(name, ".") {
			files = append(files, p)
			if info, err := d.Info(); err == nil {
				stamps[p] = stampOf(info)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", root, err)
	}
	sort.Strings(files)

	cache := openSpecCache(abs)
	results := make([]parsed, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				stamp, stamped := stamps[files[i]]
				if p, ok := cache.get(files[i], stamp); ok && stamped {
					results[i] = p
					continue
				}
				results[i] = parseFile(files[i])
				if stamped {
					cache.put(files[i], stamp, results[i])
				}
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	cache.save(files)

	r := &Repository{Root: abs, byID: map[string]*Detection{}, modelByType: map[string]*DataModel{}}
	seen := map[string]string{}
	for i, p := range results {
		file := files[i]
		if p.err != nil {
			if !errors.Is(p.err.Err, errNotSpec) {
				r.Errors = append(r.Errors, p.err)
			}
			continue
		}
		if p.id != "" {
			if other, dup := seen[p.id]; dup {
				r.Errors = append(r.Errors, &LoadError{File: file, Line: p.idLine,
					Err: fmt.Errorf("duplicate ID %q (also defined in %s)", p.id, other)})
				continue
			}
			seen[p.id] = file
		}
		switch {
		case p.detection != nil:
			r.Detections = append(r.Detections, p.detection)
			r.byID[p.detection.ID] = p.detection
		case p.global != nil:
			r.Globals = append(r.Globals, p.global)
		case p.model != nil:
			r.DataModels = append(r.DataModels, p.model)
		case p.item != nil:
			r.Items = append(r.Items, p.item)
		}
	}
	for _, m := range r.DataModels {
		if !m.Enabled {
			continue
		}
		for _, lt := range m.LogTypes {
			if other, ok := r.modelByType[lt]; ok {
				r.Errors = append(r.Errors, &LoadError{File: m.SpecFile,
					Err: fmt.Errorf("log type %s already has data model %s (%s)", lt, other.ID, other.SpecFile)})
				continue
			}
			r.modelByType[lt] = m
		}
	}
	sort.Slice(r.Detections, func(i, j int) bool { return r.Detections[i].ID < r.Detections[j].ID })
	return r, nil
}

type parsed struct {
	id        string
	idLine    int
	detection *Detection
	global    *Global
	model     *DataModel
	item      *Item
	err       *LoadError
}

// rawSpec mirrors the keys rulebench reads; unknown keys are ignored.
type rawSpec struct {
	AnalysisType       string              `yaml:"AnalysisType"`
	RuleID             string              `yaml:"RuleID"`
	PolicyID           string              `yaml:"PolicyID"`
	GlobalID           string              `yaml:"GlobalID"`
	DataModelID        string              `yaml:"DataModelID"`
	QueryName          string              `yaml:"QueryName"`
	LookupName         string              `yaml:"LookupName"`
	PackID             string              `yaml:"PackID"`
	Filename           string              `yaml:"Filename"`
	Enabled            *bool               `yaml:"Enabled"`
	DisplayName        string              `yaml:"DisplayName"`
	LogTypes           []string            `yaml:"LogTypes"`
	ResourceTypes      []string            `yaml:"ResourceTypes"`
	Severity           string              `yaml:"Severity"`
	Threshold          *int                `yaml:"Threshold"`
	DedupPeriodMinutes *int                `yaml:"DedupPeriodMinutes"`
	Tags               []string            `yaml:"Tags"`
	Reports            map[string][]string `yaml:"Reports"`
	Description        string              `yaml:"Description"`
	Runbook            string              `yaml:"Runbook"`
	Reference          string              `yaml:"Reference"`
	SummaryAttributes  []string            `yaml:"SummaryAttributes"`
	OutputIds          []string            `yaml:"OutputIds"`
	CreateAlert        *bool               `yaml:"CreateAlert"`
	ScheduledQueries   []string            `yaml:"ScheduledQueries"`
	Tests              yaml.Node           `yaml:"Tests"`
	Mappings           []rawMapping        `yaml:"Mappings"`
}

type rawMapping struct {
	Name   string `yaml:"Name"`
	Path   string `yaml:"Path"`
	Method string `yaml:"Method"`
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlError turns a yaml.v3 error into a LoadError carrying its line.
func yamlError(file string, err error) *LoadError {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.ReplaceAll(strings.TrimPrefix(msg, "unmarshal errors:\n  "), "\n  ", "; ")
	if line > 0 {
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, "line "+strconv.Itoa(line)), ": ")
	}
	return &LoadError{File: file, Line: line, Err: errors.New(msg)}
}

func parseFile(file string) parsed {
	data, err := os.ReadFile(file)
	if err != nil {
		return parsed{err: &LoadError{File: file, Err: err}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return parsed{err: yamlError(file, err)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return parsed{err: &LoadError{File: file, Err: errNotSpec}}
	}
	root := doc.Content[0]
	typeNode := mappingValue(root, "AnalysisType")
	if typeNode == nil {
		return parsed{err: &LoadError{File: file, Err: errNotSpec}}
	}
	var raw rawSpec
	if err := root.Decode(&raw); err != nil {
		return parsed{err: yamlError(file, err)}
	}
	fail := func(line int, format string, args ...any) parsed {
		return parsed{err: &LoadError{File: file, Line: line, Err: fmt.Errorf(format, args...)}}
	}
	kind := Kind(strings.ToLower(strings.TrimSpace(raw.AnalysisType)))
	dir := filepath.Dir(file)
	python := func(required bool) (string, *LoadError) {
		if raw.Filename == "" {
			if required {
				return "", &LoadError{File: file, Line: root.Line, Err: errors.New("missing Filename (the Python file this spec runs)")}
			}
			return "", nil
		}
		p := filepath.Join(dir, raw.Filename)
		if _, err := os.Stat(p); err != nil {
			line := root.Line
			if n := mappingValue(root, "Filename"); n != nil {
				line = n.Line
			}
			return "", &LoadError{File: file, Line: line, Err: fmt.Errorf("Filename %s: no such file next to the spec", raw.Filename)}
		}
		return p, nil
	}
	idLine := func(key string) int {
		if n := mappingValue(root, key); n != nil {
			return n.Line
		}
		return root.Line
	}

	switch kind {
	case KindRule, KindScheduledRule, KindPolicy:
		idKey, id := "RuleID", raw.RuleID
		if kind == KindPolicy {
			idKey, id = "PolicyID", raw.PolicyID
		}
		if id == "" {
			return fail(root.Line, "missing %s", idKey)
		}
		py, lerr := python(true)
		if lerr != nil {
			return parsed{err: lerr}
		}
		d := &Detection{
			Kind: kind, ID: id, SpecFile: file, PythonFile: py,
			Enabled: raw.Enabled == nil || *raw.Enabled, DisplayName: raw.DisplayName,
			LogTypes: raw.LogTypes, Threshold: 1, DedupPeriodMinutes: 60,
			Tags: raw.Tags, Reports: raw.Reports, Description: raw.Description,
			Runbook: raw.Runbook, Reference: raw.Reference, SummaryAttributes: raw.SummaryAttributes,
			OutputIDs: raw.OutputIds, CreateAlert: raw.CreateAlert == nil || *raw.CreateAlert,
			ScheduledQueries: raw.ScheduledQueries,
		}
		if kind == KindPolicy {
			d.LogTypes = raw.ResourceTypes
		}
		sev, ok := ParseSeverity(raw.Severity)
		if !ok {
			if raw.Severity == "" {
				return fail(root.Line, "missing Severity")
			}
			return fail(idLine("Severity"), "unknown Severity %q (want Info, Low, Medium, High or Critical)", raw.Severity)
		}
		d.Severity = sev
		if raw.Threshold != nil {
			if *raw.Threshold < 1 {
				return fail(idLine("Threshold"), "Threshold must be at least 1, got %d", *raw.Threshold)
			}
			d.Threshold = *raw.Threshold
		}
		if raw.DedupPeriodMinutes != nil {
			if *raw.DedupPeriodMinutes < 0 {
				return fail(idLine("DedupPeriodMinutes"), "DedupPeriodMinutes must not be negative")
			}
			d.DedupPeriodMinutes = *raw.DedupPeriodMinutes
		}
		tests, lerr := parseTests(file, &raw.Tests, kind)
		if lerr != nil {
			return parsed{err: lerr}
		}
		d.Tests = tests
		return parsed{id: id, idLine: idLine(idKey), detection: d}
	case KindGlobal:
		if raw.GlobalID == "" {
			return fail(root.Line, "missing GlobalID")
		}
		py, lerr := python(true)
		if lerr != nil {
			return parsed{err: lerr}
		}
		return parsed{id: raw.GlobalID, idLine: idLine("GlobalID"),
			global: &Global{ID: raw.GlobalID, SpecFile: file, PythonFile: py}}
	case KindDataModel:
		if raw.DataModelID == "" {
			return fail(root.Line, "missing DataModelID")
		}
		py, lerr := python(false)
		if lerr != nil {
			return parsed{err: lerr}
		}
		m := &DataModel{ID: raw.DataModelID, SpecFile: file, PythonFile: py,
			Enabled: raw.Enabled == nil || *raw.Enabled, LogTypes: raw.LogTypes}
		for i, rm := range raw.Mappings {
			switch {
			case rm.Name == "":
				return fail(idLine("Mappings"), "mapping %d has no Name", i+1)
			case (rm.Path == "") == (rm.Method == ""):
				return fail(idLine("Mappings"), "mapping %s needs exactly one of Path or Method", rm.Name)
			case rm.Method != "" && py == "":
				return fail(idLine("Mappings"), "mapping %s uses Method %s but the data model has no Filename", rm.Name, rm.Method)
			}
			m.Mappings = append(m.Mappings, Mapping{Name: rm.Name, Path: rm.Path, Method: rm.Method})
		}
		return parsed{id: raw.DataModelID, idLine: idLine("DataModelID"), model: m}
	case KindCorrelationRule, KindScheduledQuery, KindSavedQuery, KindLookupTable, KindPack:
		id := firstNonEmpty(raw.RuleID, raw.QueryName, raw.LookupName, raw.PackID)
		return parsed{item: &Item{Kind: kind, ID: id, SpecFile: file}}
	default:
		return fail(typeNode.Line, "unknown AnalysisType %q", raw.AnalysisType)
	}
}

func parseTests(file string, node *yaml.Node, kind Kind) ([]Test, *LoadError) {
	if node.Kind == 0 || node.Tag == "!!null" {
		return nil, nil
	}
	if node.Kind != yaml.SequenceNode {
		return nil, &LoadError{File: file, Line: node.Line, Err: errors.New("Tests must be a list")}
	}
	tests := make([]Test, 0, len(node.Content))
	for i, tn := range node.Content {
		if tn.Kind != yaml.MappingNode {
			return nil, &LoadError{File: file, Line: tn.Line, Err: fmt.Errorf("test %d is not a mapping", i+1)}
		}
		t := Test{Line: tn.Line}
		if n := mappingValue(tn, "Name"); n != nil {
			t.Name = n.Value
		}
		if t.Name == "" {
			t.Name = fmt.Sprintf("test %d", i+1)
		}
		label := fmt.Sprintf("test %q", t.Name)
		expected := mappingValue(tn, "ExpectedResult")
		if expected == nil {
			return nil, &LoadError{File: file, Line: tn.Line, Err: fmt.Errorf("%s has no ExpectedResult", label)}
		}
		if err := expected.Decode(&t.ExpectedResult); err != nil {
			return nil, &LoadError{File: file, Line: expected.Line, Err: fmt.Errorf("%s: ExpectedResult must be true or false", label)}
		}
		dataKeys := []string{"Log", "Resource"}
		if kind == KindPolicy {
			dataKeys = []string{"Resource", "Log"}
		}
		var data *yaml.Node
		for _, k := range dataKeys {
			if data = mappingValue(tn, k); data != nil {
				break
			}
		}
		if data == nil {
			return nil, &LoadError{File: file, Line: tn.Line, Err: fmt.Errorf("%s has no %s", label, dataKeys[0])}
		}
		raw, err := testData(data)
		if err != nil {
			return nil, &LoadError{File: file, Line: data.Line, Err: fmt.Errorf("%s: %w", label, err)}
		}
		t.Data = raw
		if mocks := mappingValue(tn, "Mocks"); mocks != nil && mocks.Tag != "!!null" {
			if mocks.Kind != yaml.SequenceNode {
				return nil, &LoadError{File: file, Line: mocks.Line, Err: fmt.Errorf("%s: Mocks must be a list", label)}
			}
			for _, mn := range mocks.Content {
				name := mappingValueFold(mn, "objectName")
				value := mappingValueFold(mn, "returnValue")
				if name == nil || name.Value == "" {
					return nil, &LoadError{File: file, Line: mn.Line, Err: fmt.Errorf("%s: mock without objectName", label)}
				}
				m := Mock{ObjectName: name.Value, ReturnValue: []byte("null")}
				if value != nil {
					v, err := nodeJSON(value)
					if err != nil {
						return nil, &LoadError{File: file, Line: value.Line, Err: fmt.Errorf("%s: mock %s: %w", label, name.Value, err)}
					}
					m.ReturnValue = v
				}
				t.Mocks = append(t.Mocks, m)
			}
		}
		tests = append(tests, t)
	}
	return tests, nil
}

// testData converts a test's Log/Resource. Some repositories write it as a
// JSON string rather than YAML; both arrive in Python as the same dict.
func testData(n *yaml.Node) ([]byte, error) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		var probe any
		if err := yamlJSONUnmarshal([]byte(n.Value), &probe); err != nil {
			return nil, fmt.Errorf("Log is a string but not valid JSON: %w", err)
		}
		return []byte(strings.TrimSpace(n.Value)), nil
	}
	return nodeJSON(n)
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// mappingValueFold accepts both panther-analysis (objectName) and pypanther
// (ObjectName) spellings.
func mappingValueFold(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if strings.EqualFold(n.Content[i].Value, key) {
			return n.Content[i+1]
		}
	}
	return nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
